"""Documents of a deal made from templates: the reservation agreement, the contract (ДДУ,
ДКП, assignment), the payment schedule annex, the handover act and the Chinese 认购书.

A template has an HTML body (Jinja merge fields, rendered to PDF with WeasyPrint) and
optionally a DOCX file with the same merge fields (docxtpl). Each generated document keeps the
template's version and the data it was made from; the PDF may be signed with the company's
certificate (PAdES).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kvartal.core.models import SettingsRow
from kvartal.core.uploads import DOCX, UploadField

USER = settings.AUTH_USER_MODEL


class DocumentKind(models.TextChoices):
    RESERVATION = "reservation", _("Reservation agreement")
    CONTRACT = "contract", _("Contract (ДДУ / ДКП / assignment)")
    SCHEDULE = "schedule", _("Payment schedule annex")
    HANDOVER = "handover", _("Handover act")
    SUBSCRIPTION = "subscription", _("Subscription agreement (认购书)")


class DocumentSettings(SettingsRow):
    """The company's details for documents and its signing key (one row)."""

    inn = models.CharField(_("INN"), max_length=12, blank=True)
    kpp = models.CharField(_("KPP"), max_length=9, blank=True)
    ogrn = models.CharField(_("OGRN"), max_length=15, blank=True)
    address = models.CharField(_("legal address"), max_length=300, blank=True)
    bank_details = models.TextField(_("bank details"), blank=True)
    signatory = models.CharField(_("signs for the company"), max_length=200, blank=True)
    signatory_position = models.CharField(_("signatory's position"), max_length=200, blank=True)
    key_path = models.CharField(_("signing key file (PEM)"), max_length=500, blank=True)
    cert_path = models.CharField(_("certificate file (PEM)"), max_length=500, blank=True)
    key_passphrase = models.CharField(_("key passphrase"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("document settings")
        verbose_name_plural = _("document settings")

    def __str__(self) -> str:
        return str(_("Document settings"))


class DocumentTemplate(models.Model):
    """A template of one kind; the active one of a kind is used. Each change raises
    ``version`` (written by ``services.template_save``)."""

    kind = models.CharField(_("document"), max_length=16, choices=DocumentKind)
    name = models.CharField(_("name"), max_length=200)
    body = models.TextField(_("HTML with merge fields"))
    docx = UploadField(
        _("DOCX with merge fields"), upload_to="documents/templates/", blank=True, kinds=(DOCX,)
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("document template")
        verbose_name_plural = _("document templates")
        ordering = ["kind", "-is_active", "name"]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class GeneratedDocument(models.Model):
    """A document generated from a deal: its files, the template version, the data."""

    deal = models.ForeignKey(
        "sales.Deal", models.PROTECT, related_name="documents", verbose_name=_("deal")
    )
    kind = models.CharField(_("document"), max_length=16, choices=DocumentKind)
    template = models.ForeignKey(
        DocumentTemplate, models.PROTECT, related_name="+", verbose_name=_("template")
    )
    template_version = models.PositiveIntegerField(_("template version"))
    version = models.PositiveIntegerField(_("version"))
    data = models.JSONField(_("data it was made from"))
    pdf = models.FileField(_("PDF"), upload_to="documents/generated/")
    docx = models.FileField(_("DOCX"), upload_to="documents/generated/")
    created_at = models.DateTimeField(_("made"), default=timezone.now)
    created_by = models.ForeignKey(
        USER, models.SET_NULL, null=True, related_name="+", verbose_name=_("made by")
    )
    signed_at = models.DateTimeField(_("signed"), null=True, blank=True)
    signed_by = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("signed by")
    )
    signer = models.CharField(_("certificate"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("generated document")
        verbose_name_plural = _("generated documents")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["deal", "kind", "version"], name="document_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"
