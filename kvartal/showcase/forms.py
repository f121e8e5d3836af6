"""The showcase's forms: the buyer's filters, the calculator, requests and booking, and the
marketer's settings."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kvartal.inventory.models import Finishing
from kvartal.sales.models import SalesSettings

from .calculators import DOWN_TOO_HIGH, MAX_RATE, MIN_RATE
from .models import (
    Experiment,
    InstalmentPlan,
    MortgageProgramme,
    ProjectShowcase,
    RequestKind,
)
from .selectors import published_projects
from .services import online_booking_max_hours

ROOMS = [("0", _("Studio")), ("1", "1"), ("2", "2"), ("3", "3"), ("4", "4+")]
SORTS = {
    "price": ("price", "pk"),
    "-price": ("-price", "pk"),
    "area": ("total_area", "pk"),
    "-area": ("-total_area", "pk"),
    "price_m2": ("price_per_m2", "pk"),
    "floor": ("floor__index", "pk"),
    "completion": ("building__completion_date", "price", "pk"),
}
SORT_CHOICES = [
    ("price", _("Cheaper first")),
    ("-price", _("Dearer first")),
    ("area", _("Smaller first")),
    ("-area", _("Larger first")),
    ("price_m2", _("Lowest price per m²")),
    ("floor", _("Lower floors first")),
    ("completion", _("Earliest completion")),
]


# Prices and payments on the showcase are in whole roubles; Django's own message ("no more
# than 0 digits after the decimal point") says it in a way no buyer reads.
WHOLE_ROUBLES = {"max_decimal_places": _("Enter whole roubles, without kopecks.")}


def _money(label, *, min_value=0):
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=min_value,
        max_digits=14,
        decimal_places=0,
        error_messages=WHOLE_ROUBLES,
    )


def _area(label):
    return forms.DecimalField(
        label=label, required=False, min_value=0, max_digits=7, decimal_places=2
    )


class CatalogueForm(forms.Form):
    """The buyer's filters. Every field is optional; a reversed range is an error shown
    beside the field (and the list is then unfiltered by it)."""

    project = forms.ModelChoiceField(
        label=_("Project"), queryset=published_projects(), required=False, empty_label=_("Any")
    )
    rooms = forms.MultipleChoiceField(
        label=_("Rooms"), choices=ROOMS, required=False, widget=forms.CheckboxSelectMultiple
    )
    price_min = _money(_("Price from, ₽"))
    price_max = _money(_("Price to, ₽"))
    # No payment is 0 ₽ a month: a 0 is a slip, said beside the field, not an empty list.
    monthly_max = _money(_("Monthly payment up to, ₽"), min_value=1)
    area_min = _area(_("Area from, m²"))
    area_max = _area(_("Area to, m²"))
    floor_min = forms.IntegerField(
        label=_("Floor from"), required=False, min_value=-5, max_value=200
    )
    floor_max = forms.IntegerField(label=_("Floor to"), required=False, min_value=-5, max_value=200)
    completion_by = forms.IntegerField(
        label=_("Completed by (year)"), required=False, min_value=2000, max_value=2100
    )
    finishing = forms.ChoiceField(
        label=_("Finishing"), choices=[("", _("Any")), *Finishing.choices], required=False
    )
    sort = forms.ChoiceField(label=_("Sort"), choices=SORT_CHOICES, required=False)

    RANGES = (("price_min", "price_max"), ("area_min", "area_max"), ("floor_min", "floor_max"))

    def clean(self):
        cleaned = super().clean()
        for low, high in self.RANGES:
            a, b = cleaned.get(low), cleaned.get(high)
            if a is not None and b is not None and a > b:
                self.add_error(high, _("Must not be less than the lower bound."))
        return cleaned


class CalculatorForm(forms.Form):
    """The mortgage calculator's terms. Bounds are the calculators' own; out of them the
    field says why."""

    down_payment = forms.DecimalField(
        label=_("Down payment, ₽"),
        min_value=0,
        max_digits=14,
        decimal_places=0,
        error_messages=WHOLE_ROUBLES,
    )
    years = forms.IntegerField(label=_("Term, years"), min_value=1, max_value=35)
    rate = forms.DecimalField(
        label=_("Rate, % a year"),
        min_value=MIN_RATE,
        max_value=MAX_RATE,
        max_digits=5,
        decimal_places=2,
    )
    method = forms.ChoiceField(
        label=_("Payments"),
        choices=[("annuity", _("Equal")), ("differentiated", _("Decreasing"))],
        initial="annuity",
        required=False,
    )

    def __init__(self, *args, price: Decimal, **kwargs):
        super().__init__(*args, **kwargs)
        self.price = price

    def clean_down_payment(self):
        value = self.cleaned_data["down_payment"]
        if value >= self.price:
            raise ValidationError(DOWN_TOO_HIGH())
        return value


PHONE_ATTRS = {"autocomplete": "tel", "inputmode": "tel", "placeholder": "+7 900 000-00-00"}


class RequestForm(forms.Form):
    """A request from the showcase. ``website`` is the honeypot (hidden from people);
    ``started`` a signed moment the form was shown (the time check)."""

    kind = forms.ChoiceField(
        label=_("Request"),
        choices=[c for c in RequestKind.choices if c[0] != RequestKind.BOOKING],
        initial=RequestKind.CALLBACK,
    )
    name = forms.CharField(label=_("Your name"), max_length=200, required=False)
    phone = forms.CharField(
        label=_("Phone"), max_length=32, widget=forms.TextInput(attrs=PHONE_ATTRS)
    )
    message = forms.CharField(
        label=_("Message"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    consent = forms.BooleanField(
        label=_("I consent to the processing of my personal data"),
        error_messages={"required": _("Without your consent we cannot take the request.")},
    )
    website = forms.CharField(required=False, label=_("Leave this field empty"))
    started = forms.CharField(widget=forms.HiddenInput, required=False)


class BookingPhoneForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200)
    phone = forms.CharField(
        label=_("Phone"), max_length=32, widget=forms.TextInput(attrs=PHONE_ATTRS)
    )
    consent = forms.BooleanField(
        label=_("I consent to the processing of my personal data"),
        error_messages={"required": _("Without your consent we cannot take the request.")},
    )
    website = forms.CharField(required=False, label=_("Leave this field empty"))
    started = forms.CharField(widget=forms.HiddenInput, required=False)


class BookingCodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Code from the SMS"),
        regex=r"^\d{6}$",
        error_messages={"invalid": _("The code is six digits.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


# --- the marketer's ---------------------------------------------------------------------------


class ProjectShowcaseForm(forms.ModelForm):
    """What a project shows. The online booking term fits the hold rules of the sales
    settings (``services.online_booking_max_hours``): a longer one would be cut short."""

    class Meta:
        model = ProjectShowcase
        fields = [
            "is_published",
            "headline",
            "price_shown",
            "show_taken",
            "online_booking",
            "booking_hours",
            "full_payment_discount",
            "mortgage_rate",
            "photo",
        ]

    def clean_booking_hours(self):
        hours = self.cleaned_data["booking_hours"]
        sales = SalesSettings.current()
        limit = online_booking_max_hours(sales)
        if hours is not None and hours > limit:
            raise ValidationError(
                _(
                    "An online booking may last at most %(hours)s hours: the sales settings "
                    "let a manager hold a unit for at most %(days)s days."
                ),
                params={"hours": limit, "days": limit // 24},
            )
        return hours


class MortgageProgrammeForm(forms.ModelForm):
    class Meta:
        model = MortgageProgramme
        fields = [
            "name",
            "bank",
            "kind",
            "rate",
            "months",
            "min_down_payment",
            "max_loan",
            "max_years",
            "conditions",
            "projects",
            "is_active",
            "order",
        ]
        widgets = {"projects": forms.CheckboxSelectMultiple}


class InstalmentPlanForm(forms.ModelForm):
    class Meta:
        model = InstalmentPlan
        fields = ["name", "down_payment", "months", "markup", "projects", "is_active"]
        widgets = {"projects": forms.CheckboxSelectMultiple}


class ExperimentForm(forms.ModelForm):
    class Meta:
        model = Experiment
        fields = ["name", "kind", "is_active"]
