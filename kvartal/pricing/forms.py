from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kvartal.core.forms import TableRows
from kvartal.core.widgets import DateInput, DateTimeField
from kvartal.inventory.models import Building, Section

from .models import BaseRate, Factor, PriceList, Rule, SalesPlan


class PriceListForm(forms.ModelForm):
    class Meta:
        model = PriceList
        fields = [
            "name",
            "building",
            "section",
            "step_from_floor",
            "step_mode",
            "step_value",
            "min_per_m2",
            "round_to",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = Building.objects.select_related("project")
        self.fields["section"].queryset = Section.objects.select_related("building")

    def clean(self):
        cleaned = super().clean()
        section, building = cleaned.get("section"), cleaned.get("building")
        if section and building and section.building_id != building.pk:
            self.add_error("section", _("This section belongs to another building."))
        return cleaned


class RateForm(forms.ModelForm):
    class Meta:
        model = BaseRate
        fields = ["kind", "rooms", "per_m2"]

    def clean_per_m2(self):
        value = self.cleaned_data["per_m2"]
        if value is not None and value <= 0:
            raise ValidationError(_("A base price per m² must be greater than zero."))
        return value


class FactorForm(forms.ModelForm):
    class Meta:
        model = Factor
        fields = ["kind", "value", "area_from", "area_to", "percent"]


class _Rows(TableRows, forms.BaseInlineFormSet):
    pass


RateFormSet = forms.inlineformset_factory(
    PriceList, BaseRate, form=RateForm, formset=_Rows, extra=2, can_delete=True
)
FactorFormSet = forms.inlineformset_factory(
    PriceList, Factor, form=FactorForm, formset=_Rows, extra=2, can_delete=True
)


class ApproveForm(forms.Form):
    effective_at = DateTimeField(
        label=_("Apply at"),
        required=False,
        help_text=_("Empty: at once."),
    )


class RejectForm(forms.Form):
    note = forms.CharField(label=_("Why"), max_length=500, required=False)


class SalesPlanForm(forms.ModelForm):
    class Meta:
        model = SalesPlan
        fields = ["project", "building", "unit_type", "month", "units", "area", "revenue"]
        widgets = {"month": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from .segments import UNIT_TYPE_CHOICES

        self.fields["unit_type"] = forms.ChoiceField(
            label=_("Unit type"), choices=[("", _("All types")), *UNIT_TYPE_CHOICES], required=False
        )

    def clean_month(self):
        month = self.cleaned_data["month"]
        return month.replace(day=1) if month else month


class RuleForm(forms.ModelForm):
    class Meta:
        model = Rule
        fields = [
            "name",
            "active",
            "project",
            "unit_type",
            "floor_from",
            "floor_to",
            "weeks",
            "fast_ratio",
            "low_stock_weeks",
            "raise_percent",
            "slow_ratio",
            "lower_percent",
            "monthly_cap_percent",
            "min_per_m2",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from .segments import UNIT_TYPE_CHOICES

        self.fields["unit_type"] = forms.ChoiceField(
            label=_("Unit type"),
            choices=[("", _("Each type separately")), *UNIT_TYPE_CHOICES],
            required=False,
        )

    def clean(self):
        cleaned = super().clean()
        for name in ("raise_percent", "lower_percent", "monthly_cap_percent"):
            value = cleaned.get(name)
            if value is not None and not 0 <= value <= 50:
                self.add_error(name, _("From 0 to 50 %."))
        fast, slow = cleaned.get("fast_ratio"), cleaned.get("slow_ratio")
        if fast is not None and slow is not None and slow >= fast:
            self.add_error("slow_ratio", _("The slow threshold must be below the fast one."))
        low, high = cleaned.get("floor_from"), cleaned.get("floor_to")
        if low is not None and high is not None and low > high:
            self.add_error("floor_to", _("Must not be less than the lower bound."))
        if cleaned.get("weeks") == 0:
            self.add_error("weeks", _("At least one week."))
        return cleaned
