"""Forms of the inventory keeper. They validate input; the services decide and write."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kvartal.core.forms import TableRows
from kvartal.core.widgets import DateInput

from . import selectors
from .models import Building, BuildingKind, Floor, Project, Unit, UnitKind, UnitStatus
from .services import EDITABLE_FIELDS, SectionPlan, UnitSpec, manual_statuses_for


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "city", "district", "address", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class BuildingForm(forms.ModelForm):
    class Meta:
        model = Building
        fields = [
            "kind",
            "name",
            "object_code",
            "construction_address",
            "postal_address",
            "cadastral_number",
            "completion_date",
            "readiness",
            "serves",
        ]
        widgets = {"completion_date": DateInput()}

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.project = project
        others = project.buildings.filter(kind=BuildingKind.RESIDENTIAL)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        self.fields["serves"].queryset = others

    def clean(self):
        data = super().clean()
        if data.get("serves") and data.get("kind") != BuildingKind.PARKING:
            self.add_error("serves", _("Only a parking structure serves another building."))
        return data


class SectionForm(forms.Form):
    """The section generator's general parameters; risers and other floors are formsets."""

    number = forms.IntegerField(label=_("Section number"), min_value=1, max_value=99)
    name = forms.CharField(label=_("Name"), required=False, max_length=100)
    floors = forms.IntegerField(label=_("Floors above ground"), min_value=0, max_value=200)
    underground = forms.IntegerField(
        label=_("Underground levels"), min_value=0, max_value=10, initial=0
    )
    ground_level = forms.BooleanField(
        label=_("Level 0 between the underground levels and floor 1"),
        required=False,
    )
    typical_from = forms.IntegerField(
        label=_("Typical floors from"),
        min_value=-10,
        max_value=200,
        initial=2,
        help_text=_("Underground levels are negative: −2 is the second level down."),
    )
    typical_to = forms.IntegerField(
        label=_("Typical floors to"),
        min_value=-10,
        max_value=200,
        required=False,
        help_text=_("Empty: up to the top floor."),
    )
    first_number = forms.IntegerField(
        label=_("First apartment number"),
        min_value=1,
        required=False,
        help_text=_("Empty: continue after the building's last number."),
    )
    skip_floor_labels = forms.CharField(
        label=_("Floor numbers to skip"),
        required=False,
        help_text=_("Comma-separated, e.g. 13"),
    )
    numbering = forms.ChoiceField(
        label=_("Numbering order"),
        choices=[
            ("left_to_right", _("Floor by floor, left to right")),
            ("right_to_left", _("Floor by floor, right to left")),
            ("by_riser", _("Riser by riser, bottom-up")),
        ],
        initial="left_to_right",
    )
    price_per_m2 = forms.DecimalField(
        label=_("Price per m², ₽"),
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text=_("Empty: units are created not for sale, without a price."),
    )
    floor_price_step = forms.DecimalField(
        label=_("Price step per floor, %"),
        max_digits=5,
        decimal_places=2,
        initial=0,
        required=False,
    )
    floor_price_from = forms.IntegerField(
        label=_("Price step from floor"),
        min_value=-10,
        max_value=200,
        required=False,
        help_text=_(
            "Units on this floor cost the price per m²; each floor above adds the step. "
            "Empty: the first typical floor."
        ),
    )

    # A parking structure has levels and spaces: its own words on the same fields.
    PARKING_WORDS = {
        "floors": (_("Levels above ground"), None),
        "ground_level": (_("Level 0 (ground level)"), None),
        "typical_from": (
            _("Typical levels from"),
            _("Every typical level gets the spaces listed below; −2 is the second level down."),
        ),
        "typical_to": (_("Typical levels to"), _("Empty: up to the top level.")),
        "first_number": (
            _("First space number"),
            _("Empty: continue after the structure's last space."),
        ),
        "skip_floor_labels": (_("Level numbers to skip"), None),
        "numbering": (_("Numbering order"), None),
        "floor_price_step": (_("Price step per level, %"), None),
        "floor_price_from": (
            _("Price step from level"),
            _("Spaces on this level cost the price per m²; each level above adds the step."),
        ),
    }

    def __init__(self, *args, parking: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if parking:
            self.fields["numbering"].choices = [
                ("left_to_right", _("Level by level, left to right")),
                ("right_to_left", _("Level by level, right to left")),
                ("by_riser", _("Row by row, bottom-up")),
            ]
            for name, (label, help_text) in self.PARKING_WORDS.items():
                self.fields[name].label = label
                if help_text is not None:
                    self.fields[name].help_text = help_text

    def clean_skip_floor_labels(self) -> list[int]:
        raw = self.cleaned_data["skip_floor_labels"].replace(" ", "")
        try:
            return [int(p) for p in raw.split(",") if p]
        except ValueError as error:
            raise ValidationError(_("List whole numbers separated by commas.")) from error


PARKING_KINDS = (UnitKind.PARKING, UnitKind.STORAGE)


class UnitSpecForm(forms.Form):
    floor = forms.IntegerField(label=_("Floor"), required=False)
    position = forms.IntegerField(label=_("Position"), min_value=1)
    kind = forms.ChoiceField(label=_("Kind"), choices=UnitKind.choices, initial=UnitKind.APARTMENT)
    rooms = forms.IntegerField(label=_("Rooms"), min_value=0, max_value=9, required=False)
    total_area = forms.DecimalField(label=_("Total, m²"), max_digits=8, decimal_places=2)
    living_area = forms.DecimalField(
        label=_("Living, m²"), max_digits=8, decimal_places=2, required=False
    )
    kitchen_area = forms.DecimalField(
        label=_("Kitchen, m²"), max_digits=8, decimal_places=2, required=False
    )

    def __init__(self, *args, parking: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if parking:  # a parking structure's spaces and storage rooms: no rooms, no kitchen
            self.fields["kind"].choices = [
                (k, label) for k, label in UnitKind.choices if k in PARKING_KINDS
            ]
            self.fields["kind"].initial = UnitKind.PARKING
            self.fields["position"].help_text = _("The space's place on the level.")
            for name in ("rooms", "living_area", "kitchen_area"):
                del self.fields[name]

    def spec(self) -> UnitSpec:
        data = {k: v for k, v in self.cleaned_data.items() if k != "DELETE"}
        return UnitSpec(**data)


class RiserForm(UnitSpecForm):
    floor = None  # a riser spans the typical floors


class _Rows(TableRows, forms.BaseFormSet):
    pass


RiserFormSet = forms.formset_factory(RiserForm, formset=_Rows, extra=0, min_num=0, can_delete=True)
FloorUnitFormSet = forms.formset_factory(UnitSpecForm, formset=_Rows, extra=0, can_delete=True)


def section_plan(form: SectionForm, risers, others) -> SectionPlan:
    """The plan described by a valid form and its two valid formsets."""
    data = form.cleaned_data
    return SectionPlan(
        number=data["number"],
        name=data["name"],
        floors=data["floors"],
        underground=data["underground"] or 0,
        ground_level=bool(data.get("ground_level")),
        typical_from=data["typical_from"],
        typical_to=data["typical_to"],
        first_number=data["first_number"],
        skip_floor_labels=data["skip_floor_labels"],
        price_per_m2=data["price_per_m2"],
        floor_price_step=data["floor_price_step"] or Decimal(0),
        floor_price_from=data.get("floor_price_from"),
        numbering=data["numbering"],
        risers=[f.spec() for f in risers if f.cleaned_data and not f.cleaned_data.get("DELETE")],
        non_typical=[
            f.spec() for f in others if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ],
    )


class UnitForm(forms.ModelForm):
    """A unit's data. The model's ``clean`` (shared with the admin) checks the rules."""

    class Meta:
        model = Unit
        fields = list(EDITABLE_FIELDS)
        widgets = {"special_conditions": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, section, **kwargs):
        super().__init__(*args, **kwargs)
        if "floor" in self.fields:
            self.fields["floor"].queryset = Floor.objects.filter(section=section)


class UnitCreateForm(UnitForm):
    class Meta(UnitForm.Meta):
        fields = [f for f in EDITABLE_FIELDS if f != "floor"]


class FloorForm(forms.ModelForm):
    class Meta:
        model = Floor
        fields = ["label", "level_type", "plan"]


class UnitPriceForm(forms.Form):
    price = forms.DecimalField(
        label=_("New price, ₽"), min_value=0, max_digits=14, decimal_places=2
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)


class UnitStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"))
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)

    def __init__(self, *args, unit: Unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [
            (s, UnitStatus(s).label) for s in manual_statuses_for(unit)
        ]


class BulkPriceForm(forms.Form):
    PERCENT, PER_M2 = "percent", "per_m2"
    mode = forms.ChoiceField(
        label=_("Change"),
        choices=[(PERCENT, _("by percent")), (PER_M2, _("by an amount per m²"))],
        initial=PERCENT,
    )
    value = forms.DecimalField(
        label=_("Value"),
        max_digits=12,
        decimal_places=2,
        help_text=_("+5 raises by 5 %; −2 lowers. Per m²: roubles per m² of total area."),
    )
    round_to = forms.ChoiceField(
        label=_("Round to, ₽"),
        choices=[("1", "1"), ("100", "100"), ("1000", "1 000")],
        initial="1000",
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def clean_value(self):
        value = self.cleaned_data["value"]
        if value == 0:
            raise ValidationError(_("A change of zero changes nothing."))
        if self.data.get("mode") == self.PERCENT and value <= -100:
            raise ValidationError(_("A price cannot fall by %(limit)s%% or more.") % {"limit": 100})
        return value

    def change(self) -> dict:
        key = "percent" if self.cleaned_data["mode"] == self.PERCENT else "per_m2_delta"
        return {key: self.cleaned_data["value"], "round_to": Decimal(self.cleaned_data["round_to"])}


BOARD_ROOM_CHOICES = [
    (0, _("Studio")),
    (1, "1"),
    (2, "2"),
    (3, "3"),
    (selectors.ROOMS_OR_MORE, f"{selectors.ROOMS_OR_MORE}+"),
]


class BoardFilterForm(forms.Form):
    """The chessboard's filters, read from the query string. A field with a bad value is
    reported and ignored; the others still apply."""

    rooms = forms.TypedMultipleChoiceField(
        label=_("Rooms"),
        choices=BOARD_ROOM_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    area_min = forms.DecimalField(label=_("Area from, m²"), required=False, min_value=0)
    area_max = forms.DecimalField(label=_("Area to, m²"), required=False, min_value=0)
    price_min = forms.DecimalField(label=_("Price from, mln ₽"), required=False, min_value=0)
    price_max = forms.DecimalField(label=_("Price to, mln ₽"), required=False, min_value=0)
    status = forms.MultipleChoiceField(
        label=_("Status"),
        choices=UnitStatus.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    floor_min = forms.IntegerField(label=_("Floor from"), required=False)
    floor_max = forms.IntegerField(label=_("Floor to"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    # A number, not a choice: the sections are known only once the board is read, and an
    # unknown number simply shows no board.
    section = forms.IntegerField(label=_("Section"), required=False, widget=forms.Select)
    # The board as it was at the end of a past day, from the history rows.
    as_of = forms.DateField(
        label=_("As of"),
        required=False,
        widget=DateInput(),
    )

    def __init__(self, *args, parking: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.parking = parking
        self.fields["kind"].choices = [("", _("All kinds")), *UnitKind.choices]
        if parking:
            self.fields["section"].label = _("Queue")
            self.fields["floor_min"].label = _("Level from")
            self.fields["floor_max"].label = _("Level to")
        for name, step in (("area", "any"), ("price", "any"), ("floor", "1")):
            for end, placeholder in (("min", _("from")), ("max", _("to"))):
                field = self.fields[f"{name}_{end}"]
                field.widget.attrs.update(
                    placeholder=placeholder, step=step, **{"aria-label": field.label}
                )

    def filters(self) -> selectors.BoardFilters:
        if not self.is_bound:
            return selectors.BoardFilters()
        self.is_valid()
        data = self.cleaned_data  # holds only the fields that passed
        return selectors.BoardFilters(
            rooms=frozenset(data.get("rooms") or ()),
            area_min=data.get("area_min"),
            area_max=data.get("area_max"),
            price_min=data.get("price_min"),
            price_max=data.get("price_max"),
            statuses=frozenset(data.get("status") or ()),
            floor_min=data.get("floor_min"),
            floor_max=data.get("floor_max"),
            kind=data.get("kind") or "",
            section=data.get("section"),
        )

    def clean_as_of(self):
        """A past day or today: the board of a future day would be today's (and a date near
        the calendar's end has no next day to count to)."""
        day = self.cleaned_data.get("as_of")
        if day is not None and day > timezone.localdate():
            raise forms.ValidationError(_("Choose today or a past day."))
        return day

    def as_of_date(self):
        """The past day asked for (``?as_of=YYYY-MM-DD``), or ``None`` for now."""
        if not self.is_bound or not self.is_valid() and "as_of" in self.errors:
            return None
        return self.cleaned_data.get("as_of")

    def set_sections(self, sections: list[tuple[int, str]]) -> None:
        everything = _("All queues") if self.parking else _("All sections")
        self.fields["section"].widget.choices = [("", everything), *sections]
