from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("", views.event_list, name="event-list"),
    path("export.csv", views.event_export, name="event-export"),
    path("lockouts/", views.lockout_list, name="lockout-list"),
    path("lockouts/lift/", views.lockout_lift, name="lockout-lift"),
]
