from django import forms
from django.utils.translation import gettext_lazy as _

from kvartal.accounts.models import User
from kvartal.core.widgets import DateInput

from .models import Door, Kind


class AuditFilterForm(forms.Form):
    """The audit page's filters: who, which object, what kind, through which door (a page,
    the admin, the API, an import, a job, the showcase, the call centre, the agency cabinet),
    when."""

    actor = forms.ModelChoiceField(
        label=_("User"), queryset=User.objects.order_by("username"), required=False
    )
    object_type = forms.CharField(label=_("Object type"), max_length=80, required=False)
    object_id = forms.CharField(label=_("Object id"), max_length=64, required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("all")), *Kind.choices], required=False
    )
    door = forms.ChoiceField(
        label=_("Where from"), choices=[("", _("all")), *Door.choices], required=False
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The period ends before it starts."))
        return data

    def filter(self, rows):
        """``rows`` narrowed by the valid filters (all rows when the form is invalid: the
        errors are shown beside the fields)."""
        if not self.is_valid():
            return rows.none()
        data = self.cleaned_data
        if data["actor"]:
            rows = rows.filter(actor_id=data["actor"].pk)
        if data["object_type"]:
            rows = rows.filter(object_type=data["object_type"].strip().lower())
        if data["object_id"]:
            rows = rows.filter(object_id=data["object_id"].strip())
        if data["kind"]:
            rows = rows.filter(kind=data["kind"])
        if data["door"]:
            rows = rows.filter(door=data["door"])
        if data["date_from"]:
            rows = rows.filter(at__date__gte=data["date_from"])
        if data["date_to"]:
            rows = rows.filter(at__date__lte=data["date_to"])
        return rows
