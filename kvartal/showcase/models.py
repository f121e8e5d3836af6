"""The buyer's showcase: what the marketer publishes and on which terms, and what an
anonymous visitor (a first-party cookie id) saved, compared, viewed and asked for.

The visitor's rows change only in ``services``; the marketer's settings through their forms.
"""

import secrets
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kvartal.clients.models import Lead
from kvartal.core.uploads import UploadField
from kvartal.inventory.models import Project, Unit
from kvartal.sales.models import Hold

PERCENT = {"max_digits": 5, "decimal_places": 2}
RATE_VALIDATORS = [MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("60"))]
SHARE_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("99"))]


def new_token() -> str:
    return secrets.token_urlsafe(24)


# --- the marketer's settings ---------------------------------------------------------------


class PriceShown(models.TextChoices):
    LIST = "list", _("List price")
    PROMOTION = "promotion", _("Price with the best running promotion")


class ProjectShowcase(models.Model):
    """What the showcase shows of one project and at which price. A project without a row
    (or unpublished) is not on the showcase; units not for sale are never shown."""

    project = models.OneToOneField(
        Project, models.CASCADE, related_name="showcase", verbose_name=_("project")
    )
    is_published = models.BooleanField(_("published on the showcase"), default=False)
    price_shown = models.CharField(
        _("price shown"), max_length=16, choices=PriceShown, default=PriceShown.PROMOTION
    )
    show_taken = models.BooleanField(
        _("show booked and sold units on the chessboard"), default=True
    )
    online_booking = models.BooleanField(_("online booking"), default=True)
    booking_hours = models.PositiveSmallIntegerField(
        _("online booking term, hours"),
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(72)],
    )
    full_payment_discount = models.DecimalField(
        _("discount for full payment, %"),
        **PERCENT,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("50"))],
    )
    mortgage_rate = models.DecimalField(
        _("market mortgage rate, %"), **PERCENT, default=Decimal("18"), validators=RATE_VALIDATORS
    )
    headline = models.CharField(_("headline"), max_length=200, blank=True)
    photo = UploadField(_("photo"), upload_to="showcase/", blank=True)

    class Meta:
        verbose_name = _("project on the showcase")
        verbose_name_plural = _("projects on the showcase")

    def __str__(self) -> str:
        return str(self.project)


class ProgrammeKind(models.TextChoices):
    STATE = "state", _("State programme (the price stays)")
    DEVELOPER = "developer", _("Developer's subsidy (a higher subsidised price)")


class MortgageProgramme(models.Model):
    """A subsidised mortgage the showcase offers: a bank's rate for the whole term (state
    programmes) or for the first months (a developer's subsidy, which raises the price by
    the subsidy the developer pays the bank: ``calculators.subsidised_price``)."""

    name = models.CharField(_("name"), max_length=200)
    bank = models.CharField(_("bank"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=ProgrammeKind)
    rate = models.DecimalField(
        _("programme rate, %"),
        **PERCENT,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("60"))],
    )
    months = models.PositiveSmallIntegerField(
        _("subsidised months"),
        default=0,
        help_text=_("For a developer's subsidy: months at the programme rate; 0 = whole term."),
        validators=[MaxValueValidator(360)],
    )
    min_down_payment = models.DecimalField(
        _("lowest down payment, %"), **PERCENT, default=Decimal("20"), validators=SHARE_VALIDATORS
    )
    max_loan = models.DecimalField(
        _("largest loan, ₽"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    max_years = models.PositiveSmallIntegerField(
        _("longest term, years"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(35)],
    )
    conditions = models.TextField(_("conditions"), blank=True)
    projects = models.ManyToManyField(
        Project,
        blank=True,
        related_name="+",
        verbose_name=_("projects"),
        help_text=_("Empty = every project."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("mortgage programme")
        verbose_name_plural = _("mortgage programmes")
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.bank})"


class InstalmentPlan(models.Model):
    """The developer's instalment plan (рассрочка): a down payment, equal monthly payments
    and a mark-up on the price."""

    name = models.CharField(_("name"), max_length=200)
    down_payment = models.DecimalField(_("down payment, %"), **PERCENT, validators=SHARE_VALIDATORS)
    months = models.PositiveSmallIntegerField(
        _("months"), validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    markup = models.DecimalField(
        _("mark-up on the price, %"),
        **PERCENT,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("50"))],
    )
    projects = models.ManyToManyField(
        Project,
        blank=True,
        related_name="+",
        verbose_name=_("projects"),
        help_text=_("Empty = every project."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("instalment plan")
        verbose_name_plural = _("instalment plans")
        ordering = ["months", "name"]

    def __str__(self) -> str:
        return self.name


# --- the visitor ---------------------------------------------------------------------------


class Visitor(models.Model):
    """An anonymous visitor: the random id of a first-party cookie. ``share_token`` names
    their selection in a shared link (so sharing never reveals the cookie)."""

    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    share_token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    created_at = models.DateTimeField(_("first visit"), default=timezone.now)
    last_seen = models.DateTimeField(_("last visit"), default=timezone.now)
    # the UTM tags of the first page they landed on with some (never overwritten): a request
    # or a booking that carries none of its own is credited to them
    utm = models.JSONField(_("first-touch UTM tags"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("visitor")
        verbose_name_plural = _("visitors")

    def __str__(self) -> str:
        return _("Visitor #%(id)s") % {"id": self.pk}


class Favourite(models.Model):
    visitor = models.ForeignKey(Visitor, models.CASCADE, related_name="favourites")
    unit = models.ForeignKey(Unit, models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["visitor", "unit"], name="one_favourite_per_unit")
        ]

    def __str__(self) -> str:
        return f"{self.visitor_id} ★ {self.unit_id}"


class Compared(models.Model):
    visitor = models.ForeignKey(Visitor, models.CASCADE, related_name="compared")
    unit = models.ForeignKey(Unit, models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["visitor", "unit"], name="one_comparison_per_unit")
        ]

    def __str__(self) -> str:
        return f"{self.visitor_id} ⇄ {self.unit_id}"


class Viewed(models.Model):
    """A unit the visitor opened: how many times, first and last."""

    visitor = models.ForeignKey(Visitor, models.CASCADE, related_name="viewed")
    unit = models.ForeignKey(Unit, models.CASCADE, related_name="+")
    count = models.PositiveIntegerField(default=1)
    first_at = models.DateTimeField(default=timezone.now)
    last_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["visitor", "unit"], name="one_view_row")]

    def __str__(self) -> str:
        return f"{self.visitor_id} → {self.unit_id} ×{self.count}"


class SavedSearch(models.Model):
    visitor = models.ForeignKey(Visitor, models.CASCADE, related_name="searches")
    query = models.CharField(max_length=1000)
    title = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["visitor", "query"], name="one_saved_search")
        ]

    def __str__(self) -> str:
        return self.title


