"""Filters of the sales unit search."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kvartal.inventory.models import UnitStatus

from .payments import DateInput


class UnitSearchForm(forms.Form):
    buyer = forms.CharField(label=_("Buyer's surname or phone"), max_length=100, required=False)
    sold_from = forms.DateField(label=_("Sold from"), widget=DateInput(), required=False)
    sold_to = forms.DateField(label=_("Sold until"), widget=DateInput(), required=False)
    changed_from = forms.DateField(
        label=_("Status changed from"), widget=DateInput(), required=False
    )
    changed_to = forms.DateField(
        label=_("Status changed until"), widget=DateInput(), required=False
    )
    status = forms.ChoiceField(
        label=_("Changed to status"),
        choices=[("", _("any"))] + list(UnitStatus.choices),
        required=False,
    )

    def clean(self):
        data = super().clean()
        for start, end in (("sold_from", "sold_to"), ("changed_from", "changed_to")):
            if data.get(start) and data.get(end) and data[end] < data[start]:
                self.add_error(end, ValidationError(_("The period ends before it starts.")))
        return data

    @property
    def has_filters(self) -> bool:
        return self.is_bound and any(self.cleaned_data.get(k) for k in self.fields)
