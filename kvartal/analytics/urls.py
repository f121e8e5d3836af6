from django.urls import path

from .views import builder, dashboard, reports, shares

app_name = "analytics"

urlpatterns = [
    path("reports/", reports.report_index, name="index"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("reports/access/", reports.report_access, name="access"),
    path("reports/links/", shares.link_list, name="links"),
    path("reports/links/<id:pk>/withdraw/", shares.link_withdraw, name="link-withdraw"),
    path("reports/builder/", builder.builder, name="builder"),
    path("reports/templates/<id:pk>/", builder.template_detail, name="template"),
    path("reports/templates/<id:pk>/edit/", builder.template_edit, name="template-edit"),
    path("reports/templates/<id:pk>/delete/", builder.template_delete, name="template-delete"),
    path(
        "reports/templates/<id:pk>/export.<str:fmt>",
        builder.template_export,
        name="template-export",
    ),
    path("reports/templates/<id:pk>/share/", builder.template_share, name="template-share"),
    path("reports/<slug:key>/", reports.report_detail, name="report"),
    path("reports/<slug:key>/export.<str:fmt>", reports.report_export, name="export"),
    path("reports/<slug:key>/share/", shares.link_new, name="share"),
]
