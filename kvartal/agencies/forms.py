from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from kvartal.accounts.models import Role, User
from kvartal.clients.models import Agency
from kvartal.core.widgets import DateInput
from kvartal.inventory.models import Project, Unit, UnitKind

from .models import CommissionKind, ReleaseAt


class FixationForm(forms.Form):
    project = forms.ModelChoiceField(Project.objects.none(), label=_("Project"))
    name = forms.CharField(label=_("Client's name"), max_length=200)
    phone = forms.CharField(label=_("Phone"), max_length=32)

    def __init__(self, *args, projects=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = projects if projects is not None else Project.objects


class DisputeForm(FixationForm):
    evidence = forms.CharField(
        label=_("Evidence"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("When and how you worked with the client: calls, showings, messages."),
    )


def hold_unit_label(unit: Unit) -> str:
    """A unit in the hold request's list: its building, then the unit ("Корпус 2 · Квартира
    11"); the list is of one project, the fixation's."""
    return f"{unit.building.name} · {unit}"


class HoldRequestForm(forms.Form):
    """``units``: what the choice accepts (every unit opened to partners: the hold service
    refuses a taken one with the availability rule's message, the same at every door);
    ``offered``: what the list shows (the units on sale now)."""

    unit = forms.ModelChoiceField(Unit.objects.none(), label=_("Unit"))

    def __init__(self, *args, units=None, offered=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["unit"]
        field.queryset = units if units is not None else Unit.objects.none()
        field.label_from_instance = hold_unit_label
        if offered is not None:
            field.choices = [
                ("", field.empty_label),
                *((unit.pk, hold_unit_label(unit)) for unit in offered),
            ]


class DecisionForm(forms.Form):
    upheld = forms.TypedChoiceField(
        label=_("Decision"),
        choices=[("1", _("For the claimant")), ("0", _("Reject"))],
        coerce=lambda v: v == "1",
    )
    decision = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


class ExtendForm(forms.Form):
    reason = forms.CharField(label=_("Reason (a visit, a showing)"), max_length=300)


class RuleForm(forms.Form):
    agency = forms.ModelChoiceField(Agency.objects.order_by("name"), label=_("Agency"))
    project = forms.ModelChoiceField(
        Project.objects.order_by("name"),
        label=_("Project"),
        required=False,
        empty_label=_("Any project"),
    )
    unit_kind = forms.ChoiceField(
        label=_("Unit kind"), choices=[("", _("Any kind")), *UnitKind.choices], required=False
    )
    kind = forms.ChoiceField(label=_("Commission"), choices=CommissionKind.choices)
    value = forms.DecimalField(
        label=_("Value"), max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    holdback_percent = forms.DecimalField(
        label=_("Held back, %"),
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        initial=0,
    )
    release_at = forms.ChoiceField(label=_("Hold-back released at"), choices=ReleaseAt.choices)
    tiers = forms.CharField(
        label=_("Volume tiers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One per line: deals in the quarter and the value, e.g. “1-5: 3.0”, “6-: 3.5”."
        ),
    )


class StatementForm(forms.Form):
    agency = forms.ModelChoiceField(
        Agency.objects.order_by("name"), label=_("Agency"), required=False
    )
    manager = forms.ModelChoiceField(
        User.objects.filter(role__in=[Role.SALES_MANAGER, Role.SALES_HEAD]),
        label=_("Manager"),
        required=False,
    )
    date_from = forms.DateField(label=_("From"), widget=DateInput())
    date_to = forms.DateField(label=_("To"), widget=DateInput())


class PayForm(forms.Form):
    paid_on = forms.DateField(label=_("Paid on"), widget=DateInput())
    document = forms.CharField(label=_("Payment document"), max_length=64)
