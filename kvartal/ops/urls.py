from django.urls import path

from kvartal.ops import views

app_name = "ops"

urlpatterns = [
    path("jobs/", views.job_list, name="jobs"),
    path("jobs/<str:job_id>/retry/", views.job_retry, name="job-retry"),
    path("backups/", views.backup_list, name="backups"),
    path("backups/now/", views.backup_now, name="backup-now"),
    path("notifications/", views.notification_settings, name="notification-settings"),
]
