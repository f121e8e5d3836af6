from django.urls import path

from . import views

app_name = "inventory"
urlpatterns = [
    path("", views.home, name="home"),
    path("projects/new/", views.project_create, name="project-create"),
    path("projects/<int:pk>/", views.project_detail, name="project-detail"),
    path("projects/<int:pk>/edit/", views.project_update, name="project-update"),
    path("projects/<int:pk>/sheet/", views.project_sheet, name="project-sheet"),
    path("projects/<int:pk>/sheet.pdf", views.project_sheet_pdf, name="project-sheet-pdf"),
    path("projects/<int:project_pk>/buildings/new/", views.building_create, name="building-create"),
    path("buildings/<int:pk>/", views.building_chessboard, name="building-chessboard"),
    path("buildings/<int:pk>/edit/", views.building_update, name="building-update"),
    path("buildings/<int:pk>/sheet/", views.building_sheet, name="building-sheet"),
    path("buildings/<int:pk>/sheet.pdf", views.building_sheet_pdf, name="building-sheet-pdf"),
    path("buildings/<int:pk>/sections/generate/", views.section_generate, name="section-generate"),
    path("floors/<int:pk>/edit/", views.floor_update, name="floor-update"),
    path("floors/<int:pk>/units/new/", views.unit_create, name="unit-create"),
    path("units/", views.unit_list, name="unit-list"),
    path("units/<int:pk>/", views.unit_detail, name="unit-detail"),
    path("units/<int:pk>/edit/", views.unit_update, name="unit-update"),
    path("units/<int:pk>/price/", views.unit_price, name="unit-price"),
    path("units/<int:pk>/status/", views.unit_status, name="unit-status"),
    path("prices/bulk/", views.price_bulk, name="price-bulk"),
]
