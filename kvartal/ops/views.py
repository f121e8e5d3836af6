"""The administrator's pages of the platform: the job queue and the backups."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kvartal.accounts.permissions import ADMIN_SITE, require
from kvartal.core.jobs import enqueue_on_commit
from kvartal.ops import jobqueue, notifications
from kvartal.ops.backups import backup_dir
from kvartal.ops.models import Backup, NotificationKind, PeriodicRun


@require(ADMIN_SITE)
def job_list(request):
    status = request.GET.get("status", "FAILED")
    if status not in jobqueue.STATUSES:
        status = "FAILED"
    labels = {
        "READY": _("Queued"),
        "RUNNING": _("Running"),
        "FAILED": _("Failed"),
        "SUCCESSFUL": _("Done"),
    }
    counts = jobqueue.counts()
    context = {
        "tabs": [(s, labels[s], counts[s]) for s in jobqueue.STATUSES],
        "status": status,
        "status_label": labels[status],
        "jobs": jobqueue.jobs(status),
        "backend": jobqueue.backend_kind(),
        "periodic": PeriodicRun.objects.all()[:20],
        "nav": "ops",
        "crumbs": [(None, _("Jobs"))],
    }
    return render(request, "ops/jobs.html", context)


@require(ADMIN_SITE)
@require_POST
def job_retry(request, job_id: str):
    try:
        jobqueue.retry(job_id)
    except jobqueue.RetryRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The job is queued again."))
    return redirect(reverse("ops:jobs") + "?status=FAILED")


@require(ADMIN_SITE)
def backup_list(request):
    backups = list(Backup.objects.all()[:60])
    context = {
        "backups": backups,
        "last_ok": next((b for b in backups if b.verified_ok), None),
        "folder": backup_dir(),
        "nav": "ops",
        "crumbs": [(None, _("Backups"))],
    }
    return render(request, "ops/backups.html", context)


@require(ADMIN_SITE)
@require_POST
def backup_now(request):
    from kvartal.ops.tasks import backup_now as job

    enqueue_on_commit(job)
    messages.success(
        request, _("A backup is queued; it appears here when the job queue has made it.")
    )
    return redirect("ops:backups")


@login_required
def notification_settings(request):
    """Each user chooses, per kind, in the app and/or by e-mail, and the e-mails' language."""
    prefs = notifications.settings_for(request.user)
    if request.method == "POST":
        choices = {
            kind: {
                "app": f"{kind}-app" in request.POST,
                "email": f"{kind}-email" in request.POST,
            }
            for kind in NotificationKind.values
        }
        notifications.preferences_save(
            user=request.user, choices=choices, language=request.POST.get("language", "")
        )
        messages.success(request, _("Your notification settings are saved."))
        return redirect("ops:notification-settings")
    rows = [
        (kind, label, prefs.wants(kind, "app"), prefs.wants(kind, "email"))
        for kind, label in NotificationKind.choices
    ]
    context = {
        "rows": rows,
        "language": prefs.language,
        "languages": settings.LANGUAGES,
        "smtp": getattr(settings, "KVARTAL_SMTP", False),
        "email": request.user.email,
        "crumbs": [(None, _("Notification settings"))],
    }
    return render(request, "ops/notification_settings.html", context)
