"""Pricing: price lists, batches of price changes awaiting approval, the sales plan, and the
rules and recommendations of dynamic pricing.

Nothing here writes a unit's price: an approved batch is applied through
``inventory.services.units_set_prices`` (the one writer), which appends the ``PriceChange``
rows. A batch keeps its lines (unit, price seen, price proposed) so that it can be previewed,
approved, scheduled and rolled back.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kvartal.core.uploads import CSV, XLSX, UploadField
from kvartal.inventory.models import (
    Building,
    Finishing,
    PriceBatch,
    Project,
    Section,
    Unit,
    UnitKind,
    WindowView,
)

USER = settings.AUTH_USER_MODEL
MONEY = {"max_digits": 14, "decimal_places": 2}
PERCENT = {"max_digits": 7, "decimal_places": 2}


# --- settings -------------------------------------------------------------------------------


class Approver(models.TextChoices):
    SALES_HEAD = "sales_head", _("Sales head")
    DIRECTOR = "director", _("Director")
    EITHER = "either", _("Sales head or director")


class PricingSettings(models.Model):
    """The company's pricing rules (one row; ``PricingSettings.current()``)."""

    approver = models.CharField(
        _("who approves bulk price changes"),
        max_length=16,
        choices=Approver,
        default=Approver.SALES_HEAD,
    )

    class Meta:
        verbose_name = _("pricing settings")
        verbose_name_plural = _("pricing settings")

    def __str__(self) -> str:
        return str(_("Pricing settings"))

    @classmethod
    def current(cls) -> "PricingSettings":
        return cls.objects.first() or cls()


# --- price lists ------------------------------------------------------------------------------


class StepMode(models.TextChoices):
    PERCENT = "percent", _("% per floor")
    PER_M2 = "per_m2", _("₽/m² per floor")


class PriceList(models.Model):
    """How a developer prices a building (or one section): a base price per m² by unit kind
    and rooms, a step per floor from a chosen floor, coefficients (position, view, finishing,
    area band), a floor price per m² and a rounding rule."""

    name = models.CharField(_("name"), max_length=200)
    building = models.ForeignKey(
        Building, models.CASCADE, related_name="price_lists", verbose_name=_("building")
    )
    section = models.ForeignKey(
        Section,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="price_lists",
        verbose_name=_("section"),
        help_text=_("Empty: the whole building."),
    )
    step_from_floor = models.SmallIntegerField(
        _("floor step from floor"),
        default=2,
        help_text=_("Units on this floor and below get no step; each floor above adds one."),
    )
    step_mode = models.CharField(
        _("floor step in"), max_length=8, choices=StepMode, default=StepMode.PERCENT
    )
    step_value = models.DecimalField(_("floor step"), default=Decimal(0), **PERCENT)
    min_per_m2 = models.DecimalField(
        _("floor price per m², ₽"),
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("No unit may come out cheaper per m²."),
        **MONEY,
    )
    round_to = models.DecimalField(
        _("round to, ₽"),
        default=Decimal(1000),
        validators=[MinValueValidator(Decimal(1))],
        **MONEY,
    )
    created_by = models.ForeignKey(USER, models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class BaseRate(models.Model):
    """The base price per m² of one unit kind (and, for apartments, number of rooms; empty =
    any). The most specific row wins."""

    price_list = models.ForeignKey(PriceList, models.CASCADE, related_name="rates")
    kind = models.CharField(_("kind"), max_length=16, choices=UnitKind, default=UnitKind.APARTMENT)
    rooms = models.PositiveSmallIntegerField(
        _("rooms"), null=True, blank=True, help_text=_("0 = studio; empty = any.")
    )
    per_m2 = models.DecimalField(_("base price per m², ₽"), **MONEY)

    class Meta:
        verbose_name = _("base price")
        verbose_name_plural = _("base prices")
        ordering = ["kind", "rooms"]
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "kind", "rooms"],
                name="pricing_rate_unique",
            )
        ]

    def __str__(self) -> str:
        rooms = "" if self.rooms is None else f", {self.rooms}"
        return f"{self.get_kind_display()}{rooms}: {self.per_m2}"


