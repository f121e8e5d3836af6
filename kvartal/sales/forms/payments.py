"""Forms of the cashier's desk and the schedule editor. They validate input; the payment
services decide and write."""

from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kvartal.core.money import money_text
from kvartal.core.widgets import DateInput

from ..models import LineKind, Payer, PaymentLine, PaymentMethod
from ..selectors import payment_states


class MoneyField(forms.DecimalField):
    """Roubles as people type them: ``1 500 000,50`` reads as 1500000.50."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(**kwargs)
        self.widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def to_python(self, value):
        if isinstance(value, str):
            value = value.replace(" ", "").replace("\xa0", "").replace(",", ".")
        return super().to_python(value)


class PaymentForm(forms.Form):
    amount = MoneyField(label=_("Amount, ₽"))
    received_on = forms.DateField(label=_("Received on"), widget=DateInput())
    line = forms.ModelChoiceField(
        label=_("Against the planned payment"),
        queryset=PaymentLine.objects.none(),
        required=False,
        empty_label=_("The earliest unpaid ones"),
    )
    document = forms.CharField(label=_("Document number"), max_length=64, required=False)
    channel = forms.CharField(
        label=_("Paid to"),
        max_length=64,
        required=False,
        help_text=_("E.g. escrow account, cash desk, bank transfer."),
    )

    def __init__(self, *args, deal, **kwargs):
        kwargs.setdefault("initial", {"received_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        field = self.fields["line"]
        # Any line of the deal is accepted, so that one paid meanwhile gets the payment
        # service's refusal; only those with something left to pay are offered.
        field.queryset = deal.schedule.all()
        lines = payment_states({deal.pk: deal.total_due})[deal.pk].lines
        field.choices = [("", field.empty_label)] + [
            (s.line.pk, self._line_label(s)) for s in lines if s.remaining > 0
        ]

    @staticmethod
    def _line_label(state) -> str:
        """A planned payment as the cashier picks it: due date, kind, what is left to pay."""
        line = state.line
        text = f"{date_format(line.due_date, gettext('d.m.Y'))} · {line.get_kind_display()} · "
        if state.remaining == line.amount:
            return text + money_text(line.amount)
        return text + gettext("%(left)s left of %(amount)s") % {
            "left": money_text(state.remaining),
            "amount": money_text(line.amount),
        }


class ScheduleForm(forms.Form):
    payment_method = forms.ChoiceField(label=_("Payment method"), choices=PaymentMethod.choices)
    first_due = forms.DateField(label=_("First payment due"), widget=DateInput(), required=False)
    down_payment = forms.CharField(
        label=_("Down payment"),
        max_length=20,
        required=False,
        help_text=_("An amount in roubles or a percent, e.g. 20%. Default 20%."),
    )
    months = forms.IntegerField(
        label=_("Months of instalments"), min_value=1, max_value=360, initial=12
    )


class LineForm(forms.Form):
    line = forms.IntegerField(widget=forms.HiddenInput, required=False)
    due_date = forms.DateField(label=_("Due"), widget=DateInput())
    amount = MoneyField(label=_("Amount, ₽"))
    kind = forms.ChoiceField(label=_("Kind"), choices=LineKind.choices)
    payer = forms.ChoiceField(label=_("Payer"), choices=Payer.choices, initial=Payer.BUYER)
