"""Agencies: their terms and agents, the projects opened to partners, client fixations
(фиксация / 报备) with their protection window, disputes; commissions (``commissions``).

A fixation is the agency's claim on a phone number for one project: the first valid one wins
for the project's protection window. Every change happens in ``services``; fixations and
disputes keep an append-only trail (``FixationEvent``).
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kvartal.accounts.scoping import ScopedQuerySet
from kvartal.clients.models import Agency, Client
from kvartal.core.models import SettingsRow
from kvartal.inventory.models import Project

USER = settings.AUTH_USER_MODEL
MONEY = {"max_digits": 14, "decimal_places": 2}


class AgencySettings(SettingsRow):
    """The partner programme's rules (one row; ``AgencySettings.current()``)."""

    hold_days = models.PositiveSmallIntegerField(
        _("hold an agent may request, days"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
    )

    class Meta:
        verbose_name = _("partner programme settings")
        verbose_name_plural = _("partner programme settings")

    def __str__(self) -> str:
        return str(_("Partner programme settings"))


class AgencyStatus(models.TextChoices):
    ACTIVE = "active", _("Working")
    SUSPENDED = "suspended", _("Suspended")
    ENDED = "ended", _("Contract ended")


class AgencyProfile(models.Model):
    """An agency's legal details, contract and status (the agency itself is
    ``clients.Agency``, which deals name). ``curator``: the developer's manager responsible
    for the agency's holds and deals."""

    agency = models.OneToOneField(
        Agency, models.CASCADE, related_name="profile", verbose_name=_("agency")
    )
    legal_name = models.CharField(_("legal name"), max_length=300, blank=True)
    kpp = models.CharField(_("KPP"), max_length=9, blank=True)
    ogrn = models.CharField(_("OGRN"), max_length=15, blank=True)
    legal_address = models.CharField(_("legal address"), max_length=300, blank=True)
    bank_details = models.TextField(_("bank details"), blank=True)
    contract_number = models.CharField(_("contract number"), max_length=64, blank=True)
    contract_date = models.DateField(_("contract date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=AgencyStatus, default=AgencyStatus.ACTIVE
    )
    curator = models.ForeignKey(
        USER,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("curator (developer's manager)"),
    )

    class Meta:
        verbose_name = _("agency terms")
        verbose_name_plural = _("agency terms")

    def __str__(self) -> str:
        return str(self.agency)


class Agent(models.Model):
    """A user of the role "agency partner" working for one agency."""

    user = models.OneToOneField(
        USER, models.CASCADE, related_name="agency_membership", verbose_name=_("user")
    )
    agency = models.ForeignKey(
        Agency, models.PROTECT, related_name="agents", verbose_name=_("agency")
    )

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")

    def __str__(self) -> str:
        return f"{self.user} ({self.agency})"


class PriceMode(models.TextChoices):
    PUBLIC = "public", _("Public prices")
    PARTNER = "partner", _("Partner prices (public less a discount)")


class PartnerProject(models.Model):
    """A project as the partner programme sees it: opened to agents or not, which prices they
    see, and the protection window of a fixation there."""

    project = models.OneToOneField(
        Project, models.CASCADE, related_name="partner_terms", verbose_name=_("project")
    )
    is_open = models.BooleanField(_("open to partners"), default=True)
    price_mode = models.CharField(
        _("prices shown"), max_length=8, choices=PriceMode, default=PriceMode.PUBLIC
    )
    partner_discount_percent = models.DecimalField(
        _("partner discount, %"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(50))],
    )
    protection_days = models.PositiveSmallIntegerField(
        _("protection window, days"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    extension_days = models.PositiveSmallIntegerField(
        _("a visit or hold extends it by, days"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )

    class Meta:
        verbose_name = _("project for partners")
        verbose_name_plural = _("projects for partners")

    def __str__(self) -> str:
        return str(self.project)

    def partner_price(self, price: Decimal) -> Decimal:
        """The price an agent sees: public, or public less the partner discount (kopecks)."""
        if self.price_mode == PriceMode.PUBLIC or not self.partner_discount_percent:
            return price
        cut = (price * self.partner_discount_percent / 100).quantize(Decimal("0.01"))
        return price - cut


class FixationState(models.TextChoices):
    ACTIVE = "active", _("Protected")
    EXPIRED = "expired", _("Window ended")
    LOST = "lost", _("Lost in a dispute")


class FixationQuerySet(ScopedQuerySet):
    """On the developer's side a fixation is the agency's curator's (as the fixed client is):
    a manager sees the fixations of the agencies they curate, a sales head also their team's
    and those of agencies nobody curates; an agent sees their agency's."""

    owner_field = "agency__profile__curator"
    agency_field = "agency"


class Fixation(models.Model):
    """An agency's claim on a client's phone in one project, protected until ``expires_at``.

    Active means ``state == active`` and ``expires_at`` in the future; one that ran out is
    finalised (``expired``) by the next fixation of the phone. The database keeps at most one
    active fixation per phone and project.
    """

    agency = models.ForeignKey(
        Agency, models.PROTECT, related_name="fixations", verbose_name=_("agency")
    )
    agent = models.ForeignKey(USER, models.PROTECT, related_name="+", verbose_name=_("agent"))
    project = models.ForeignKey(
        Project, models.PROTECT, related_name="+", verbose_name=_("project")
    )
    client = models.ForeignKey(
        Client,
        models.PROTECT,
        related_name="agency_fixations",
        verbose_name=_("client"),
    )
    name = models.CharField(_("client's name"), max_length=200)
    phone = models.CharField(_("phone"), max_length=32)
    phone_normalized = models.CharField(max_length=16, editable=False)
    created_at = models.DateTimeField(_("fixed"), default=timezone.now)
    expires_at = models.DateTimeField(_("protected until"))
    state = models.CharField(
        _("state"), max_length=8, choices=FixationState, default=FixationState.ACTIVE
    )

    objects = FixationQuerySet.as_manager()

    class Meta:
        verbose_name = _("client fixation")
        verbose_name_plural = _("client fixations")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "phone_normalized"],
                condition=Q(state="active"),
                name="one_active_fixation_per_phone_and_project",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="fixation_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["phone_normalized", "state"], name="fixation_phone")]

    def __str__(self) -> str:
        return f"{self.name} · {self.project}"

    def is_live(self, now=None) -> bool:
        return self.state == FixationState.ACTIVE and self.expires_at > (now or timezone.now())


class FixationEventKind(models.TextChoices):
    CREATED = "created", _("Fixed")
    EXTENDED = "extended", _("Window extended")
    EXPIRED = "expired", _("Window ended")
    DISPUTED = "disputed", _("Dispute raised")
    UPHELD = "upheld", _("Dispute decided for the claimant")
    REJECTED = "rejected", _("Dispute rejected")
    LOST = "lost", _("Lost in a dispute")


class FixationEvent(models.Model):
    """Append-only trail of a fixation."""

    fixation = models.ForeignKey(
        Fixation, models.CASCADE, related_name="events", verbose_name=_("fixation")
    )
    at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("who")
    )
    kind = models.CharField(_("event"), max_length=16, choices=FixationEventKind)
    old_expires_at = models.DateTimeField(_("was until"), null=True, blank=True)
    new_expires_at = models.DateTimeField(_("now until"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("fixation event")
        verbose_name_plural = _("fixation events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class DisputeState(models.TextChoices):
    OPEN = "open", _("Open")
    UPHELD = "upheld", _("Decided for the claimant")
    REJECTED = "rejected", _("Rejected")


class DisputeQuerySet(ScopedQuerySet):
    """A dispute is the claimant agency's curator's (see ``FixationQuerySet``)."""

    owner_field = "claimant__profile__curator"
    agency_field = "claimant"


class Dispute(models.Model):
    """An agency's claim that a phone fixed by someone else (another agency, or the developer
    itself) is its client, with evidence; the sales head decides, the trail stays."""

    claimant = models.ForeignKey(
        Agency, models.PROTECT, related_name="disputes", verbose_name=_("claimant")
    )
    project = models.ForeignKey(
        Project, models.PROTECT, related_name="+", verbose_name=_("project")
    )
    phone_normalized = models.CharField(_("phone"), max_length=16)
    name = models.CharField(_("client's name"), max_length=200)
    fixation = models.ForeignKey(
        Fixation,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="disputes",
        verbose_name=_("disputed fixation"),
    )
    evidence = models.TextField(_("evidence"))
    raised_by = models.ForeignKey(
        USER, models.PROTECT, related_name="+", verbose_name=_("raised by")
    )
    raised_at = models.DateTimeField(_("raised"), default=timezone.now)
    state = models.CharField(
        _("state"), max_length=8, choices=DisputeState, default=DisputeState.OPEN
    )
    decided_by = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("decided by")
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision = models.CharField(_("decision"), max_length=500, blank=True)
    result = models.ForeignKey(
        Fixation,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("fixation given to the claimant"),
    )

    objects = DisputeQuerySet.as_manager()

    class Meta:
        verbose_name = _("fixation dispute")
        verbose_name_plural = _("fixation disputes")
        ordering = ["-raised_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.claimant} · {self.name}"


# --- commissions ----------------------------------------------------------------------------


class CommissionKind(models.TextChoices):
    PERCENT = "percent", _("Percent of the deal price")
    FIXED = "fixed", _("Fixed amount, ₽")
    PER_M2 = "per_m2", _("Per m², ₽")


class ReleaseAt(models.TextChoices):
    """The stage requirement of the deal flow whose stage releases the hold-back."""

    REGISTRATION = "registration", _("Registration")
    ACT = "act", _("Handover")


class CommissionRule(models.Model):
    """What an agency earns on a deal: by agency, project and unit kind (blank = any; the most
    specific active rule wins), a %, a fixed amount or an amount per m², or by the tiers of the
    agency's deals opened in the deal's quarter. ``holdback_percent`` of each accrual is held
    back until the deal reaches the stage ``release_at`` names."""

    agency = models.ForeignKey(
        Agency, models.CASCADE, related_name="commission_rules", verbose_name=_("agency")
    )
    project = models.ForeignKey(
        Project,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("project"),
    )
    unit_kind = models.CharField(_("unit kind"), max_length=16, blank=True)
    kind = models.CharField(
        _("commission"), max_length=8, choices=CommissionKind, default=CommissionKind.PERCENT
    )
    value = models.DecimalField(
        _("value"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))]
    )
    holdback_percent = models.DecimalField(
        _("held back, %"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    release_at = models.CharField(
        _("hold-back released at"),
        max_length=16,
        choices=ReleaseAt,
        default=ReleaseAt.REGISTRATION,
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("commission rule")
        verbose_name_plural = _("commission rules")
        ordering = ["agency", "project", "unit_kind", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__lt=100), name="commission_percent_lt_100"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agency} · {self.get_kind_display()} {self.value}"


class CommissionTier(models.Model):
    """The value of a rule when the agency has opened ``from_count`` … ``to_count`` deals
    (inclusive; no upper bound when empty) under it in the deal's calendar quarter."""

    rule = models.ForeignKey(
        CommissionRule, models.CASCADE, related_name="tiers", verbose_name=_("rule")
    )
    from_count = models.PositiveIntegerField(_("from, deals"), validators=[MinValueValidator(1)])
    to_count = models.PositiveIntegerField(_("to, deals"), null=True, blank=True)
    value = models.DecimalField(_("value"), **MONEY)

    class Meta:
        verbose_name = _("volume tier")
        verbose_name_plural = _("volume tiers")
        ordering = ["rule", "from_count"]

    def __str__(self) -> str:
        return f"{self.from_count}–{self.to_count or '∞'}: {self.value}"


class ManagerCommissionRule(models.Model):
    """A manager's share of the money received on their deals: ``percent``, and
    ``percent_over_plan`` for what they bring in beyond ``plan`` in a calendar month (seed 002).
    ``manager`` empty: every manager without a rule of their own."""

    manager = models.OneToOneField(
        USER, models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("manager")
    )
    percent = models.DecimalField(
        _("share of the money received, %"), max_digits=5, decimal_places=2
    )
    plan = models.DecimalField(_("monthly plan, ₽"), **MONEY, null=True, blank=True)
    percent_over_plan = models.DecimalField(
        _("share beyond the plan, %"), max_digits=5, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("manager's commission")
        verbose_name_plural = _("managers' commissions")

    def __str__(self) -> str:
        return f"{self.manager or '*'} · {self.percent} %"


class DealCommission(models.Model):
    """An agency's commission on one deal, fixed when the first money arrives."""

    deal = models.OneToOneField(
        "sales.Deal", models.PROTECT, related_name="agency_commission", verbose_name=_("deal")
    )
    agency = models.ForeignKey(Agency, models.PROTECT, related_name="+", verbose_name=_("agency"))
    rule = models.ForeignKey(
        CommissionRule, models.PROTECT, related_name="+", verbose_name=_("rule")
    )
    total = models.DecimalField(_("commission on the deal, ₽"), **MONEY)
    holdback_percent = models.DecimalField(_("held back, %"), max_digits=5, decimal_places=2)
    release_at = models.CharField(_("hold-back released at"), max_length=16, choices=ReleaseAt)
    released = models.BooleanField(_("hold-back released"), default=False)
    ended = models.BooleanField(_("deal terminated"), default=False)

    class Meta:
        verbose_name = _("deal commission")
        verbose_name_plural = _("deal commissions")

    def __str__(self) -> str:
        return f"{self.deal} · {self.total}"


class EntryKind(models.TextChoices):
    ACCRUAL = "accrual", _("Accrued")
    HOLDBACK = "holdback", _("Held back")
    RELEASE = "release", _("Hold-back released")
    REVERSAL = "reversal", _("Reversed (deal terminated)")
    CLAWBACK = "clawback", _("Clawback of paid commission")


class Bucket(models.TextChoices):
    PAYABLE = "payable", _("Payable")
    HELD = "held", _("Held back")


class Statement(models.Model):
    """A settlement of an agency's or a manager's payable entries up to ``date_to``."""

    agency = models.ForeignKey(
        Agency, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("agency")
    )
    manager = models.ForeignKey(
        USER, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("manager")
    )
    date_from = models.DateField(_("from"))
    date_to = models.DateField(_("to"))
    accrued = models.DecimalField(_("accrued in the period, ₽"), **MONEY)
    held_back = models.DecimalField(_("held back at the end, ₽"), **MONEY)
    payable = models.DecimalField(_("payable, ₽"), **MONEY)
    created_at = models.DateTimeField(_("made"), default=timezone.now)
    created_by = models.ForeignKey(
        USER, models.SET_NULL, null=True, related_name="+", verbose_name=_("made by")
    )
    paid_on = models.DateField(_("paid"), null=True, blank=True)
    paid_document = models.CharField(_("payment document"), max_length=64, blank=True)
    paid_by = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("paid by")
    )

    class Meta:
        verbose_name = _("commission statement")
        verbose_name_plural = _("commission statements")
        ordering = ["-date_to", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(agency__isnull=False, manager__isnull=True)
                | Q(agency__isnull=True, manager__isnull=False),
                name="statement_for_agency_or_manager",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agency or self.manager} {self.date_from}–{self.date_to}"

    @property
    def beneficiary(self):
        return self.agency or self.manager


class CommissionEntry(models.Model):
    """Append-only ledger of commissions: an agency's or a manager's, per deal, in kopecks.
    A row is never changed except to be put on a statement."""

    agency = models.ForeignKey(
        Agency, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("agency")
    )
    manager = models.ForeignKey(
        USER, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("manager")
    )
    deal = models.ForeignKey("sales.Deal", models.PROTECT, related_name="+", verbose_name=_("deal"))
    payment = models.ForeignKey(
        "sales.Payment",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("payment"),
    )
    kind = models.CharField(_("entry"), max_length=10, choices=EntryKind)
    bucket = models.CharField(_("bucket"), max_length=8, choices=Bucket)
    amount = models.DecimalField(_("amount, ₽"), **MONEY)
    booked_on = models.DateField(_("booked"))
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)
    statement = models.ForeignKey(
        Statement,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
        verbose_name=_("statement"),
    )

    class Meta:
        verbose_name = _("commission entry")
        verbose_name_plural = _("commission entries")
        ordering = ["booked_on", "pk"]
        indexes = [models.Index(fields=["deal", "bucket"], name="commission_entry_deal")]
        constraints = [
            models.CheckConstraint(
                condition=Q(agency__isnull=False, manager__isnull=True)
                | Q(agency__isnull=True, manager__isnull=False),
                name="entry_for_agency_or_manager",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"