class FactorKind(models.TextChoices):
    POSITION = "position", _("Position on the floor (riser)")
    VIEW = "view", _("Window view")
    FINISHING = "finishing", _("Finishing")
    AREA = "area", _("Area band")


class Factor(models.Model):
    """A coefficient in % added to the price per m² of the units it matches: a position on
    the floor (a corner riser), a view, a finishing, or an area band [from, to)."""

    price_list = models.ForeignKey(PriceList, models.CASCADE, related_name="factors")
    kind = models.CharField(_("applies to"), max_length=16, choices=FactorKind)
    value = models.CharField(
        _("value"),
        max_length=16,
        blank=True,
        help_text=_("A position number, a view or a finishing; empty for an area band."),
    )
    area_from = models.DecimalField(
        _("area from, m²"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    area_to = models.DecimalField(
        _("area below, m²"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    percent = models.DecimalField(_("change, %"), **PERCENT)

    class Meta:
        verbose_name = _("coefficient")
        verbose_name_plural = _("coefficients")
        ordering = ["kind", "value", "area_from"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.label()}: {self.percent:+}%"

    def label(self) -> str:
        if self.kind == FactorKind.VIEW:
            return str(WindowView(self.value).label) if self.value in WindowView.values else ""
        if self.kind == FactorKind.FINISHING:
            return str(Finishing(self.value).label) if self.value in Finishing.values else ""
        if self.kind == FactorKind.AREA:
            return f"{self.area_from or 0}–{self.area_to or '∞'} m²"
        return self.value


# --- batches ----------------------------------------------------------------------------------


class BatchSource(models.TextChoices):
    PRICE_LIST = "price_list", _("Price list")
    MANUAL = "manual", _("Manual bulk change")
    RECOMMENDATION = "recommendation", _("Recommendation")
    IMPORT = "import", _("Import")
    API = "api", _("Integration API")
    ROLLBACK = "rollback", _("Rollback")


class BatchStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    SCHEDULED = "scheduled", _("Approved, scheduled")
    APPLIED = "applied", _("Applied")
    REJECTED = "rejected", _("Rejected")
    ROLLED_BACK = "rolled_back", _("Rolled back")


BATCH_TRANSITIONS = {
    BatchStatus.PENDING: frozenset(
        {BatchStatus.SCHEDULED, BatchStatus.APPLIED, BatchStatus.REJECTED}
    ),
    BatchStatus.SCHEDULED: frozenset({BatchStatus.APPLIED, BatchStatus.REJECTED}),
    BatchStatus.APPLIED: frozenset({BatchStatus.ROLLED_BACK}),
    BatchStatus.REJECTED: frozenset(),
    BatchStatus.ROLLED_BACK: frozenset(),
}
BATCH_COLOURS = {
    BatchStatus.PENDING: "amber",
    BatchStatus.SCHEDULED: "violet",
    BatchStatus.APPLIED: "green",
    BatchStatus.REJECTED: "grey",
    BatchStatus.ROLLED_BACK: "red",
}


class Batch(models.Model):
    """A proposed bulk price change: its lines, who proposed and who approved it, when it
    applies, and what it did (the inventory ``PriceBatch`` of the change and of its
    rollback, and the units each left and why)."""

    title = models.CharField(_("title"), max_length=300)
    source = models.CharField(_("source"), max_length=16, choices=BatchSource)
    status = models.CharField(
        _("status"), max_length=16, choices=BatchStatus, default=BatchStatus.PENDING
    )
    price_list = models.ForeignKey(
        PriceList, models.SET_NULL, null=True, blank=True, related_name="batches"
    )
    created_by = models.ForeignKey(USER, models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("proposed"))
    decided_by = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("decided by")
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    effective_at = models.DateTimeField(
        _("applies at"), null=True, blank=True, help_text=_("Empty: at once on approval.")
    )
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)
    applied = models.ForeignKey(
        PriceBatch, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rolled_back_at = models.DateTimeField(_("rolled back"), null=True, blank=True)
    rollback = models.ForeignKey(
        PriceBatch, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # unit id → reason key (inventory.services.SKIP_REASONS), when applied / rolled back
    skipped = models.JSONField(default=dict, blank=True)
    rollback_skipped = models.JSONField(default=dict, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("price batch")
        verbose_name_plural = _("price batches")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "effective_at"], name="pricing_batch_due")]

    def __str__(self) -> str:
        return self.title

    @property
    def status_colour(self) -> str:
        return BATCH_COLOURS[self.status]


class BatchLine(models.Model):
    """One unit of a batch: the price it had when the batch was prepared and the new one."""

    batch = models.ForeignKey(Batch, models.CASCADE, related_name="lines")
    unit = models.ForeignKey(Unit, models.CASCADE, related_name="+")
    old_price = models.DecimalField(_("old price"), **MONEY)
    new_price = models.DecimalField(_("new price"), **MONEY)
    explanation = models.CharField(_("how"), max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "unit"], name="pricing_line_unique"),
            models.CheckConstraint(condition=Q(new_price__gt=0), name="pricing_line_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id}: {self.old_price} → {self.new_price}"


def type_label(key: str) -> str:
    from .segments import UNIT_TYPE_LABELS

    return str(UNIT_TYPE_LABELS.get(key, key)) if key else ""


# --- the sales plan ---------------------------------------------------------------------------


class SalesPlan(models.Model):
    """The plan of one month: for a project, optionally one building and one unit type
    (a key of ``analytics.base.UNIT_TYPES``; empty = all types)."""

    project = models.ForeignKey(
        Project, models.CASCADE, related_name="+", verbose_name=_("project")
    )
    building = models.ForeignKey(
        Building,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("building"),
    )
    unit_type = models.CharField(_("unit type"), max_length=16, blank=True)
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    units = models.PositiveIntegerField(_("units"), default=0)
    area = models.DecimalField(_("m²"), max_digits=12, decimal_places=2, default=Decimal(0))
    revenue = models.DecimalField(_("revenue, ₽"), default=Decimal(0), **MONEY)

    class Meta:
        verbose_name = _("sales plan")
        verbose_name_plural = _("sales plans")
        ordering = ["project__name", "month"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "building", "unit_type", "month"],
                name="pricing_plan_unique",
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="pricing_plan_month_start"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.month:%Y-%m} {self.unit_type}"

    @property
    def per_m2(self) -> Decimal | None:
        return (self.revenue / self.area).quantize(Decimal(1)) if self.area else None


# --- dynamic pricing --------------------------------------------------------------------------


class Rule(models.Model):
    """A rule of dynamic pricing, edited by the sales head: which segments it watches and how
    it moves their price.

    Pace = units sold per week over ``weeks``; plan pace = the plan's units per week this
    month. Selling at ≥ ``fast_ratio`` × the plan's pace with stock for ≤ ``low_stock_weeks``
    weeks → raise by ``raise_percent``; at ≤ ``slow_ratio`` × the plan's pace → lower by
    ``lower_percent``. Never more than ``monthly_cap_percent`` in a calendar month, never
    below ``min_per_m2``.
    """

    name = models.CharField(_("name"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    project = models.ForeignKey(
        Project, models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("project")
    )
    unit_type = models.CharField(_("unit type"), max_length=16, blank=True)
    floor_from = models.SmallIntegerField(_("floors from"), null=True, blank=True)
    floor_to = models.SmallIntegerField(_("floors to"), null=True, blank=True)
    weeks = models.PositiveSmallIntegerField(_("absorption over, weeks"), default=8)
    fast_ratio = models.DecimalField(
        _("fast: pace ≥ plan pace ×"), max_digits=5, decimal_places=2, default=Decimal("1.20")
    )
    low_stock_weeks = models.PositiveSmallIntegerField(
        _("fast only with stock for at most, weeks"), default=26
    )
    raise_percent = models.DecimalField(_("raise by, %"), default=Decimal("2.00"), **PERCENT)
    slow_ratio = models.DecimalField(
        _("slow: pace ≤ plan pace ×"), max_digits=5, decimal_places=2, default=Decimal("0.70")
    )
    lower_percent = models.DecimalField(_("lower by, %"), default=Decimal("1.00"), **PERCENT)
    monthly_cap_percent = models.DecimalField(
        _("at most per month, %"), default=Decimal("3.00"), **PERCENT
    )
    min_per_m2 = models.DecimalField(_("floor price per m², ₽"), null=True, blank=True, **MONEY)

    class Meta:
        verbose_name = _("pricing rule")
        verbose_name_plural = _("pricing rules")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def type_label(self) -> str:
        return type_label(self.unit_type)


class RecommendationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PROPOSED = "proposed", _("Sent for approval")
    DISMISSED = "dismissed", _("Dismissed")


class Recommendation(models.Model):
    """What a rule recommends for one segment on one day, with the numbers behind it."""

    rule = models.ForeignKey(Rule, models.CASCADE, related_name="recommendations")
    computed_at = models.DateTimeField(_("computed"))
    day = models.DateField(_("day"))
    project = models.ForeignKey(Project, models.CASCADE, related_name="+")
    unit_type = models.CharField(_("unit type"), max_length=16, blank=True)
    floor_from = models.SmallIntegerField(null=True, blank=True)
    floor_to = models.SmallIntegerField(null=True, blank=True)
    sold = models.PositiveIntegerField(_("sold in the window"))
    pace = models.DecimalField(_("units per week"), max_digits=10, decimal_places=2)
    plan_pace = models.DecimalField(
        _("plan, units per week"), max_digits=10, decimal_places=2, null=True
    )
    stock = models.PositiveIntegerField(_("stock"))
    days_to_sell_out = models.PositiveIntegerField(_("days to sell out"), null=True)
    move_percent = models.DecimalField(_("move, %"), **PERCENT)
    explanation = models.TextField(_("explanation"))
    status = models.CharField(
        max_length=16, choices=RecommendationStatus, default=RecommendationStatus.OPEN
    )
    batch = models.ForeignKey(Batch, models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")
        ordering = ["-day", "project__name", "unit_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "day", "project", "unit_type"], name="pricing_reco_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.unit_type}: {self.move_percent:+}%"

    @property
    def type_label(self) -> str:
        return type_label(self.unit_type)


# --- imports ----------------------------------------------------------------------------------


class ImportKind(models.TextChoices):
    INVENTORY = "inventory", _("Inventory")
    PRICES = "prices", _("Prices")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    CHECKING = "checking", _("Checking")
    CHECKED = "checked", _("Checked")
    APPLYING = "applying", _("Applying")
    APPLIED = "applied", _("Applied")
    FAILED = "failed", _("Failed")


class ImportRun(models.Model):
    """One uploaded file: its dry run (rows, progress, errors with row and column) and what
    applying it wrote. The file is kept so that applying checks it again."""

    kind = models.CharField(_("what"), max_length=16, choices=ImportKind)
    file = UploadField(_("file"), upload_to="imports/", kinds=(XLSX, CSV))
    filename = models.CharField(_("file name"), max_length=255)
    created_by = models.ForeignKey(USER, models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus, default=ImportStatus.UPLOADED
    )
    done_rows = models.PositiveIntegerField(default=0)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)  # [[row, column, message]], first 2 000
    preview = models.JSONField(default=list, blank=True)  # [[row, action, key, detail]], 500
    message = models.TextField(blank=True)
    valid_only = models.BooleanField(default=False)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.filename

    @property
    def busy(self) -> bool:
        return self.status in (ImportStatus.UPLOADED, ImportStatus.CHECKING, ImportStatus.APPLYING)
