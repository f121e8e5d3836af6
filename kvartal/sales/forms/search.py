"""Filters of the sales unit search."""

from datetime import date

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

    # Days the search can count with (a day's end is the next day's start; the calendar ends
    # in year 9999 and an aware year 1 cannot be stored).
    FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)

    def clean(self):
        data = super().clean()
        for name in ("sold_from", "sold_to", "changed_from", "changed_to"):
            day = data.get(name)
            if day is not None and not self.FIRST_DAY <= day <= self.LAST_DAY:
                self.add_error(
                    name,
                    ValidationError(
                        _("Choose a day from %(first)s to %(last)s.")
                        % {"first": self.FIRST_DAY.year, "last": self.LAST_DAY.year}
                    ),
                )
                data.pop(name, None)
        for start, end in (("sold_from", "sold_to"), ("changed_from", "changed_to")):
            if data.get(start) and data.get(end) and data[end] < data[start]:
                self.add_error(end, ValidationError(_("The period ends before it starts.")))
        return data

    @property
    def has_filters(self) -> bool:
        return self.is_bound and any(self.cleaned_data.get(k) for k in self.fields)
