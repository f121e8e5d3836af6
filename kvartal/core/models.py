from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .uploads import UploadField

DEFAULT_PALETTE = "#1f4e79,#e07b39,#3c9d5d,#8e5cc4,#c94f4f,#2a9fb0,#b59b2a,#6b7785"


class ChartKind(models.TextChoices):
    BAR = "bar", _("Bars")
    LINE = "line", _("Lines")


class SettingsRow(models.Model):
    """A table of one row: an app's settings for the whole installation. ``current()`` reads
    the row, making it with the fields' defaults the first time."""

    class Meta:
        abstract = True

    @classmethod
    def current(cls):
        return cls.objects.order_by("pk").first() or cls.objects.create()


class CompanyProfile(SettingsRow):
    """The developer company using this installation: its name and brand on sheets and PDFs.

    One row; ``CompanyProfile.current()`` returns it, creating an empty one if needed.
    """

    name = models.CharField(_("company name"), max_length=200, default="")
    legal_name = models.CharField(_("legal name"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    website = models.CharField(_("website"), max_length=200, blank=True)
    logo = UploadField(_("logo"), upload_to="company/", blank=True)
    brand_color = models.CharField(
        _("brand colour"),
        max_length=7,
        default="#1f4e79",
        help_text=_("Hex colour, e.g. #1f4e79"),
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour like #1f4e79."))],
    )

    chart_palette = models.CharField(
        _("chart colours"),
        max_length=200,
        default=DEFAULT_PALETTE,
        help_text=_("Hex colours of the chart series in order, separated by commas."),
        validators=[
            RegexValidator(
                r"^#[0-9a-fA-F]{6}(\s*,\s*#[0-9a-fA-F]{6})*$",
                _("Colours like #1f4e79, separated by commas."),
            )
        ],
    )
    chart_kind = models.CharField(
        _("chart style"), max_length=8, choices=ChartKind, default=ChartKind.BAR
    )

    class Meta:
        verbose_name = _("company profile")
        verbose_name_plural = _("company profile")

    def __str__(self) -> str:
        return self.name or str(_("Company"))

    def palette(self) -> list[str]:
        """The chart series colours, in order."""
        return [c.strip() for c in (self.chart_palette or DEFAULT_PALETTE).split(",") if c.strip()]
