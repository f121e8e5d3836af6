"""Sales: holds and their queue, deals with configurable stages, payment schedules and
receipts, promotions, and the settings a company tunes.

Every state here changes only in ``services``; each change appends an event row in the same
transaction. The two guarantees of "never sold twice" are partial unique constraints below:
at most one active hold and at most one active deal per unit.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kvartal.clients.models import Agency, Client
from kvartal.inventory.models import Building, Project, Unit, UnitStatus

USER = settings.AUTH_USER_MODEL
MONEY = {"max_digits": 14, "decimal_places": 2}


# --- settings ---------------------------------------------------------------------------


class SalesSettings(models.Model):
    """The company's sales rules (one row; ``SalesSettings.current()``)."""

    expiry_warning_hours = models.PositiveSmallIntegerField(
        _("warn before a hold ends, hours"), default=24
    )
    manager_max_hold_days = models.PositiveSmallIntegerField(
        _("longest hold a manager may set, days"), default=14
    )
    head_max_hold_days = models.PositiveSmallIntegerField(
        _("longest hold a sales head may set, days"), default=60
    )
    manager_max_extensions = models.PositiveSmallIntegerField(
        _("extensions a manager may make"), default=1
    )
    queue_hold_days = models.PositiveSmallIntegerField(
        _("hold given to the first in the queue, days"), default=1
    )
    discount_approval_percent = models.DecimalField(
        _("discounts above this need a sales head, %"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("3.00"),
    )
    bti_tolerance_m2 = models.DecimalField(
        _("BTI tolerance, m²"), max_digits=6, decimal_places=2, default=Decimal("1.00")
    )
    bti_charge_beyond_tolerance_only = models.BooleanField(
        _("recalculate only the difference beyond the tolerance"), default=False
    )

    class Meta:
        verbose_name = _("sales settings")
        verbose_name_plural = _("sales settings")

    def __str__(self) -> str:
        return str(_("Sales settings"))

    @classmethod
    def current(cls) -> "SalesSettings":
        return cls.objects.order_by("pk").first() or cls.objects.create()


class HoldTerm(models.Model):
    """A preset hold term offered on the hold form (1, 3, 7, 14 days …)."""

    days = models.PositiveSmallIntegerField(_("days"), validators=[MinValueValidator(1)])
    name = models.CharField(_("name"), max_length=60, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("hold term")
        verbose_name_plural = _("hold terms")
        ordering = ["days"]
        constraints = [models.UniqueConstraint(fields=["days"], name="hold_term_days_unique")]

    def __str__(self) -> str:
        return self.name or _("%(days)s d.") % {"days": self.days}


# --- holds ------------------------------------------------------------------------------


class HoldKind(models.TextChoices):
    ORAL = "oral", _("Oral hold")
    FREE = "free", _("Free reservation")
    PAID = "paid", _("Paid reservation")


class HoldBasis(models.TextChoices):
    MORTGAGE = "mortgage", _("Mortgage review")
    TRADE_IN = "trade_in", _("Trade-in of a secondary flat")
    FUNDS = "funds", _("Gathering funds")
    OTHER = "other", _("Other")


class HoldState(models.TextChoices):
    ACTIVE = "active", _("Active")
    CONVERTED = "converted", _("Turned into a deal")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


class Hold(models.Model):
    """A time-boxed hold of one unit for one client. ``price`` is the price it was made at.

    Active means ``state == active``; one whose ``expires_at`` has passed reads as ended at
    once (``is_live``) and is finalised (state ``expired``) by the periodic job or by the next
    action on the unit.
    """

    unit = models.ForeignKey(Unit, models.PROTECT, related_name="holds", verbose_name=_("unit"))
    client = models.ForeignKey(
        Client, models.PROTECT, related_name="holds", verbose_name=_("client")
    )
    manager = models.ForeignKey(
        USER, models.PROTECT, related_name="holds", verbose_name=_("manager")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=HoldKind, default=HoldKind.ORAL)
    basis = models.CharField(_("basis"), max_length=16, choices=HoldBasis, default=HoldBasis.OTHER)
    comment = models.TextField(_("comment"), blank=True)
    amount = models.DecimalField(_("amount paid, ₽"), **MONEY, null=True, blank=True)
    receipt_number = models.CharField(_("receipt number"), max_length=50, blank=True)
    price = models.DecimalField(_("price, ₽"), **MONEY)
    starts_at = models.DateTimeField(_("from"), default=timezone.now)
    expires_at = models.DateTimeField(_("until"))
    state = models.CharField(_("state"), max_length=16, choices=HoldState, default=HoldState.ACTIVE)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    ended_by = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("ended by")
    )
    end_reason = models.CharField(_("reason"), max_length=300, blank=True)
    extensions = models.PositiveSmallIntegerField(_("extensions"), default=0)
    created_by = models.ForeignKey(
        USER, models.SET_NULL, null=True, related_name="+", verbose_name=_("created by")
    )

    class Meta:
        verbose_name = _("hold")
        verbose_name_plural = _("holds")
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit"],
                condition=Q(state="active"),
                name="one_active_hold_per_unit",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("starts_at")), name="hold_ends_after_start"
            ),
            models.CheckConstraint(
                condition=~Q(kind="paid") | Q(amount__gt=0), name="paid_hold_has_amount"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "expires_at"], name="hold_state_expires"),
            models.Index(fields=["manager", "state"], name="hold_manager_state"),
        ]

    def __str__(self) -> str:
        return _("Hold of %(unit)s") % {"unit": self.unit}

    def is_live(self, now=None) -> bool:
        return self.state == HoldState.ACTIVE and self.expires_at > (now or timezone.now())


