"""Sales: holds and their queue, deals with configurable stages, payment schedules and
receipts, promotions, and the settings a company tunes.

Every state here changes only in ``services``; each change appends an event row in the same
transaction. The two guarantees of "never sold twice" are partial unique constraints below:
at most one active hold and at most one active deal per unit.
"""

import copy
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Exists, Max, OuterRef, Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from kvartal.accounts.permissions import SALES_APPROVE, SALES_DEAL, has_capability
from kvartal.accounts.scoping import ScopedQuerySet
from kvartal.clients.models import Agency, Client
from kvartal.core.models import SettingsRow
from kvartal.inventory.models import Building, Project, Readiness, Unit, UnitStatus

from . import owing
from .errors import ApprovalRequired, BtiRefused, DealClosed, DealError, StageMoveRefused

USER = settings.AUTH_USER_MODEL
MONEY = {"max_digits": 14, "decimal_places": 2}


# --- settings ---------------------------------------------------------------------------


class SalesSettings(SettingsRow):
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
        """The settings row, read at most every ``_SETTINGS_TTL`` seconds per process (and at
        once after a save or delete in this process): every hold and every chessboard asks,
        and a query each time was a tenth of a hold's cost. A change saved in another
        process takes effect here within the TTL. A copy: changing it changes nothing else."""
        now = time.monotonic()
        memo = _settings_memo
        if memo["row"] is None or now >= memo["until"]:
            memo["row"] = cls.objects.order_by("pk").first() or cls.objects.create()
            memo["until"] = now + _SETTINGS_TTL
        return copy.copy(memo["row"])

    @staticmethod
    def forget() -> None:
        """Read the row (and the hold terms) afresh on the next ``current()`` (a save here, a
        test's new data)."""
        _settings_memo["row"] = _settings_memo["terms"] = None


_SETTINGS_TTL = 30.0
_settings_memo: dict = {"row": None, "until": 0.0, "terms": None, "terms_until": 0.0}


@receiver([post_save, post_delete], sender=SalesSettings, dispatch_uid="sales-settings-changed")
def _forget_settings(sender, **kwargs):
    SalesSettings.forget()


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

    @classmethod
    def offered(cls) -> list["HoldTerm"]:
        """The active terms, shortest first, remembered per process as the sales settings are
        (``SalesSettings.current``; forgotten with them): every hold form offers them and
        checks the term sent against them."""
        now = time.monotonic()
        memo = _settings_memo
        if memo["terms"] is None or now >= memo["terms_until"]:
            memo["terms"] = list(cls.objects.filter(is_active=True))
            memo["terms_until"] = now + _SETTINGS_TTL
        return list(memo["terms"])


@receiver([post_save, post_delete], sender=HoldTerm, dispatch_uid="hold-terms-changed")
def _forget_terms(sender, **kwargs):
    SalesSettings.forget()


# --- holds ------------------------------------------------------------------------------


class HoldKind(models.TextChoices):
    ORAL = "oral", _("Oral hold")
    FREE = "free", _("Free reservation")
    PAID = "paid", _("Paid reservation")
    ONLINE = "online", _("Online booking")


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


class HoldQuerySet(ScopedQuerySet):
    """The SQL side of ``Hold.shown_state``: live, ending soon, ended."""

    owner_field = "manager"
    agency_field = "agency"

    def live(self, now=None):
        """Active holds whose end has not passed (one that ran out reads as ended already)."""
        return self.filter(state=HoldState.ACTIVE, expires_at__gt=now or timezone.now())

    def ending(self, now=None, *, warning_hours: int | None = None):
        """Live holds ending within the warning window."""
        now = now or timezone.now()
        if warning_hours is None:
            warning_hours = SalesSettings.current().expiry_warning_hours
        return self.live(now).filter(expires_at__lte=now + timedelta(hours=warning_hours))

    def ended(self, now=None):
        """Finished holds and those whose time ran out."""
        now = now or timezone.now()
        return self.exclude(state=HoldState.ACTIVE) | self.filter(
            state=HoldState.ACTIVE, expires_at__lte=now
        )


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
        USER,
        models.PROTECT,
        related_name="holds",
        verbose_name=_("manager"),
        db_index=False,  # hold_manager_state starts with it
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
    # The agency whose agent asked for the hold (its agents see it in their cabinet).
    agency = models.ForeignKey(
        Agency,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="holds",
        verbose_name=_("agency"),
    )

    objects = HoldQuerySet.as_manager()

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

    def shown_state(self, now=None, *, warning_hours: int | None = None) -> "ShownHoldState":
        """What every page shows for this hold: live, ending soon (within the warning window,
        ``SalesSettings.expiry_warning_hours`` unless given) or ended — a hold whose time ran
        out reads as expired at once, before the periodic job finalises it."""
        now = now or timezone.now()
        if self.state != HoldState.ACTIVE:
            return ShownHoldState(self.state, self.get_state_display())
        if self.expires_at <= now:
            return ShownHoldState(HoldState.EXPIRED, HoldState.EXPIRED.label)
        if warning_hours is None:
            warning_hours = SalesSettings.current().expiry_warning_hours
        if self.expires_at <= now + timedelta(hours=warning_hours):
            return ShownHoldState(ShownHoldState.ENDING, gettext("Ending soon"))
        return ShownHoldState(ShownHoldState.LIVE, HoldState.ACTIVE.label)


