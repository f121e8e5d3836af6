from django.urls import path

from . import views

app_name = "pricing"

urlpatterns = [
    path("", views.index, name="index"),
    path("batches/<id:pk>/", views.batch_detail, name="batch-detail"),
    path("batches/<id:pk>/decide/", views.batch_decide, name="batch-decide"),
    path("lists/", views.pricelist_list, name="pricelist-list"),
    path("lists/new/", views.pricelist_edit, name="pricelist-create"),
    path("lists/<id:pk>/", views.pricelist_preview, name="pricelist-preview"),
    path("lists/<id:pk>/edit/", views.pricelist_edit, name="pricelist-edit"),
    path("lists/<id:pk>/price-list.xlsx", views.pricelist_file, name="pricelist-file"),
    path("lists/<id:pk>/upload/", views.pricelist_upload, name="pricelist-upload"),
    path("plan/", views.plan_edit, name="plan"),
    path("rules/", views.rule_list, name="rule-list"),
    path("rules/new/", views.rule_edit, name="rule-create"),
    path("rules/<id:pk>/", views.rule_edit, name="rule-edit"),
    path("recommendations/", views.recommendation_list, name="recommendation-list"),
    path("backtest/", views.backtest_view, name="backtest"),
    path("import/", views.import_upload, name="import"),
    path("import/<id:pk>/", views.import_detail, name="import-detail"),
    path("import/template/<str:kind>.<str:fmt>", views.import_template, name="import-template"),
    path("export/<str:kind>.<str:fmt>", views.export, name="export"),
    path("price-list.<str:fmt>", views.price_sheet, name="price-sheet"),
]
