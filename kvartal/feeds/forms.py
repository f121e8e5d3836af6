from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kvartal.clients.normalize import normalize_phone
from kvartal.inventory.models import Section, Unit, UnitKind

from .models import Feed, FeedProject, Material
from .offers import TEMPLATE_FIELDS, template_unknown_fields


def _phone(value: str) -> str:
    phone = normalize_phone(value)
    if phone and not (phone.startswith("+7") and len(phone) == 12):
        raise ValidationError(_("Portals take a Russian number: +7 and ten digits."))
    return phone


class FeedForm(forms.ModelForm):
    class Meta:
        model = Feed
        fields = ["is_published", "contact_phone", "organization", "max_error_share", "channel"]

    def clean_contact_phone(self):
        return _phone(self.cleaned_data["contact_phone"])

    def clean_max_error_share(self):
        value = self.cleaned_data["max_error_share"]
        if not 0 <= value <= 100:
            raise ValidationError(_("A share between 0 and 100 %."))
        return value


class FeedProjectForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(
        label=_("Unit kinds"),
        choices=[
            (UnitKind.APARTMENT, UnitKind.APARTMENT.label),
            (UnitKind.PARKING, UnitKind.PARKING.label),
            (UnitKind.COMMERCIAL, UnitKind.COMMERCIAL.label),
        ],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Where the portal has a category for them; none ticked: apartments."),
    )
    excluded_codes = forms.CharField(
        label=_("Units left out"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Unit codes (1.12.3) or numbers, separated by commas or spaces."),
    )

    class Meta:
        model = FeedProject
        fields = [
            "is_published",
            "price_mode",
            "kinds",
            "complex_id",
            "contact_phone",
            "description_template",
            "excluded_sections",
        ]
        widgets = {
            "excluded_sections": forms.CheckboxSelectMultiple,
            "description_template": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.fields["excluded_sections"].queryset = Section.objects.filter(
            building__project=project
        ).select_related("building")
        self.fields["excluded_sections"].label_from_instance = lambda s: f"{s.building.name} · {s}"
        self.fields["description_template"].help_text = _(
            "Fields: %(fields)s. Empty: the default description."
        ) % {"fields": ", ".join(f"{{{name}}}" for name in TEMPLATE_FIELDS)}
        if self.instance.pk:
            self.initial["kinds"] = self.instance.kinds
            self.initial["excluded_codes"] = ", ".join(
                u.code for u in self.instance.excluded_units.all()
            )

    def clean_contact_phone(self):
        return _phone(self.cleaned_data["contact_phone"])

    def clean_description_template(self):
        template = self.cleaned_data["description_template"]
        unknown = template_unknown_fields(template)
        if unknown:
            raise ValidationError(
                _("Unknown field in the template: %(names)s."),
                params={"names": ", ".join(unknown)},
            )
        return template

    def clean_excluded_codes(self):
        tokens = [t for t in self.cleaned_data["excluded_codes"].replace(",", " ").split() if t]
        if not tokens:
            return []
        units = list(
            Unit.objects.filter(building__project=self.project).filter(
                models_q_code_or_number(tokens)
            )
        )
        found = {u.code for u in units} | {u.number for u in units}
        missing = [t for t in tokens if t not in found]
        if missing:
            raise ValidationError(
                _("No unit %(codes)s in this project."), params={"codes": ", ".join(missing)}
            )
        return units

    def save(self, commit=True):
        instance = super().save(commit=False)
        instance.kinds = self.cleaned_data["kinds"]
        return instance


def models_q_code_or_number(tokens):
    from django.db.models import Q

    return Q(code__in=tokens) | Q(number__in=tokens)


class BuildingFactsForm(forms.Form):
    """One building's ids and facts on one portal's feed page."""

    external_id = forms.CharField(label=_("Portal's building id"), required=False, max_length=64)
    material = forms.ChoiceField(label=_("Walls"), choices=Material.choices)
    latitude = forms.DecimalField(
        label=_("Latitude"),
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=-90,
        max_value=90,
    )
    longitude = forms.DecimalField(
        label=_("Longitude"),
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=-180,
        max_value=180,
    )
