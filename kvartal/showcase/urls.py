from django.urls import path

from . import views

app_name = "showcase"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("projects/<id:project_id>/", views.project_detail, name="project"),
    path("buildings/<id:building_id>/", views.building_board, name="building"),
    path("units/<id:unit_id>/", views.unit_detail, name="unit-detail"),
    path("units/<id:unit_id>/offer.pdf", views.unit_offer, name="unit-offer"),
    path("units/<id:unit_id>/favourite/", views.favourite_toggle, name="favourite-toggle"),
    path("units/<id:unit_id>/compare/", views.compare_toggle, name="compare-toggle"),
    path("units/<id:unit_id>/book/", views.book, name="book"),
    path("units/<id:unit_id>/book/confirm/", views.book_confirm, name="book-confirm"),
    path("bookings/<id:booking_id>/", views.booked, name="booked"),
    path("favourites/", views.favourites, name="favourites"),
    path("compare/", views.compare, name="compare"),
    path("history/", views.history, name="history"),
    path("searches/", views.search_save, name="search-save"),
    path("searches/<id:search_id>/delete/", views.search_delete, name="search-delete"),
    path("s/<slug:token>/", views.shared, name="shared"),
    path("request/", views.request_form, name="request"),
    path("request/sent/", views.request_sent, name="request-sent"),
    path("embed/<id:project_id>/", views.embed, name="embed"),
    path("embed.js", views.embed_script, name="embed-script"),
    path("sitemap.xml", views.sitemap, name="sitemap"),
    path("robots.txt", views.robots, name="robots"),
]