def with_shown_states(holds, now=None) -> list["Hold"]:
    """``holds`` as a list, each with ``shown`` (``Hold.shown_state``), at one settings query."""
    holds = list(holds)
    if holds:
        now = now or timezone.now()
        hours = SalesSettings.current().expiry_warning_hours
        for hold in holds:
            hold.shown = hold.shown_state(now, warning_hours=hours)
    return holds


@dataclass(frozen=True)
class ShownHoldState:
    """A hold's state as shown: ``key`` is ``live``, ``ending`` or a ``HoldState`` that ended
    it (``expired`` also for a hold that ran out but is not finalised yet)."""

    LIVE: ClassVar[str] = "live"
    ENDING: ClassVar[str] = "ending"

    key: str
    label: str

    @property
    def ended(self) -> bool:
        return self.key not in (self.LIVE, self.ENDING)

    def __str__(self) -> str:
        return str(self.label)


class HoldEventKind(models.TextChoices):
    CREATED = "created", _("Held")
    EXTENDED = "extended", _("Extended")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    CONVERTED = "converted", _("Turned into a deal")


class HoldRowQuerySet(ScopedQuerySet):
    """A hold's history: scoped by the hold's manager."""

    owner_field = "hold__manager"


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

    objects = HoldRowQuerySet.as_manager()

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


class QueueEntryQuerySet(ScopedQuerySet):
    owner_field = "manager"


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

    objects = QueueEntryQuerySet.as_manager()

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


# A stage's badge says how the sale goes, by what the stage counts as (the stylesheet's
# ``outcome-*``, which lead statuses share), never a unit status's colour: a registered deal
# is a success, not a unit sold.
STAGE_OUTCOME_CLASSES = {
    StageOutcome.IN_WORK: "outcome-work",
    StageOutcome.BOUGHT: "outcome-won",
    StageOutcome.REFUSED: "outcome-lost",
}


def _same_words(a: str, b: str) -> bool:
    """Whether two labels say the same thing: equal, or one is a part of the other (case,
    spaces and punctuation aside)."""

    def words(text: str) -> str:
        return "".join(ch for ch in text.casefold() if ch.isalnum())

    a, b = words(a), words(b)
    return bool(a and b) and (a in b or b in a)


def _reads_as_head(head: str) -> bool:
    """Whether the reader's language is the one the head is written in (Chinese characters
    for a Chinese reader): the head alone says it all."""
    language = (get_language() or "").lower()
    return language.startswith("zh") and any("\u4e00" <= ch <= "\u9fff" for ch in head)


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
    def counts_as_sale(self) -> bool:
        """A deal reaching this stage sells the unit: the sales reports count it from here
        (they read the status history's "sold", which this stage writes)."""
        return self.unit_status == UnitStatus.SOLD and not self.is_termination

    @property
    def label(self) -> str:
        """The name as people read it: a shipped name translated, a custom one as typed.
        A bilingual shipped name ("认购 · Subscription") keeps its first part and translates
        the second; the first part alone when the second would only repeat it in the reader's
        language (a Chinese reader reads "认购", never "认购 · 认购")."""
        head, sep, tail = self.name.rpartition(" · ")
        if not sep:
            return gettext(self.name)
        translated = gettext(tail)
        if _same_words(head, translated) or _reads_as_head(head):
            return head
        return f"{head}{sep}{translated}"

    @property
    def badge_class(self) -> str:
        """The stage's badge class (``outcome-…``) by what it counts as; a termination is
        lost whatever it counts as."""
        if self.is_termination:
            return "outcome-lost"
        return STAGE_OUTCOME_CLASSES.get(self.outcome, "outcome-work")


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
    """A promotion: a period, the units it applies to, a discount and a price floor.

    Without a ``condition`` a seller chooses it on the deal. With one it is applied by
    itself whenever a deal is priced (``services.deals.deal_pricing``) and the condition
    holds for a unit it covers — and taken off again when it stops holding."""

    class DiscountKind(models.TextChoices):
        PERCENT = "percent", _("Percent")
        AMOUNT = "amount", _("Fixed amount, ₽")
        PER_M2 = "per_m2", _("Price per m², ₽")

    class Condition(models.TextChoices):
        NONE = "", _("None: chosen on the deal")
        WITH_APARTMENT = "with_apartment", _("Bought with an apartment of the same project")
        EXTRA_UNIT = "extra_unit", _("A second (or further) unit in one deal")
        FULL_PAYMENT = "full_payment", _("Full payment")

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
    unit_kinds = models.JSONField(
        _("unit kinds"),
        default=list,
        blank=True,
        help_text=_('e.g. ["parking"]; empty = any.'),
    )
    condition = models.CharField(
        _("condition"), max_length=16, choices=Condition, default=Condition.NONE, blank=True
    )
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

    @property
    def is_automatic(self) -> bool:
        return bool(self.condition)

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


