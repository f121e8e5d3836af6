from django.urls import path

from . import views

app_name = "feeds-public"

urlpatterns = [
    path("<str:token>.xml", views.feed_file, name="file"),
    path("<str:token>/plans/<int:unit_id>/<str:which>", views.plan_file, name="plan"),
]
