"""The promotion form: figures, period and what the promotion covers. The rules of the figures
are the service's (``promotion_check``), shown here next to their fields."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kvartal.inventory.models import Building, Project, Unit, UnitKind

from ..models import Promotion
from ..services.promotions import parse_rooms, promotion_check, resolve_units
from .payments import DateInput, MoneyField


class PromotionForm(forms.ModelForm):
    value = MoneyField(
        label=_("Discount value"),
        help_text=_("Percent, roubles off, or the new price per m², as the kind says."),
    )
    min_price = MoneyField(
        label=_("Minimum price, ₽"),
        required=False,
        help_text=_("The price never goes below this with the promotion."),
    )
    projects = forms.ModelMultipleChoiceField(
        label=_("Projects"),
        queryset=Project.objects.order_by("name"),
        required=False,
        help_text=_("Empty: any project."),
    )
    buildings = forms.ModelMultipleChoiceField(
        label=_("Buildings"),
        queryset=Building.objects.select_related("project").order_by("project__name", "name"),
        required=False,
        help_text=_("Empty: any building."),
    )
    room_counts = forms.CharField(
        label=_("Rooms"),
        required=False,
        help_text=_("Room counts, e.g. 0, 1 (0 = studio). Empty: any."),
    )
    kinds = forms.MultipleChoiceField(
        label=_("Unit kinds"),
        choices=UnitKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Empty: any kind (e.g. tick “Parking space” for parking with an apartment)."),
    )
    keep_units = forms.ModelMultipleChoiceField(
        label=_("Units in the promotion"),
        queryset=Unit.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Untick a unit to take it out."),
    )
    unit_list = forms.CharField(
        label=_("Add units by number or code"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("E.g. 12, 15, 1.5.3. Empty list of units: every unit that fits the above."),
    )

    class Meta:
        model = Promotion
        fields = [
            "name",
            "description",
            "starts_on",
            "ends_on",
            "is_active",
            "discount_kind",
            "value",
            "min_price",
            "condition",
        ]
        widgets = {
            "starts_on": DateInput(),
            "ends_on": DateInput(),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        promotion = self.instance
        self.fields["buildings"].label_from_instance = lambda b: f"{b.project.name} · {b.name}"
        self.fields["condition"].help_text = _(
            "With a condition the promotion is not chosen on a deal: it applies by itself to "
            "every unit it covers while the condition holds, and goes when it stops holding."
        )
        if promotion.pk:
            self.fields["keep_units"].queryset = promotion.units.select_related("building")
            self.fields["keep_units"].label_from_instance = lambda u: (
                f"{u.building.name} · {u} ({u.code})"
            )
            self.initial.setdefault("keep_units", list(promotion.units.all()))
            self.initial.setdefault("projects", list(promotion.projects.all()))
            self.initial.setdefault("buildings", list(promotion.buildings.all()))
            self.initial.setdefault("room_counts", ", ".join(str(r) for r in promotion.rooms or []))
            self.initial.setdefault("kinds", list(promotion.unit_kinds or []))
        else:
            del self.fields["keep_units"]

    def clean(self):
        data = super().clean()
        try:
            data["rooms"] = parse_rooms(data.get("room_counts") or "")
        except ValidationError as error:
            self.add_error("room_counts", error.message_dict["rooms"])
        try:
            added = resolve_units(
                data.get("unit_list") or "",
                projects=data.get("projects") or (),
                buildings=data.get("buildings") or (),
            )
        except ValidationError as error:
            self.add_error("unit_list", error.message_dict["unit_list"])
            added = []
        kept = list(data.get("keep_units") or ())
        data["units"] = list({u.pk: u for u in kept + added}.values())
        candidate = Promotion(
            name=data.get("name") or "",
            starts_on=data.get("starts_on"),
            ends_on=data.get("ends_on"),
            discount_kind=data.get("discount_kind") or Promotion.DiscountKind.PERCENT,
            value=data.get("value"),
            min_price=data.get("min_price"),
            rooms=data.get("rooms") or [],
        )
        try:
            promotion_check(candidate)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                target = "room_counts" if name == "rooms" else name
                if target in self.fields and target not in self.errors:
                    self.add_error(target, messages)
        return data