class HoldEventKind(models.TextChoices):
    CREATED = "created", _("Held")
    EXTENDED = "extended", _("Extended")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    CONVERTED = "converted", _("Turned into a deal")


class HoldEvent(models.Model):
    """Append-only history of a hold."""

    hold = models.ForeignKey(Hold, models.CASCADE, related_name="events", verbose_name=_("hold"))
    at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("who")
    )
    kind = models.CharField(_("event"), max_length=16, choices=HoldEventKind)
    old_expires_at = models.DateTimeField(_("was until"), null=True, blank=True)
    new_expires_at = models.DateTimeField(_("now until"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("hold event")
        verbose_name_plural = _("hold events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class QueueState(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    GRANTED = "granted", _("Got the unit")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class QueueEntry(models.Model):
    """A client waiting for a held unit. The first waiting entry gets it when the hold ends."""

    unit = models.ForeignKey(Unit, models.CASCADE, related_name="queue", verbose_name=_("unit"))
    client = models.ForeignKey(Client, models.PROTECT, related_name="+", verbose_name=_("client"))
    manager = models.ForeignKey(USER, models.PROTECT, related_name="+", verbose_name=_("manager"))
    created_at = models.DateTimeField(_("queued"), default=timezone.now)
    state = models.CharField(
        _("state"), max_length=16, choices=QueueState, default=QueueState.WAITING
    )
    hold = models.ForeignKey(
        Hold, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("hold")
    )
    comment = models.CharField(_("comment"), max_length=300, blank=True)
    ended_at = models.DateTimeField(_("left the queue"), null=True, blank=True)
    end_reason = models.CharField(_("why it left"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("queue entry")
        verbose_name_plural = _("queue")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "client"],
                condition=Q(state="waiting"),
                name="one_queue_place_per_client",
            )
        ]

    def __str__(self) -> str:
        return f"{self.client} → {self.unit}"


# --- deal stages: a state machine stored as data ----------------------------------------


class StageOutcome(models.TextChoices):
    """How per-client analytics count a deal at this stage (set by an administrator)."""

    IN_WORK = "in_work", _("In work")
    BOUGHT = "bought", _("Bought")
    REFUSED = "refused", _("Refused")


class StageRequirement(models.TextChoices):
    NONE = "", _("Nothing")
    REGISTRATION = "registration", _("Registration number and date")
    ACT = "act", _("Handover act date")
    PAID_IN_FULL = "paid", _("Everything paid")
    REASON = "reason", _("A reason")


class StageScheme(models.Model):
    """A company's deal flow: the Russian one (preparation → … → handed over) or the Chinese
    one (认筹 → 认购 → 签约 → 回款), or its own."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    is_default = models.BooleanField(_("default for new deals"), default=False)

    class Meta:
        verbose_name = _("deal flow")
        verbose_name_plural = _("deal flows")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_scheme"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def default(cls) -> "StageScheme":
        return cls.objects.filter(is_default=True).first() or cls.objects.order_by("pk").first()


# A stage's colour names one of the status colours of the stylesheet.
STAGE_COLOURS = {
    "green": "available",
    "amber": "reserved",
    "violet": "in_deal",
    "red": "sold",
    "grey": "not_for_sale",
}


class Stage(models.Model):
    """One stage of a flow. ``unit_status`` is what the unit shows while a deal is here;
    ``outcome`` how analytics count it; ``requires`` what must be given to enter it."""

    scheme = models.ForeignKey(
        StageScheme, models.CASCADE, related_name="stages", verbose_name=_("deal flow")
    )
    code = models.SlugField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    unit_status = models.CharField(
        _("unit status"),
        max_length=16,
        choices=[
            (UnitStatus.IN_DEAL, UnitStatus.IN_DEAL.label),
            (UnitStatus.SOLD, UnitStatus.SOLD.label),
        ],
        default=UnitStatus.IN_DEAL,
    )
    outcome = models.CharField(
        _("counts as"), max_length=16, choices=StageOutcome, default=StageOutcome.IN_WORK
    )
    requires = models.CharField(
        _("requires"), max_length=16, choices=StageRequirement, default="", blank=True
    )
    is_initial = models.BooleanField(_("first stage"), default=False)
    is_termination = models.BooleanField(
        _("ends the deal and returns the unit to sale"), default=False
    )
    needs_approval = models.BooleanField(_("needs a sales head"), default=False)
    colour = models.CharField(_("colour"), max_length=16, default="grey")

    class Meta:
        verbose_name = _("deal stage")
        verbose_name_plural = _("deal stages")
        ordering = ["scheme", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "code"], name="stage_code_unique_in_scheme"),
            models.UniqueConstraint(
                fields=["scheme"], condition=Q(is_initial=True), name="one_initial_stage"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The name as people read it: a shipped name translated, a custom one as typed.
        A bilingual shipped name ("认购 · Subscription") keeps its first part."""
        head, sep, tail = self.name.rpartition(" · ")
        return f"{head}{sep}{gettext(tail)}" if sep else gettext(self.name)

    @property
    def badge_class(self) -> str:
        """The stage's colour as one of the status badge classes (``st-…``)."""
        return "st-" + STAGE_COLOURS.get(self.colour, "not_for_sale")


class StageTransition(models.Model):
    """An allowed move between two stages of the same flow."""

    scheme = models.ForeignKey(
        StageScheme, models.CASCADE, related_name="transitions", verbose_name=_("deal flow")
    )
    source = models.ForeignKey(Stage, models.CASCADE, related_name="exits", verbose_name=_("from"))
    target = models.ForeignKey(Stage, models.CASCADE, related_name="entries", verbose_name=_("to"))

    class Meta:
        verbose_name = _("stage transition")
        verbose_name_plural = _("stage transitions")
        constraints = [
            models.UniqueConstraint(fields=["source", "target"], name="stage_transition_unique")
        ]

    def __str__(self) -> str:
        return f"{self.source} → {self.target}"


# --- deals ------------------------------------------------------------------------------


class PaymentMethod(models.TextChoices):
    FULL = "full", _("Full payment")
    MORTGAGE = "mortgage", _("Mortgage")
    SUBSIDISED = "subsidised", _("Subsidised mortgage programme")
    INSTALMENTS = "instalments", _("Instalments")


class ContractType(models.TextChoices):
    DDU = "ddu", _("ДДУ with escrow")
    DKP = "dkp", _("ДКП (sale and purchase)")
    ASSIGNMENT = "assignment", _("Assignment (уступка)")


class Promotion(models.Model):
    """A promotion: a period, the units it applies to, a discount and a price floor."""

    class DiscountKind(models.TextChoices):
        PERCENT = "percent", _("Percent")
        AMOUNT = "amount", _("Fixed amount, ₽")
        PER_M2 = "per_m2", _("Price per m², ₽")

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    is_active = models.BooleanField(_("active"), default=True)
    discount_kind = models.CharField(
        _("discount"), max_length=8, choices=DiscountKind, default=DiscountKind.PERCENT
    )
    value = models.DecimalField(
        _("value"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))]
    )
    min_price = models.DecimalField(_("minimum price, ₽"), **MONEY, null=True, blank=True)
    projects = models.ManyToManyField(
        Project, blank=True, related_name="+", verbose_name=_("projects")
    )
    buildings = models.ManyToManyField(
        Building, blank=True, related_name="+", verbose_name=_("buildings")
    )
    rooms = models.JSONField(
        _("rooms"), default=list, blank=True, help_text=_("Room counts, e.g. [0, 1]; empty = any.")
    )
    units = models.ManyToManyField(Unit, blank=True, related_name="+", verbose_name=_("units"))
    created_by = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("created by")
    )

    class Meta:
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="promotion_period_order"
            ),
            models.CheckConstraint(
                condition=~Q(discount_kind="percent") | Q(value__lt=100),
                name="promotion_percent_below_100",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def is_running(self, on) -> bool:
        return self.is_active and self.starts_on <= on <= self.ends_on

    def discount_for(self, *, price: Decimal, area: Decimal) -> Decimal:
        """The discount this promotion gives on ``price`` (never taking it below
        ``min_price`` nor below zero), rounded to the rouble."""
        if self.discount_kind == self.DiscountKind.PERCENT:
            discount = price * self.value / 100
        elif self.discount_kind == self.DiscountKind.AMOUNT:
            discount = self.value
        else:  # a new price per m²
            discount = price - self.value * area
        floor = self.min_price or Decimal(0)
        discount = min(max(discount, Decimal(0)), max(price - floor, Decimal(0)))
        return discount.quantize(Decimal(1))


class Deal(models.Model):
    """A sale of one unit to one or more buyers, moving along its flow's stages.

    Active means ``is_active`` (not terminated, not replaced by a unit swap); the database
    keeps at most one active deal per unit.
    """

    number = models.CharField(_("number"), max_length=32, unique=True)
    unit = models.ForeignKey(Unit, models.PROTECT, related_name="deals", verbose_name=_("unit"))
    hold = models.ForeignKey(
        Hold, models.SET_NULL, null=True, blank=True, related_name="deals", verbose_name=_("hold")
    )
    scheme = models.ForeignKey(
        StageScheme, models.PROTECT, related_name="deals", verbose_name=_("deal flow")
    )
    stage = models.ForeignKey(Stage, models.PROTECT, related_name="deals", verbose_name=_("stage"))
    is_active = models.BooleanField(_("active"), default=True)
    manager = models.ForeignKey(
        USER, models.PROTECT, related_name="deals", verbose_name=_("manager")
    )
    agency = models.ForeignKey(
        Agency,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="deals",
        verbose_name=_("agency"),
    )
    contract_type = models.CharField(
        _("contract"), max_length=16, choices=ContractType, default=ContractType.DDU
    )
    payment_method = models.CharField(
        _("payment method"), max_length=16, choices=PaymentMethod, default=PaymentMethod.FULL
    )
    bank = models.CharField(_("bank"), max_length=100, blank=True)
    programme = models.CharField(_("mortgage programme"), max_length=100, blank=True)
    list_price = models.DecimalField(_("list price, ₽"), **MONEY)
    promotion = models.ForeignKey(
        Promotion,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="deals",
        verbose_name=_("promotion"),
    )
    promotion_discount = models.DecimalField(_("promotion discount, ₽"), **MONEY, default=0)
    manual_discount = models.DecimalField(_("manual discount, ₽"), **MONEY, default=0)
    discount_approved_by = models.ForeignKey(
        USER,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("discount approved by"),
    )
    price = models.DecimalField(_("deal price, ₽"), **MONEY)
    area = models.DecimalField(_("contract area, m²"), max_digits=8, decimal_places=2)
    # BTI recalculation: filled when the measured area is entered.
    bti_area = models.DecimalField(
        _("BTI-measured area, m²"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    bti_adjustment = models.DecimalField(_("recalculation, ₽"), **MONEY, default=0)
    registration_number = models.CharField(_("registration number"), max_length=64, blank=True)
    registration_date = models.DateField(_("registration date"), null=True, blank=True)
    signed_on = models.DateField(_("signed"), null=True, blank=True)
    act_date = models.DateField(_("handover act date"), null=True, blank=True)
    termination_reason = models.CharField(_("termination reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_by = models.ForeignKey(
        USER, models.SET_NULL, null=True, related_name="+", verbose_name=_("created by")
    )

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit"], condition=Q(is_active=True), name="one_active_deal_per_unit"
            ),
            models.CheckConstraint(condition=Q(price__gt=0), name="deal_price_positive"),
            models.CheckConstraint(condition=Q(area__gt=0), name="deal_area_positive"),
        ]
        indexes = [
            models.Index(fields=["manager", "is_active"], name="deal_manager_active"),
            models.Index(fields=["stage"], name="deal_stage"),
        ]

    def __str__(self) -> str:
        return _("Deal %(number)s") % {"number": self.number}

    @property
    def price_per_m2(self) -> Decimal:
        return (self.price / self.area).quantize(Decimal("0.01"))

    @property
    def total_due(self) -> Decimal:
        """What the buyers owe in all: the deal price plus the BTI recalculation."""
        return self.price + self.bti_adjustment


class DealBuyer(models.Model):
    """A buyer on a deal, with a share (``share_numerator/share_denominator``)."""

    deal = models.ForeignKey(Deal, models.CASCADE, related_name="buyers", verbose_name=_("deal"))
    client = models.ForeignKey(
        Client, models.PROTECT, related_name="deal_parts", verbose_name=_("client")
    )
    share_numerator = models.PositiveIntegerField(_("share"), default=1)
    share_denominator = models.PositiveIntegerField(_("of"), default=1)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("buyer")
        verbose_name_plural = _("buyers")
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["deal", "client"], name="buyer_once_per_deal"),
            models.CheckConstraint(
                condition=Q(share_numerator__gt=0)
                & Q(share_numerator__lte=models.F("share_denominator")),
                name="buyer_share_is_a_fraction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.share_numerator}/{self.share_denominator}"


class DealEventKind(models.TextChoices):
    CREATED = "created", _("Deal opened")
    STAGE = "stage", _("Stage changed")
    BUYERS = "buyers", _("Buyers changed")
    UNIT_SWAP = "unit_swap", _("Unit swapped")
    DISCOUNT = "discount", _("Discount")
    BTI = "bti", _("BTI measurement")
    SCHEDULE = "schedule", _("Payment schedule")
    PAYMENT = "payment", _("Payment received")
    TERMINATED = "terminated", _("Terminated")


class DealEvent(models.Model):
    """Append-only history of a deal. ``data`` holds the event's figures (old and new)."""

    deal = models.ForeignKey(Deal, models.CASCADE, related_name="events", verbose_name=_("deal"))
    at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("who")
    )
    kind = models.CharField(_("event"), max_length=16, choices=DealEventKind)
    unit = models.ForeignKey(
        Unit, models.PROTECT, related_name="deal_events", verbose_name=_("unit")
    )
    from_stage = models.ForeignKey(
        Stage, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("from")
    )
    to_stage = models.ForeignKey(
        Stage, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("to")
    )
    data = models.JSONField(_("details"), default=dict, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("deal event")
        verbose_name_plural = _("deal events")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["unit", "at"], name="deal_event_unit_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


# --- payments ---------------------------------------------------------------------------


class LineKind(models.TextChoices):
    LUMP_SUM = "lump_sum", _("Lump sum")
    DOWN_PAYMENT = "down_payment", _("Down payment")
    MORTGAGE = "mortgage", _("Mortgage tranche")
    INSTALMENT = "instalment", _("Instalment")
    RECALCULATION = "recalculation", _("BTI recalculation")


class Payer(models.TextChoices):
    BUYER = "buyer", _("Buyer")
    BANK = "bank", _("Bank")


class PaymentLine(models.Model):
    """A planned payment of a deal's schedule."""

    deal = models.ForeignKey(Deal, models.CASCADE, related_name="schedule", verbose_name=_("deal"))
    due_date = models.DateField(_("due"))
    amount = models.DecimalField(_("amount, ₽"), **MONEY)
    kind = models.CharField(_("kind"), max_length=16, choices=LineKind)
    payer = models.CharField(_("payer"), max_length=8, choices=Payer, default=Payer.BUYER)

    class Meta:
        verbose_name = _("planned payment")
        verbose_name_plural = _("payment schedule")
        ordering = ["due_date", "pk"]
        indexes = [models.Index(fields=["deal", "due_date"], name="payment_line_deal_due")]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="payment_line_not_zero")]

    def __str__(self) -> str:
        return f"{self.due_date} {self.amount}"


class Payment(models.Model):
    """Money received against a deal (recorded by the cashier). A refund is negative."""

    deal = models.ForeignKey(Deal, models.PROTECT, related_name="payments", verbose_name=_("deal"))
    line = models.ForeignKey(
        PaymentLine,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name=_("planned payment"),
    )
    received_on = models.DateField(_("received"))
    amount = models.DecimalField(_("amount, ₽"), **MONEY)
    document = models.CharField(_("document number"), max_length=64, blank=True)
    channel = models.CharField(_("paid to"), max_length=64, blank=True)
    recorded_by = models.ForeignKey(
        USER, models.SET_NULL, null=True, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["received_on", "pk"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="payment_not_zero")]

    def __str__(self) -> str:
        return f"{self.received_on} {self.amount}"
