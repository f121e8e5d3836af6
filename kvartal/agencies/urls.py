from django.urls import path

from kvartal.accounts.permissions import (
    AGENCIES_MANAGE,
    AGENCY_CABINET,
    COMMISSIONS_SETTLE,
    area_home,
)

from . import views, views_commissions

app_name = "agencies"

urlpatterns = [
    path(
        "",
        area_home(
            (AGENCY_CABINET, "agencies:cabinet"),
            (AGENCIES_MANAGE, "agencies:desk"),
            (COMMISSIONS_SETTLE, "agencies:statement-list"),
        ),
        name="home",
    ),
    path("cabinet/", views.cabinet, name="cabinet"),
    path("cabinet/inventory/", views.inventory, name="inventory"),
    path("cabinet/fix/", views.fixation_create, name="fixation-create"),
    path("cabinet/fixations/<id:pk>/", views.fixation_detail, name="fixation-detail"),
    path("cabinet/dispute/", views.dispute_create, name="dispute-create"),
    path("desk/", views.desk, name="desk"),
    path("desk/disputes/<id:pk>/", views.dispute_decide, name="dispute-decide"),
    path("desk/fixations/<id:pk>/extend/", views.fixation_extend, name="fixation-extend"),
    path("commissions/", views_commissions.statement_list, name="statement-list"),
    path("commissions/rules/new/", views_commissions.rule_create, name="rule-create"),
    path(
        "commissions/statements/new/", views_commissions.statement_create, name="statement-create"
    ),
    path(
        "commissions/statements/<id:pk>/",
        views_commissions.statement_detail,
        name="statement-detail",
    ),
    path(
        "commissions/statements/<id:pk>/xlsx/",
        views_commissions.statement_xlsx,
        name="statement-xlsx",
    ),
]