class DealCounter(models.Model):
    """The last deal number given in a year. Numbering locks this row, so deals opened at
    once on different units wait for each other's number instead of colliding on it."""

    year = models.PositiveSmallIntegerField(_("year"), primary_key=True)
    last = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("deal number counter")
        verbose_name_plural = _("deal number counters")

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class DealQuerySet(ScopedQuerySet):
    owner_field = "manager"
    agency_field = "agency"

    def waiting_for_a_step(self, now, *, stale_days: int):
        """Open deals that have not moved for ``stale_days`` and whose next step is the sales
        office's to take: their stage leads on to a stage that is not a termination, and the
        sale is still in work — or it is bought and its building completed (the handover is
        due). A bought deal in a building under construction waits for the building, and a
        deal at its flow's last stage waits for nothing. Annotates ``moved_at``."""
        onward = StageTransition.objects.filter(
            source=OuterRef("stage"), target__is_termination=False
        )
        return (
            self.filter(is_active=True, closed_at=None)
            .filter(Exists(onward))
            .filter(
                Q(stage__outcome=StageOutcome.IN_WORK)
                | Q(unit__building__readiness=Readiness.COMPLETED)
            )
            .annotate(moved_at=Max("events__at"))
            .filter(moved_at__lt=now - timedelta(days=stale_days))
        )


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
    # Derived from the schedule, the payments and the total (``owing``): from the day after
    # it the deal may be overdue. Kept by the receivers below.
    owes_from = models.DateField(_("owes from"), null=True, blank=True, editable=False)
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

    objects = DealQuerySet.as_manager()

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
            models.Index(
                fields=["owes_from"],
                condition=Q(is_active=True, owes_from__isnull=False),
                name="deal_owes_from",
            ),
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

    # --- what may be done next: one predicate per action, for the page and the service ----
    # ``*_blocker(user)`` returns the refusal (a ``DealError`` whose text the page shows and
    # the service raises) or ``None``; ``can_*(user)`` is its negation. The services call the
    # blocker again on the row they locked.

    def _closed_blocker(self):
        if not self.is_active:
            return DealClosed(gettext("Deal %(number)s is closed.") % {"number": self.number})
        return None

    def swap_blocker(self, user):
        """Move the deal to another unit: an open deal, before the unit counts as sold and
        before the BTI measurement; a seller (``sales.deal``)."""
        if blocker := self._closed_blocker():
            return blocker
        if not has_capability(user, SALES_DEAL):
            return ApprovalRequired(gettext("You may not change deals."))
        if self.stage.unit_status == UnitStatus.SOLD:
            return DealError(
                gettext("At “%(stage)s” the unit of a deal can no longer be swapped.")
                % {"stage": self.stage.label}
            )
        if self.bti_area is not None:
            return DealError(
                gettext("The BTI area is recorded: the unit can no longer be swapped.")
            )
        return None

    def discount_blocker(self, user):
        """Set the manual discount: an open deal at its first stage (before signing); a sales
        head (``sales.approve``)."""
        if blocker := self._closed_blocker():
            return blocker
        if not has_capability(user, SALES_APPROVE):
            return ApprovalRequired(gettext("Only a sales head may set a deal's discount."))
        if not self.stage.is_initial:
            return DealError(
                gettext("At “%(stage)s” the contract is signed: the price can no longer change.")
                % {"stage": self.stage.label},
                field="manual_discount",
            )
        return None

    def bti_blocker(self, user):
        """Record the BTI-measured area: an open deal, once; a seller (``sales.deal``)."""
        if blocker := self._closed_blocker():
            return blocker
        if not has_capability(user, SALES_DEAL):
            return ApprovalRequired(gettext("You may not change deals."))
        if self.bti_area is not None:
            return BtiRefused(
                gettext("The BTI area of this deal is already recorded (%(area)s m²).")
                % {"area": self.bti_area}
            )
        return None

    def termination_stage(self) -> "Stage | None":
        """The termination stage reachable from where the deal is, if any."""
        return (
            Stage.objects.filter(entries__source_id=self.stage_id, is_termination=True)
            .order_by("order")
            .first()
        )

    def terminate_blocker(self, user):
        """Terminate: an open deal whose flow has a termination from its stage; a sales head
        (``sales.approve``)."""
        if blocker := self._closed_blocker():
            return blocker
        if not has_capability(user, SALES_APPROVE):
            return ApprovalRequired(gettext("Only a sales head may terminate a deal."))
        if self.termination_stage() is None:
            return StageMoveRefused(
                gettext("A deal at “%(stage)s” cannot be terminated.") % {"stage": self.stage.label}
            )
        return None

    def units_blocker(self, user):
        """Add or remove units: an open deal at its first stage (the price and the schedule
        still follow), before the BTI measurement; a seller (``sales.deal``)."""
        if blocker := self._closed_blocker():
            return blocker
        if not has_capability(user, SALES_DEAL):
            return ApprovalRequired(gettext("You may not change deals."))
        if not self.stage.is_initial:
            return DealError(
                gettext("At “%(stage)s” the contract is signed: the units can no longer change.")
                % {"stage": self.stage.label},
                field="unit",
            )
        if self.bti_area is not None:
            return DealError(gettext("The BTI area is recorded: the units can no longer change."))
        return None

    def can_change_units(self, user) -> bool:
        return self.units_blocker(user) is None

    def current_units(self):
        """The deal's units now (removed ones left out), the main unit first."""
        return self.deal_units.filter(removed_at__isnull=True).select_related(
            "unit__building__project", "unit__section", "unit__floor"
        )

    def can_swap(self, user) -> bool:
        return self.swap_blocker(user) is None

    def can_discount(self, user) -> bool:
        return self.discount_blocker(user) is None

    def can_bti(self, user) -> bool:
        return self.bti_blocker(user) is None

    def can_terminate(self, user) -> bool:
        return self.terminate_blocker(user) is None


