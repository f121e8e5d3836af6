from django.urls import path

from . import views

app_name = "feeds"

urlpatterns = [
    path("", views.feed_list, name="list"),
    path("<slug:portal>/", views.feed_detail, name="detail"),
    path("<slug:portal>/settings/", views.feed_settings, name="settings"),
    path("<slug:portal>/buildings/", views.feed_buildings, name="buildings"),
    path("<slug:portal>/projects/<int:project_id>/", views.feed_project, name="project"),
    path("<slug:portal>/build/", views.feed_build_now, name="build"),
    path("<slug:portal>/renew/", views.feed_renew, name="renew"),
]
