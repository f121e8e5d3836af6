"""The public, read-only side of the reports: no sign-in, the signed token is the key."""

from django.urls import path

from .views import shares

app_name = "shared"

urlpatterns = [
    path("<str:signed>/", shares.shared, name="report"),
    path("<str:signed>/report.<str:fmt>", shares.shared, name="export"),
]