class DealRowQuerySet(ScopedQuerySet):
    """A deal's buyers and history: scoped by the deal's manager."""

    owner_field = "deal__manager"


class DealUnit(models.Model):
    """A unit of a deal, with its own figures: one deal may carry an apartment, parking
    spaces and storage rooms (one buyer set, one schedule). The deal's ``list_price``,
    discounts, ``price`` and ``area`` are the sums over its current units; ``Deal.unit`` is
    its main unit (the first one: the deal's lock, its events and its BTI).

    ``is_active``: the unit is taken by this deal now (the deal is open and the unit was not
    removed from it); the database keeps at most one such row per unit — the one-winner
    guarantee for every unit of a deal. ``removed_at`` is set when the unit left an open
    deal (removed or swapped); a closed deal keeps its units with ``is_active`` false.
    ``building`` is the unit's, given by whoever makes the row (``building_id=unit.building_id``).
    """

    deal = models.ForeignKey(
        Deal, models.CASCADE, related_name="deal_units", verbose_name=_("deal")
    )
    unit = models.ForeignKey(
        Unit, models.PROTECT, related_name="deal_units", verbose_name=_("unit")
    )
    # The unit's building, copied when the row is made (a unit never changes building): the
    # chessboard's payment marks find a building's deals without reading its units.
    building = models.ForeignKey(
        Building, models.PROTECT, related_name="+", verbose_name=_("building"), editable=False
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    list_price = models.DecimalField(_("list price, ₽"), **MONEY)
    promotion_discount = models.DecimalField(_("promotion discount, ₽"), **MONEY, default=0)
    manual_discount = models.DecimalField(_("manual discount, ₽"), **MONEY, default=0)
    price = models.DecimalField(_("price, ₽"), **MONEY)
    area = models.DecimalField(_("contract area, m²"), max_digits=8, decimal_places=2)
    is_active = models.BooleanField(_("taken by the deal"), default=True)
    added_at = models.DateTimeField(_("added"), default=timezone.now)
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)

    objects = DealRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("unit of a deal")
        verbose_name_plural = _("units of deals")
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit"], condition=Q(is_active=True), name="one_active_deal_unit_per_unit"
            ),
            models.UniqueConstraint(
                fields=["deal", "unit"],
                condition=Q(removed_at__isnull=True),
                name="deal_unit_once_per_deal",
            ),
            models.CheckConstraint(condition=Q(price__gt=0), name="deal_unit_price_positive"),
        ]
        indexes = [models.Index(fields=["unit", "added_at"], name="deal_unit_unit_added")]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.unit_id}"

    @property
    def discount(self) -> Decimal:
        return self.promotion_discount + self.manual_discount