class RequestKind(models.TextChoices):
    CALLBACK = "callback", _("Call me back")
    VISIT = "visit", _("Book a visit")
    QUESTION = "question", _("Ask about the unit")
    BOOKING = "booking", _("Online booking")


class VisitorRequest(models.Model):
    """A request the visitor sent (a lead), with the consent they gave: 152-ФЗ wants the
    version and the text (its hash), the time and the channel of each consent."""

    visitor = models.ForeignKey(
        Visitor, models.SET_NULL, null=True, blank=True, related_name="requests"
    )
    lead = models.OneToOneField(Lead, models.CASCADE, related_name="showcase_request")
    kind = models.CharField(_("kind"), max_length=16, choices=RequestKind)
    consent_version = models.CharField(_("consent version"), max_length=20)
    consent_sha256 = models.CharField(_("consent text hash"), max_length=64)
    consent_at = models.DateTimeField(_("consent given"))
    variants = models.JSONField(_("experiment variants"), default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("showcase request")
        verbose_name_plural = _("showcase requests")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d}"


class PhoneCode(models.Model):
    """A one-time code sent to a phone before an online booking. Kept as a hash; used once;
    a few attempts; a short life."""

    visitor = models.ForeignKey(Visitor, models.CASCADE, related_name="+")
    unit = models.ForeignKey(Unit, models.CASCADE, related_name="+")
    phone = models.CharField(max_length=16)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.phone} {self.created_at:%Y-%m-%d %H:%M}"


class OnlineBooking(models.Model):
    """An online booking: the hold (kind "online") the hold service made and the lead it
    landed on a manager with."""

    visitor = models.ForeignKey(Visitor, models.SET_NULL, null=True, related_name="bookings")
    hold = models.OneToOneField(Hold, models.PROTECT, related_name="online_booking")
    lead = models.ForeignKey(Lead, models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.hold_id} {self.created_at:%Y-%m-%d %H:%M}"


# --- experiments ---------------------------------------------------------------------------


class ExperimentKind(models.TextChoices):
    UNIT_ORDER = "unit_order", _("Order of units in the catalogue (A: price, B: price per m²)")
    TERMS_FIRST = "terms_first", _("Terms shown first on a unit (A: mortgage, B: instalments)")


class Experiment(models.Model):
    """An A/B experiment on the showcase. Visitors are split stably by their id (a hash of
    the id and the experiment); at most one running experiment of each kind."""

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("what is tested"), max_length=16, choices=ExperimentKind)
    is_active = models.BooleanField(_("running"), default=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)

    class Meta:
        verbose_name = _("experiment")
        verbose_name_plural = _("experiments")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"], condition=Q(is_active=True), name="one_running_experiment_a_kind"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Exposure(models.Model):
    """A visitor saw a variant of an experiment (once per visitor)."""

    experiment = models.ForeignKey(Experiment, models.CASCADE, related_name="exposures")
    visitor = models.ForeignKey(Visitor, models.CASCADE, related_name="+")
    variant = models.CharField(max_length=1)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["experiment", "visitor"], name="one_exposure")
        ]

    def __str__(self) -> str:
        return f"{self.experiment_id}: {self.variant}"
