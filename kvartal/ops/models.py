"""Platform operations: the periodic jobs' claims, backups, notification preferences."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PeriodicRun(models.Model):
    """One period of one periodic job. The row is the claim: whichever scheduler inserts it
    first enqueues the job; the others find it there (a unique pair) and do nothing. The
    job counts its executions in ``runs`` (the multi-server test reads it)."""

    name = models.CharField(_("job"), max_length=100)
    slot = models.DateTimeField(_("period"))
    enqueued_at = models.DateTimeField(_("enqueued"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    runs = models.PositiveIntegerField(_("runs"), default=0)
    result = models.CharField(_("result"), max_length=300, blank=True)
    failed = models.BooleanField(_("failed"), default=False)

    class Meta:
        verbose_name = _("periodic run")
        verbose_name_plural = _("periodic runs")
        ordering = ["-slot", "name"]
        constraints = [
            models.UniqueConstraint(fields=["name", "slot"], name="periodic_run_once"),
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.slot:%Y-%m-%d %H:%M:%S}"


class Backup(models.Model):
    """One backup file in the backup folder, with what it holds and its last verification."""

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    file = models.CharField(_("file"), max_length=200, unique=True)
    size = models.BigIntegerField(_("size, bytes"), default=0)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64, blank=True)
    engine = models.CharField(_("database"), max_length=20)
    tables = models.PositiveIntegerField(_("tables"), default=0)
    rows = models.BigIntegerField(_("rows"), default=0)
    media_files = models.PositiveIntegerField(_("media files"), default=0)
    seconds = models.FloatField(_("took, s"), default=0)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    verified_ok = models.BooleanField(_("verification passed"), null=True)
    verification = models.TextField(_("verification"), blank=True)

    class Meta:
        verbose_name = _("backup")
        verbose_name_plural = _("backups")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.file


class NotificationKind(models.TextChoices):
    HOLD_ENDING = "hold_ending", _("A hold of mine ends soon")
    PAYMENT_OVERDUE = "payment_overdue", _("A payment is overdue")
    TASK_DUE = "task_due", _("A task of mine is due")
    DEAL_APPROVAL = "deal_approval", _("A deal waits for my approval")


class NotificationSettings(models.Model):
    """How one user wants to be told: per kind in the app and/or by e-mail, and the language
    of the e-mails. No row: everything on, in the site's language."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        related_name="notification_settings",
        verbose_name=_("user"),
    )
    choices = models.JSONField(_("choices"), default=dict, blank=True)
    language = models.CharField(_("language of e-mails"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self) -> str:
        return str(self.user)

    def wants(self, kind: str, channel: str) -> bool:
        return bool(self.choices.get(kind, {}).get(channel, True))


class Delivery(models.Model):
    """A notification given to a user, under a key naming what it is about (a hold's 2-hour
    warning for its current end, an overdue line). The unique pair is the claim: a second
    job, worker or server finds the row and sends nothing."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="+", verbose_name=_("user")
    )
    key = models.CharField(_("key"), max_length=200)
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    in_app = models.BooleanField(_("in the app"), default=False)
    email_to = models.CharField(_("e-mail to"), max_length=254, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)
    message = models.CharField(_("message"), max_length=300)
    args = models.JSONField(_("arguments"), default=dict, blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="delivery_once")]

    def __str__(self) -> str:
        return f"{self.user}: {self.key}"