class AppliedPromotion(models.Model):
    """A promotion's discount on one unit of a deal, as the pricing rule applied it: which
    promotion, which unit, how much. Rewritten whenever the deal is priced again (a unit
    added or removed, the payment method changed), so a condition that stopped holding
    leaves no row."""

    deal = models.ForeignKey(
        Deal, models.CASCADE, related_name="applied_promotions", verbose_name=_("deal")
    )
    deal_unit = models.ForeignKey(
        DealUnit, models.CASCADE, related_name="applied_promotions", verbose_name=_("unit")
    )
    promotion = models.ForeignKey(
        Promotion, models.PROTECT, related_name="applications", verbose_name=_("promotion")
    )
    amount = models.DecimalField(_("discount, ₽"), **MONEY)

    objects = DealRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("applied promotion")
        verbose_name_plural = _("applied promotions")
        ordering = ["deal_unit__order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["deal_unit", "promotion"], name="promotion_once_per_deal_unit"
            )
        ]

    def __str__(self) -> str:
        return f"{self.promotion} −{self.amount}"


class DealBuyer(models.Model):
    """A buyer on a deal, with a share (``share_numerator/share_denominator``)."""

    deal = models.ForeignKey(Deal, models.CASCADE, related_name="buyers", verbose_name=_("deal"))
    client = models.ForeignKey(
        Client, models.PROTECT, related_name="deal_parts", verbose_name=_("client")
    )
    share_numerator = models.PositiveIntegerField(_("share"), default=1)
    share_denominator = models.PositiveIntegerField(_("of"), default=1)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    objects = DealRowQuerySet.as_manager()

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
    UNIT_ADDED = "unit_added", _("Unit added")
    UNIT_REMOVED = "unit_removed", _("Unit removed")
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

    objects = DealRowQuerySet.as_manager()

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


class PaymentLineQuerySet(ScopedQuerySet):
    owner_field = "deal__manager"
    agency_field = "deal__agency"


class PaymentLine(models.Model):
    """A planned payment of a deal's schedule."""

    deal = models.ForeignKey(Deal, models.CASCADE, related_name="schedule", verbose_name=_("deal"))
    due_date = models.DateField(_("due"))
    amount = models.DecimalField(_("amount, ₽"), **MONEY)
    kind = models.CharField(_("kind"), max_length=16, choices=LineKind)
    payer = models.CharField(_("payer"), max_length=8, choices=Payer, default=Payer.BUYER)

    objects = PaymentLineQuerySet.as_manager()

    class Meta:
        verbose_name = _("planned payment")
        verbose_name_plural = _("payment schedule")
        ordering = ["due_date", "pk"]
        indexes = [models.Index(fields=["deal", "due_date"], name="payment_line_deal_due")]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="payment_line_not_zero")]

    def __str__(self) -> str:
        return f"{self.due_date} {self.amount}"


class PaymentQuerySet(ScopedQuerySet):
    owner_field = "deal__manager"
    agency_field = "deal__agency"


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

    objects = PaymentQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["received_on", "pk"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="payment_not_zero")]

    def __str__(self) -> str:
        return f"{self.received_on} {self.amount}"


# ``Deal.owes_from`` follows every write of what it is computed from, whichever door wrote it.
@receiver([post_save, post_delete], sender=Payment, dispatch_uid="deal-owing-payment")
@receiver([post_save, post_delete], sender=PaymentLine, dispatch_uid="deal-owing-line")
def _keep_owing(sender, instance, raw=False, **kwargs):
    if not raw:  # a fixture's rows carry their own
        owing.keep([instance.deal_id])


@receiver(post_save, sender=Deal, dispatch_uid="deal-owing-total")
def _keep_owing_of_deal(sender, instance, created, raw=False, update_fields=None, **kwargs):
    # A new deal has no schedule yet; a save of other fields leaves the total as it was.
    if raw or created:
        return
    if update_fields is None or {"price", "bti_adjustment", "owes_from"} & set(update_fields):
        owing.keep([instance.pk])
