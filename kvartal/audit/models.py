"""The audit log: one append-only row per change, sign-in, export or erasure.

Rows are written only through ``kvartal.audit.record`` (and the sign-in hooks). Nobody edits
or deletes them: the model, its queryset and the admin refuse; the one exception is the
erasure of a person's data, which blanks the values of the rows about that person
(``kvartal.audit.erase_subject``) and leaves the rows themselves.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Changed")
    DELETE = "delete", _("Deleted")
    ACTION = "action", _("Action")
    SIGN_IN = "sign_in", _("Signed in")
    SIGN_IN_FAILED = "sign_in_failed", _("Failed sign-in")
    SIGN_OUT = "sign_out", _("Signed out")
    LOCKOUT = "lockout", _("Locked out")
    UNLOCK = "unlock", _("Lockout lifted")
    TWO_FACTOR = "two_factor", _("Two-factor change")
    TWO_FACTOR_FAILED = "two_factor_failed", _("Wrong two-factor code")
    PASSWORD = "password", _("Password change")
    SESSION = "session", _("Session ended")
    BLOCK = "block", _("Blocked or unblocked")
    EXPORT = "export", _("Export")
    ERASE = "erase", _("Erasure of personal data")


class Door(models.TextChoices):
    """Where a change came from."""

    PAGE = "page", _("Product page")
    ADMIN = "admin", _("Administration")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    JOB = "job", _("Background job or command")
    CALLCENTRE = "callcentre", _("Call centre")
    SHOWCASE = "showcase", _("Showcase")
    AGENCY = "agency", _("Agency cabinet")


class AppendOnlyError(Exception):
    """The audit log is append-only."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("The audit log is append-only.")

    def delete(self):
        raise AppendOnlyError("The audit log is append-only.")

    def _blank(self, **kwargs) -> int:
        """The one permitted change: erasure blanks values (see ``erase_subject``)."""
        return super().update(**kwargs)


class PlainJSONEncoder(DjangoJSONEncoder):
    """Stores letters as letters (not \\u escapes), so an erasure finds a name in the text."""

    def __init__(self, *args, **kwargs):
        kwargs["ensure_ascii"] = False
        super().__init__(*args, **kwargs)


class ValuesJSONField(models.JSONField):
    """A JSON column whose rows are inserted as ``VALUES (…), (…)``. The one or two rows of an
    audited call are written together; PostgreSQL's bulk insert would send them as arrays
    (``UNNEST``), which psycopg quotes in Python at twice the cost of the rows themselves
    (0.35 against 0.21 ms CPU for a hold's two rows). A field with a placeholder of its own
    keeps Django's plain multi-row insert."""

    def get_placeholder(self, value, compiler, connection):
        return "%s"


class AuditEvent(models.Model):
    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        # Users are blocked, not deleted; if one is, the id stays (no constraint, no cascade).
        models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
        db_constraint=False,
        db_index=False,  # audit_actor_at starts with it
    )
    # Kept as written: the name stays readable after the user is renamed or deleted.
    actor_name = models.CharField(_("who (as recorded)"), max_length=150, blank=True)
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind)
    door = models.CharField(_("door"), max_length=12, choices=Door, blank=True)
    action = models.CharField(_("action"), max_length=80, blank=True)
    object_type = models.CharField(_("object type"), max_length=80, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    changes = ValuesJSONField(
        _("old and new values"), default=dict, blank=True, encoder=PlainJSONEncoder
    )
    data = ValuesJSONField(_("details"), default=dict, blank=True, encoder=PlainJSONEncoder)
    # The person whose personal data the values may hold ("clients.client:12"): their
    # erasure blanks these rows' values.
    subject = models.CharField(_("data subject"), max_length=80, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-pk"]
        # Every row costs an entry in each index: one per way the log is read (an object's
        # rows, a user's, a door's, a kind's, newest first; a person's for erasure), none
        # that another one starts with.
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["kind", "at"], name="audit_kind_at"),
            models.Index(fields=["subject"], name="audit_subject"),
            models.Index(fields=["actor", "at"], name="audit_actor_at"),
            models.Index(fields=["door", "at"], name="audit_door_at"),
        ]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.object_repr}".strip()

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The audit log is append-only.")
