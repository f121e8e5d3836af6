from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    DIRECTOR = "director", _("Director")
    SALES_HEAD = "sales_head", _("Sales head")
    SALES_MANAGER = "sales_manager", _("Sales manager")
    INVENTORY_KEEPER = "inventory_keeper", _("Inventory keeper")
    CASHIER = "cashier", _("Cashier")
    ACCOUNTANT = "accountant", _("Accountant")
    OPERATOR = "operator", _("Call-centre operator")
    MARKETER = "marketer", _("Marketer")
    AGENCY_PARTNER = "agency_partner", _("Agency partner")


class Team(models.Model):
    """A sales team: its head sees and approves what its managers do."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    head = models.ForeignKey(
        "User",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="headed_teams",
        verbose_name=_("head"),
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in. What they may do follows from ``role`` (see permissions.py).

    Blocking a user is ``is_active = False``: they can no longer sign in, their history stays.
    """

    role = models.CharField(_("role"), max_length=32, choices=Role, default=Role.SALES_MANAGER)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    team = models.ForeignKey(
        Team, models.SET_NULL, null=True, blank=True, related_name="members", verbose_name=_("team")
    )
    on_duty = models.BooleanField(
        _("on duty"), default=True, help_text=_("Receives new leads in turn (round robin).")
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def short_name(self) -> str:
        """'Иванова А.' — how people are shown in history rows and tables."""
        return short_name(self.last_name, self.first_name, self.username)


def short_name(last_name: str, first_name: str, username: str) -> str:
    """``User.short_name`` from the three columns, for rows read as values."""
    if last_name:
        initial = f" {first_name[:1]}." if first_name else ""
        return f"{last_name}{initial}"
    return username


class Notice(models.Model):
    """An in-app notice to one user (a hold expired, a queue moved, a task is due).

    ``message`` is the English source text (a message key of the catalogue) and ``args`` its
    arguments, so each reader reads it in their language (``render``); ``text`` keeps it as
    rendered in the site's language when sent (older notices have only ``text``)."""

    user = models.ForeignKey(User, models.CASCADE, related_name="notices", verbose_name=_("user"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    text = models.CharField(_("text"), max_length=300)
    message = models.CharField(_("message"), max_length=300, blank=True)
    args = models.JSONField(_("arguments"), default=dict, blank=True)
    kind = models.CharField(_("kind"), max_length=32, blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"], name="notice_user_unread")]

    def __str__(self) -> str:
        return self.text

    def render(self) -> str:
        """The notice in the active language (the reader's)."""
        if not self.message:
            return self.text
        from kvartal.accounts.notices import render_message

        return render_message(self.message, self.args, fallback=self.text)


class UserSession(models.Model):
    """A signed-in session, so its owner can see where they are signed in and end the others,
    and blocking a user ends every one of theirs. The session itself lives in Django's session
    store; this row mirrors its key (deleted with it)."""

    user = models.ForeignKey(User, models.CASCADE, related_name="sessions", verbose_name=_("user"))
    session_key = models.CharField(_("session"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("signed in"), default=timezone.now)
    last_seen = models.DateTimeField(_("last active"), default=timezone.now)
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.user} · {self.address or '—'}"
