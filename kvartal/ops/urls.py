from django.urls import path

from kvartal.accounts.permissions import ADMIN_SITE, area_home
from kvartal.ops import views

app_name = "ops"

urlpatterns = [
    # the jobs for administrators; everyone else has only their own notification channels here
    path("", area_home((ADMIN_SITE, "ops:jobs"), (None, "ops:notification-settings")), name="home"),
    path("jobs/", views.job_list, name="jobs"),
    path("jobs/<str:job_id>/retry/", views.job_retry, name="job-retry"),
    path("backups/", views.backup_list, name="backups"),
    path("backups/now/", views.backup_now, name="backup-now"),
    path("notifications/", views.notification_settings, name="notification-settings"),
]
