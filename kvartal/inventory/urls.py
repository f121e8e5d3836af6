from django.urls import path

from . import views

app_name = "inventory"
urlpatterns = [
    path("", views.home, name="home"),
    path("projects/new/", views.project_create, name="project-create"),
    path("projects/<id:pk>/", views.project_detail, name="project-detail"),
    path("projects/<id:pk>/edit/", views.project_update, name="project-update"),
    path("projects/<id:pk>/sheet/", views.project_sheet, name="project-sheet"),
    path("projects/<id:pk>/sheet.pdf", views.project_sheet_pdf, name="project-sheet-pdf"),
    path("projects/<id:project_pk>/buildings/new/", views.building_create, name="building-create"),
    path("buildings/<id:pk>/", views.building_chessboard, name="building-chessboard"),
    path("buildings/<id:pk>/edit/", views.building_update, name="building-update"),
    path("buildings/<id:pk>/sheet/", views.building_sheet, name="building-sheet"),
    path("buildings/<id:pk>/sheet.pdf", views.building_sheet_pdf, name="building-sheet-pdf"),
    path("buildings/<id:pk>/sections/generate/", views.section_generate, name="section-generate"),
    path("floors/<id:pk>/edit/", views.floor_update, name="floor-update"),
    path("floors/<id:pk>/units/new/", views.unit_create, name="unit-create"),
    path("units/", views.unit_list, name="unit-list"),
    path("units/<id:pk>/", views.unit_detail, name="unit-detail"),
    path("units/<id:pk>/edit/", views.unit_update, name="unit-update"),
    path("units/<id:pk>/price/", views.unit_price, name="unit-price"),
    path("units/<id:pk>/status/", views.unit_status, name="unit-status"),
    path("prices/bulk/", views.price_bulk, name="price-bulk"),
]
