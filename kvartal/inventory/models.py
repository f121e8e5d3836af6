"""The inventory: project → building → section → floor → unit, and its append-only history.

A unit's ``status`` and ``price`` are written only by ``services.py``; every change appends a
``StatusChange`` or ``PriceChange`` row in the same transaction. Data edits append
``UnitChange`` rows. Reports and "as of" views read those rows.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kvartal.core.uploads import UploadField


class Readiness(models.TextChoices):
    UNDER_CONSTRUCTION = "under_construction", _("Under construction")
    COMPLETED = "completed", _("Completed")


class Project(models.Model):
    """A residential complex (ЖК): one or more buildings and parking structures."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    district = models.CharField(_("district"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Principal(models.Model):
    """Who sells a unit: the developer itself, an investor, a partner."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    inn = models.CharField(_("INN"), max_length=12, blank=True)
    is_developer = models.BooleanField(_("the developer itself"), default=False)

    class Meta:
        verbose_name = _("principal")
        verbose_name_plural = _("principals")
        ordering = ["-is_developer", "name"]

    def __str__(self) -> str:
        return self.name


class BuildingKind(models.TextChoices):
    RESIDENTIAL = "residential", _("Residential building")
    PARKING = "parking", _("Parking structure")


class Building(models.Model):
    """A building (дом, корпус) or a parking structure of a project.

    A parking structure is a building of kind ``parking``: its sections are queues, its floors
    are levels (−2, −1, 0, 1 …) and its units are parking spaces. ``serves`` links a separate
    parking structure to the residential building whose sheet counts its spaces.
    """

    project = models.ForeignKey(
        Project, models.PROTECT, related_name="buildings", verbose_name=_("project")
    )
    kind = models.CharField(
        _("kind"), max_length=16, choices=BuildingKind, default=BuildingKind.RESIDENTIAL
    )
    name = models.CharField(_("name"), max_length=200)
    object_code = models.CharField(_("object code"), max_length=50, blank=True)
    construction_address = models.CharField(_("construction address"), max_length=300)
    postal_address = models.CharField(
        _("postal address"), max_length=300, blank=True, help_text=_("Once assigned.")
    )
    cadastral_number = models.CharField(_("cadastral number"), max_length=40, blank=True)
    completion_date = models.DateField(_("completion date"), null=True, blank=True)
    readiness = models.CharField(
        _("readiness"), max_length=24, choices=Readiness, default=Readiness.UNDER_CONSTRUCTION
    )
    serves = models.ForeignKey(
        "self",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="parking_structures",
        limit_choices_to={"kind": BuildingKind.RESIDENTIAL},
        verbose_name=_("serves building"),
        help_text=_("For a parking structure: the residential building it belongs to."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["project__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="building_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.project.name}, {self.name}"

    @property
    def is_parking(self) -> bool:
        return self.kind == BuildingKind.PARKING


class Section(models.Model):
    """A section (секция, подъезд) of a building, or a queue (очередь) of a parking structure."""

    building = models.ForeignKey(
        Building, models.CASCADE, related_name="sections", verbose_name=_("building")
    )
    number = models.PositiveSmallIntegerField(_("number"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        ordering = ["building_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["building", "number"], name="section_number_unique")
        ]

    def __str__(self) -> str:
        return self.name or str(_("Section %(number)s") % {"number": self.number})


class LevelType(models.TextChoices):
    UNDERGROUND = "underground", _("Underground")
    ABOVE_GROUND = "above_ground", _("Above ground")


class Floor(models.Model):
    """A floor of a section (a level of a parking queue).

    ``index`` is the physical position (… −1, 0, 1, 2 …); ``label`` is what people see, which
    may skip numbers (no 13th floor) or read "M", "Тех." and so on.
    """

    section = models.ForeignKey(
        Section, models.CASCADE, related_name="floors", verbose_name=_("section")
    )
    index = models.SmallIntegerField(_("physical index"))
    label = models.CharField(_("label"), max_length=16)
    level_type = models.CharField(
        _("level type"), max_length=16, choices=LevelType, default=LevelType.ABOVE_GROUND
    )
    is_typical = models.BooleanField(_("typical floor"), default=False)
    plan = UploadField(_("floor plan"), upload_to="plans/floors/", blank=True)

    class Meta:
        verbose_name = _("floor")
        verbose_name_plural = _("floors")
        ordering = ["section_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["section", "index"], name="floor_index_unique")
        ]

    def __str__(self) -> str:
        return self.label


class UnitKind(models.TextChoices):
    APARTMENT = "apartment", _("Apartment")
    COMMERCIAL = "commercial", _("Commercial premise")
    STORAGE = "storage", _("Storage room")
    PARKING = "parking", _("Parking space")


class UnitStatus(models.TextChoices):
    NOT_FOR_SALE = "not_for_sale", _("Not for sale")
    AVAILABLE = "available", _("Available")
    RESERVED = "reserved", _("Reserved")
    IN_DEAL = "in_deal", _("In deal")
    SOLD = "sold", _("Sold")


# The stock: units offered for sale, the held ones included — what sales pace, absorption
# and the unsold report measure (not ``Unit.objects.on_sale``: the units a client can take now).
IN_STOCK = (UnitStatus.AVAILABLE, UnitStatus.RESERVED)

# Colours beside the choices: the chessboard, the legend and the badges all read these.
STATUS_COLOURS = {
    UnitStatus.NOT_FOR_SALE: "grey",
    UnitStatus.AVAILABLE: "green",
    UnitStatus.RESERVED: "amber",
    UnitStatus.IN_DEAL: "violet",
    UnitStatus.SOLD: "red",
}

# Who may move a unit from one status to another. The inventory keeper opens and closes
# sales; holds and sales are the sales services' moves (they call unit_set_status too).
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    UnitStatus.NOT_FOR_SALE: frozenset({UnitStatus.AVAILABLE}),
    UnitStatus.AVAILABLE: frozenset(
        {UnitStatus.NOT_FOR_SALE, UnitStatus.RESERVED, UnitStatus.IN_DEAL, UnitStatus.SOLD}
    ),
    UnitStatus.RESERVED: frozenset({UnitStatus.AVAILABLE, UnitStatus.IN_DEAL, UnitStatus.SOLD}),
    UnitStatus.IN_DEAL: frozenset({UnitStatus.AVAILABLE, UnitStatus.SOLD}),
    UnitStatus.SOLD: frozenset({UnitStatus.AVAILABLE, UnitStatus.IN_DEAL}),
}
PRICE_LOCKED_STATUSES = frozenset({UnitStatus.RESERVED, UnitStatus.IN_DEAL, UnitStatus.SOLD})
# The moves an inventory keeper makes by hand; the rest belong to sales.
MANUAL_STATUSES = frozenset({UnitStatus.NOT_FOR_SALE, UnitStatus.AVAILABLE})


class Finishing(models.TextChoices):
    NONE = "none", _("No finishing")
    WHITE_BOX = "white_box", _("White box")
    FINISHED = "finished", _("Turnkey finishing")


class WindowView(models.TextChoices):
    YARD = "yard", _("Courtyard")
    STREET = "street", _("Street")
    PARK = "park", _("Park")
    WATER = "water", _("Water")
    CITY = "city", _("City panorama")


def effective_status_of(status: str, hold_until, now) -> str:
    """The status as users see it from a row's raw values: a reserved unit whose hold has run
    out is available at once, before the periodic job finalises the hold (the one reading;
    ``effective_status_q`` is the same in SQL)."""
    if status == UnitStatus.RESERVED and hold_until is not None and hold_until <= now:
        return UnitStatus.AVAILABLE
    return status


def effective_status_q(status: str, now=None) -> Q:
    """A filter for units whose *effective* status (``Unit.effective_status``) is ``status``."""
    now = now or timezone.now()
    run_out = Q(status=UnitStatus.RESERVED, hold_until__lte=now)
    if status == UnitStatus.AVAILABLE:
        return Q(status=UnitStatus.AVAILABLE) | run_out
    if status == UnitStatus.RESERVED:
        return Q(status=UnitStatus.RESERVED) & ~Q(hold_until__lte=now)
    return Q(status=status)


class UnitQuerySet(models.QuerySet):
    def on_sale(self, now=None):
        """Units a client can take now: available, or reserved with the hold run out."""
        return self.filter(effective_status_q(UnitStatus.AVAILABLE, now))

    def with_place(self):
        """Everything a table row or card shows about where the unit is, in one query."""
        return self.select_related("building__project", "section", "floor", "principal")


class Unit(models.Model):
    """An apartment, commercial premise, storage room or parking space.

    ``number`` is the developer's number (from the project documentation), unique per building
    and kind. ``code`` is ``section.floor.position`` (``1.12.3``; parking and storage
    ``1.-1.013``), assigned automatically. ``price`` is the current price for units on sale and
    the price at which a held or sold unit was taken.
    """

    building = models.ForeignKey(
        Building, models.CASCADE, related_name="units", verbose_name=_("building")
    )
    section = models.ForeignKey(
        Section, models.CASCADE, related_name="units", verbose_name=_("section")
    )
    # RESTRICT: a floor with units cannot be deleted alone, but goes with its section.
    floor = models.ForeignKey(Floor, models.RESTRICT, related_name="units", verbose_name=_("floor"))
    kind = models.CharField(_("kind"), max_length=16, choices=UnitKind, default=UnitKind.APARTMENT)
    number = models.CharField(_("number"), max_length=16)
    code = models.CharField(_("code"), max_length=24, editable=False)
    position = models.PositiveSmallIntegerField(
        _("position on the floor"), help_text=_("1 = first from the lift, counted left to right.")
    )
    rooms = models.PositiveSmallIntegerField(
        _("rooms"), null=True, blank=True, help_text=_("0 = studio.")
    )
    total_area = models.DecimalField(
        _("total area, m²"), max_digits=8, decimal_places=2, help_text=_("Design area.")
    )
    living_area = models.DecimalField(
        _("living area, m²"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    kitchen_area = models.DecimalField(
        _("kitchen area, m²"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    bti_area = models.DecimalField(
        _("BTI-measured area, m²"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    length = models.DecimalField(
        pgettext_lazy("size", "length, m"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    width = models.DecimalField(
        pgettext_lazy("size", "width, m"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    ceiling_height = models.DecimalField(
        _("ceiling height, m"), max_digits=4, decimal_places=2, null=True, blank=True
    )
    finishing = models.CharField(
        _("finishing"), max_length=16, choices=Finishing, default=Finishing.NONE
    )
    view = models.CharField(_("window view"), max_length=16, choices=WindowView, blank=True)
    has_balcony = models.BooleanField(_("balcony or loggia"), default=False)
    price = models.DecimalField(_("price, ₽"), max_digits=14, decimal_places=2, default=0)
    price_per_m2 = models.GeneratedField(
        expression=Round(F("price") / F("total_area"), 2),
        output_field=models.DecimalField(max_digits=14, decimal_places=2),
        db_persist=True,
        verbose_name=_("price per m², ₽"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=UnitStatus, default=UnitStatus.NOT_FOR_SALE
    )
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    # Set by the sales services (through inventory's own service) in the same transaction as
    # the hold: a reserved unit whose hold_until has passed reads as available at once.
    hold_until = models.DateTimeField(_("held until"), null=True, blank=True, editable=False)
    # A price set while the unit is held; it applies when the hold ends without a deal.
    pending_price = models.DecimalField(
        _("price after the hold"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        editable=False,
    )
    principal = models.ForeignKey(
        Principal,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="units",
        verbose_name=_("principal"),
    )
    special_conditions = models.TextField(_("special conditions"), blank=True)
    layout = UploadField(_("layout image"), upload_to="plans/units/", blank=True)
    plan_region = models.CharField(
        _("place on the floor plan"),
        max_length=64,
        blank=True,
        help_text=_("x,y,width,height in percent of the floor plan, e.g. 10,20,25,30."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    objects = UnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["building_id", "section__number", "floor__index", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["building", "kind", "number"], name="unit_number_unique_in_building"
            ),
            models.UniqueConstraint(
                fields=["building", "kind", "code"], name="unit_code_unique_in_building"
            ),
            models.CheckConstraint(condition=Q(total_area__gt=0), name="unit_total_area_positive"),
            models.CheckConstraint(
                condition=Q(living_area__isnull=True) | Q(living_area__lte=F("total_area")),
                name="unit_living_area_within_total",
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="unit_price_not_negative"),
            models.CheckConstraint(
                condition=~Q(status=UnitStatus.AVAILABLE) | Q(price__gt=0),
                name="unit_on_sale_has_price",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "kind"], name="unit_status_kind"),
            models.Index(fields=["price"], name="unit_price"),
            models.Index(fields=["total_area"], name="unit_total_area"),
            models.Index(fields=["rooms"], name="unit_rooms"),
            # The catalogue: status (on sale by default) and rooms, priced and sorted by price.
            models.Index(fields=["status", "rooms", "price"], name="unit_status_rooms_price"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    @property
    def status_colour(self) -> str:
        return STATUS_COLOURS[self.status]

    @property
    def is_on_sale(self) -> bool:
        return self.status == UnitStatus.AVAILABLE

    def effective_status(self, now=None) -> str:
        """The status as users see it: a reserved unit whose hold has run out is available
        at once, before the periodic job finalises the hold."""
        return effective_status_of(self.status, self.hold_until, now or timezone.now())

    @property
    def is_price_locked(self) -> bool:
        """A held or sold unit keeps the price it was taken at."""
        return self.status in PRICE_LOCKED_STATUSES

    @property
    def measured_area(self) -> Decimal:
        """The BTI area once measured, else the design area."""
        return self.bti_area if self.bti_area is not None else self.total_area

    @property
    def plan_box(self) -> dict[str, str] | None:
        """``plan_region`` as CSS percentages for the marker on the floor plan."""
        try:
            x, y, w, h = (float(p) for p in self.plan_region.split(","))
        except ValueError:
            return None
        return {"left": f"{x}%", "top": f"{y}%", "width": f"{w}%", "height": f"{h}%"}

    def clean(self) -> None:
        """Field rules shared by forms, the admin and services (the database repeats them)."""
        errors: dict[str, str] = {}
        for name in ("total_area", "living_area", "kitchen_area", "bti_area", "length", "width"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                errors[name] = _("Must be greater than zero.")
        if (
            self.living_area is not None
            and self.total_area is not None
            and self.living_area > self.total_area
        ):
            errors["living_area"] = _("Living area cannot exceed the total area.")
        if (
            self.kitchen_area is not None
            and self.total_area is not None
            and self.kitchen_area > self.total_area
        ):
            errors["kitchen_area"] = _("Kitchen area cannot exceed the total area.")
        if self.status == UnitStatus.AVAILABLE and not self.price:
            errors["price"] = _("A unit on sale must have a price above zero.")
        if self.price is not None and self.price < 0:
            errors["price"] = _("The price cannot be negative.")
        if self.plan_region and self.plan_box is None:
            errors["plan_region"] = _("Give four numbers: x,y,width,height.")
        if self.floor_id and self.section_id and self.floor.section_id != self.section_id:
            errors["floor"] = _("This floor belongs to another section.")
        if self.section_id and self.building_id and self.section.building_id != self.building_id:
            errors["section"] = _("This section belongs to another building.")
        if self.number and self.building_id:
            clash = Unit.objects.filter(
                building_id=self.building_id, kind=self.kind, number=self.number
            ).exclude(pk=self.pk)
            if clash.exists():
                errors["number"] = _("Number %(number)s is already used in this building.") % {
                    "number": self.number
                }
        if errors:
            raise ValidationError(errors)


def unit_code(*, kind: str, section: int, floor: int, position: int) -> str:
    """``1.12.3`` for apartments and commercial premises; ``1.-1.013`` for parking and storage."""
    if kind in (UnitKind.PARKING, UnitKind.STORAGE):
        return f"{section}.{floor}.{position:03d}"
    return f"{section}.{floor}.{position}"


class HistoryRow(models.Model):
    # Read by unit newest first: each table's (unit, at) index serves it (and the cascade).
    unit = models.ForeignKey(Unit, models.CASCADE, verbose_name=_("unit"), db_index=False)
    at = models.DateTimeField(_("when"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        abstract = True
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.unit_id} @ {self.at:%Y-%m-%d %H:%M}"


class StatusChange(HistoryRow):
    """One status move of a unit: who, when, old → new, why. Append-only."""

    old_status = models.CharField(_("old status"), max_length=16, choices=UnitStatus, blank=True)
    new_status = models.CharField(_("new status"), max_length=16, choices=UnitStatus)
    price = models.DecimalField(_("price at the time"), max_digits=14, decimal_places=2)

    class Meta(HistoryRow.Meta):
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        default_related_name = "status_changes"
        indexes = [models.Index(fields=["unit", "at"], name="statuschange_unit_at")]


class PriceBatch(models.Model):
    """A bulk price change: one decision applied to many units, kept for review and rollback."""

    at = models.DateTimeField(_("when"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    description = models.CharField(_("description"), max_length=300)
    units_count = models.PositiveIntegerField(_("units"), default=0)

    class Meta:
        verbose_name = _("bulk price change")
        verbose_name_plural = _("bulk price changes")
        ordering = ["-at"]

    def __str__(self) -> str:
        return self.description


class PriceChange(HistoryRow):
    """One price change of a unit: who, when, old → new, why. Append-only."""

    old_price = models.DecimalField(_("old price"), max_digits=14, decimal_places=2)
    new_price = models.DecimalField(_("new price"), max_digits=14, decimal_places=2)
    batch = models.ForeignKey(
        PriceBatch, models.SET_NULL, null=True, blank=True, related_name="changes"
    )

    class Meta(HistoryRow.Meta):
        verbose_name = _("price change")
        verbose_name_plural = _("price changes")
        default_related_name = "price_changes"
        indexes = [models.Index(fields=["unit", "at"], name="pricechange_unit_at")]


class UnitChange(HistoryRow):
    """A data edit of a unit (or its creation): which fields, from what, to what."""

    changes = models.JSONField(_("changes"), default=dict)

    class Meta(HistoryRow.Meta):
        verbose_name = _("data change")
        verbose_name_plural = _("data changes")
        default_related_name = "data_changes"
        indexes = [models.Index(fields=["unit", "at"], name="unitchange_unit_at")]
