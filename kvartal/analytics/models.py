import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kvartal.accounts.models import Role


class ReportAccess(models.Model):
    """Which reports a director's login sees (no row: every report)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        related_name="report_access",
        verbose_name=_("user"),
    )
    reports = models.JSONField(_("reports"), default=list, blank=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("report access")
        verbose_name_plural = _("report access")

    def __str__(self) -> str:
        return str(self.user)


class ReportTemplateQuerySet(models.QuerySet):
    def for_user(self, user):
        """The templates ``user`` may open (``accounts.permissions.may_open_report_template``).
        A handful of rows, and JSON "contains" is missing on SQLite: the rule runs in Python."""
        from kvartal.accounts.permissions import may_open_report_template

        if not getattr(user, "is_authenticated", False):
            return self.none()
        ids = [t.pk for t in self.all() if may_open_report_template(user, t)]
        return self.filter(pk__in=ids)


class ReportTemplate(models.Model):
    """A report built by a user: dimensions and measures in their order, filters, sharing."""

    name = models.CharField(_("name"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    source = models.CharField(_("data"), max_length=16)
    dimensions = models.JSONField(_("rows"), default=list)
    measures = models.JSONField(_("columns"), default=list)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    shared_roles = models.JSONField(_("shared with roles"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    objects = ReportTemplateQuerySet.as_manager()

    class Meta:
        verbose_name = _("report template")
        verbose_name_plural = _("report templates")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def roles(self) -> list[str]:
        """The roles it is shared with: only a list of role names counts (the JSON may hold
        anything if edited by hand)."""
        roles = self.shared_roles if isinstance(self.shared_roles, list) else []
        return [r for r in roles if isinstance(r, str) and r in Role.values]

    def shared_role_labels(self) -> list[str]:
        labels = dict(Role.choices)
        return [str(labels[r]) for r in self.roles()]


def new_token() -> str:
    return secrets.token_urlsafe(18)


class SharedLink(models.Model):
    """A read-only link to a live report, valid until ``expires_at`` (or revoked)."""

    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    report = models.CharField(_("report"), max_length=64)
    template = models.ForeignKey(
        ReportTemplate,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="links",
        verbose_name=_("report template"),
    )
    query = models.CharField(_("filters"), max_length=2000, blank=True)
    title = models.CharField(_("title"), max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("shared link")
        verbose_name_plural = _("shared links")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class SharedLinkOpen(models.Model):
    """One opening of a shared link (also the refused ones: expired, revoked)."""

    link = models.ForeignKey(
        SharedLink, models.CASCADE, related_name="opens", verbose_name=_("shared link")
    )
    at = models.DateTimeField(_("when"), default=timezone.now)
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("signed-in user"),
    )

    class Outcome(models.TextChoices):
        SHOWN = "shown", _("shown")
        REVOKED = "revoked", _("refused: withdrawn")
        EXPIRED = "expired", _("refused: expired")

    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome, default=Outcome.SHOWN)

    class Meta:
        verbose_name = _("opening of a shared link")
        verbose_name_plural = _("openings of shared links")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.link_id} @ {self.at:%Y-%m-%d %H:%M}"
