"""The unit catalogue: one search across every project.

``CatalogueFilterForm`` validates the GET parameters; ``filter_units(cleaned_data)`` turns
valid filters into a queryset, ``sort_units`` orders it. Pages that select units by the same
criteria (the bulk price change) reuse these three pieces; ``search_units`` glues them for
the catalogue page.
"""

from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Length
from django.forms.models import ModelChoiceIterator
from django.forms.renderers import DjangoTemplates
from django.http import QueryDict
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kvartal.core.ids import parse_id
from kvartal.core.widgets import DateInput

from .models import Building, Project, Unit, UnitKind, UnitStatus, effective_status_q

# Rooms filter values: 0 is a studio, "4+" is four rooms and more.
FOUR_PLUS = "4+"
ROOM_CHOICES = [
    ("0", pgettext_lazy("rooms", "Studio")),
    ("1", "1"),
    ("2", "2"),
    ("3", "3"),
    (FOUR_PLUS, "4+"),
]
DEFAULT_STATUSES = (UnitStatus.AVAILABLE,)

# ``?sort=<key>`` (ascending) or ``?sort=-<key>`` → the ORM ordering. Every ordering ends with
# the primary key so pages never overlap or skip rows.
SORTS: dict[str, tuple] = {
    "price": ("price",),
    "price_m2": ("price_per_m2",),
    "area": ("total_area",),
    "floor": ("floor__index",),
    "rooms": ("rooms",),
    "completion": ("building__completion_date",),
    "number": ("building__project__name", "building__name", Length("number"), "number"),
}
DEFAULT_ORDER = (
    "building__project__name",
    "building__name",
    "section__number",
    "floor__index",
    "position",
    "pk",
)

# Pairs of (minimum, maximum) fields checked against each other.
RANGES = (
    ("area_min", "area_max"),
    ("price_min", "price_max"),
    ("price_m2_min", "price_m2_max"),
    ("floor_min", "floor_max"),
    ("completion_from", "completion_to"),
)


def _area_field(label):
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=0,
        max_digits=8,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )


def _money_field(label):
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "numeric"}),
    )


def _as_querydict(data) -> QueryDict:
    """A mutable copy of GET data, or of a plain dict (values may be lists)."""
    if isinstance(data, QueryDict):
        return data.copy()
    result = QueryDict(mutable=True)
    for key, value in (data or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        result.setlist(key, [str(v) for v in values if v is not None])
    return result


def _is_id(value) -> bool:
    return isinstance(value, str) and parse_id(value) is not None


class PlainChoiceIterator(ModelChoiceIterator):
    """The choices in one ordinary query. Django's iterator reads them through a server-side
    cursor, which on PostgreSQL costs four round trips for a list of a hundred."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset.all():  # a fresh query each time, like iterator()
            yield self.choice(obj)


class IdChoiceField(forms.ModelChoiceField):
    """A choice by primary key that treats an absurd id as an invalid choice, not a crash."""

    iterator = PlainChoiceIterator

    def to_python(self, value):
        if isinstance(value, str) and value not in self.empty_values and not _is_id(value):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(value)


def _attrs_html(attrs: dict) -> str:
    """Attributes as ``django/forms/widgets/attrs.html`` writes them."""
    html = []
    for name, value in attrs.items():
        if value is True:
            html.append(f" {conditional_escape(name)}")
        elif value is not False:
            html.append(f' {conditional_escape(name)}="{conditional_escape(value)}"')
    return "".join(html)


def _input_html(widget: dict) -> str:
    """``django/forms/widgets/input.html``."""
    value = widget["value"]
    value = "" if value is None else f' value="{conditional_escape(value)}"'
    return (
        f'<input type="{conditional_escape(widget["type"])}" '
        f'name="{conditional_escape(widget["name"])}"{value}{_attrs_html(widget["attrs"])}>'
    )


def _select_html(widget: dict) -> str:
    """``django/forms/widgets/select.html``, each option as ``select_option.html`` prints it
    (newline included)."""
    html = [f'<select name="{conditional_escape(widget["name"])}"{_attrs_html(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            html.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        html.extend(
            f'\n  <option value="{conditional_escape(option["value"])}"'
            f"{_attrs_html(option['attrs'])}>{conditional_escape(option['label'])}</option>\n"
            for option in options
        )
        if group_name:
            html.append("\n  </optgroup>")
    html.append("\n</select>")
    return "".join(html)


def _typed_html(widget: dict) -> str:
    """``core/widgets/typed.html``: the input, then the typing format's hint on a line of its
    own (the included input template ends with one; the renderer strips only the end)."""
    html = _input_html(widget)
    if widget.get("hint_id"):
        hint_id, hint = conditional_escape(widget["hint_id"]), conditional_escape(widget["hint"])
        html += f'\n<small class="help format-hint" id="{hint_id}">{hint}</small>'
    return html


_WIDGETS = "django/forms/widgets/"
_INPUTS = {
    f"{_WIDGETS}{name}.html"
    for name in ("input", "text", "number", "date", "hidden", "checkbox_option", "radio_option")
}


class QuickWidgetRenderer(DjangoTemplates):
    """The form renderer of the catalogue's and the chessboard's filters: text, number, date
    and hidden inputs (typed dates with their format's hint too), checkboxes and selects are
    written in Python, with the markup of Django's own widget templates; anything else goes
    to those templates.

    Twenty-odd fields and a select with one option per building of every project took the
    template engine longer than the search itself: an include per input, two per option.
    """

    def render(self, template_name, context, request=None):
        widget = context.get("widget", {})
        if template_name in _INPUTS and not widget.get("wrap_label"):
            return _input_html(widget)
        if template_name == f"{_WIDGETS}select.html" and widget.get("optgroups") is not None:
            return _select_html(widget)
        if template_name == "core/widgets/typed.html" and not widget.get("wrap_label"):
            return _typed_html(widget)
        return super().render(template_name, context, request)


QUICK_WIDGETS = QuickWidgetRenderer()


class BuildingChoiceField(IdChoiceField):
    def label_from_instance(self, obj: Building) -> str:
        if self.show_project:
            return f"{obj.project.name} · {obj.name}"
        return obj.name


class CatalogueFilterForm(forms.Form):
    """The catalogue filters. Every value is optional; ranges must not be reversed.

    With no status ticked, ``default_statuses`` (units on sale) are searched and shown ticked,
    so a bare link and a fresh page agree.
    """

    default_renderer = QUICK_WIDGETS

    q = forms.CharField(
        label=_("Number or code"),
        required=False,
        max_length=24,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. 125 or 1.12")}),
    )
    project = IdChoiceField(
        label=_("Project"),
        queryset=Project.objects.only("name"),
        required=False,
        empty_label=_("All"),
        # A new project narrows the building list: forget the building, reload the filters.
        widget=forms.Select(attrs={"data-autosubmit": "", "data-clear": "id_building"}),
    )
    building = BuildingChoiceField(
        label=_("Building"),
        # Only what the options show: the other columns cost time on every page.
        queryset=Building.objects.select_related("project").only("name", "project__name"),
        required=False,
        empty_label=_("All"),
    )
    section = forms.IntegerField(
        label=_("Section"),
        required=False,
        min_value=1,
        max_value=999,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("All")), *UnitKind.choices], required=False
    )
    rooms = forms.MultipleChoiceField(
        label=_("Rooms"),
        choices=ROOM_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    status = forms.MultipleChoiceField(
        label=_("Status"),
        choices=UnitStatus.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    area_min = _area_field(_("Area from, m²"))
    area_max = _area_field(_("Area to, m²"))
    price_min = _money_field(_("Price from, ₽"))
    price_max = _money_field(_("Price to, ₽"))
    price_m2_min = _money_field(_("Price per m² from, ₽"))
    price_m2_max = _money_field(_("Price per m² to, ₽"))
    floor_min = forms.IntegerField(
        label=_("Floor from"), required=False, min_value=-10, max_value=200
    )
    floor_max = forms.IntegerField(
        label=_("Floor to"), required=False, min_value=-10, max_value=200
    )
    completion_from = forms.DateField(
        label=_("Completion from"),
        required=False,
        widget=DateInput(),
    )
    completion_to = forms.DateField(
        label=_("Completion to"),
        required=False,
        widget=DateInput(),
    )
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data=None, *args, default_statuses=DEFAULT_STATUSES, **kwargs):
        data = _as_querydict(data)
        if not data.getlist("status") and default_statuses:
            data.setlist("status", [str(s) for s in default_statuses])
        super().__init__(data, *args, **kwargs)
        # The building list follows the chosen project; unknown projects leave it whole.
        buildings = self.fields["building"]
        project_id = data.get("project")
        buildings.show_project = True
        if _is_id(project_id):
            buildings.queryset = buildings.queryset.filter(project_id=project_id)
            buildings.show_project = False
        buildings.queryset = buildings.queryset.order_by("project__name", "name")
        for low, high in RANGES:
            # A date range shows the typing format instead (DateInput's placeholder).
            if not isinstance(self.fields[low].widget, DateInput):
                self.fields[low].widget.attrs.setdefault("placeholder", _("from"))
                self.fields[high].widget.attrs.setdefault("placeholder", _("to"))
            for name in (low, high):
                self.fields[name].widget.attrs["aria-label"] = self.fields[name].label

    def clean_sort(self) -> str:
        """An unknown sort key is ignored (old bookmarks keep working)."""
        value = self.cleaned_data.get("sort") or ""
        return value if value.lstrip("-") in SORTS else ""

    def clean(self):
        cleaned = super().clean()
        for low, high in RANGES:
            a, b = cleaned.get(low), cleaned.get(high)
            if a is not None and b is not None and a > b:
                self.add_error(high, _("Must not be less than the lower bound."))
        return cleaned


def number_or_code_q(q: str) -> Q:
    """A code (it has a dot: ``1.12.3``) finds that code, and a partial one (``1.12`` —
    section and floor, or ``1.`` — a section) the codes starting with it; codes only, never
    a unit whose number happens to read the same. A bare ``3`` is a number (in every building:
    the project, building and section filters narrow it); it used to find every unit of
    section 3 as well."""
    if "." not in q:
        return Q(number__iexact=q)
    wanted = Q(code__iexact=q)
    if stem := q.rstrip("."):
        wanted |= Q(code__istartswith=f"{stem}.")
    return wanted


def filter_units(cleaned: dict, queryset=None):
    """Units matching the filters of a valid ``CatalogueFilterForm`` (no ordering applied)."""
    units = Unit.objects.all() if queryset is None else queryset
    if q := (cleaned.get("q") or "").strip():
        units = units.filter(number_or_code_q(q))
    if cleaned.get("project"):
        units = units.filter(building__project=cleaned["project"])
    if cleaned.get("building"):
        units = units.filter(building=cleaned["building"])
    if cleaned.get("section") is not None:
        units = units.filter(section__number=cleaned["section"])
    if cleaned.get("kind"):
        units = units.filter(kind=cleaned["kind"])
    if rooms := cleaned.get("rooms"):
        wanted = Q(rooms__in=[int(r) for r in rooms if r != FOUR_PLUS])
        if FOUR_PLUS in rooms:
            wanted |= Q(rooms__gte=4)
        units = units.filter(wanted)
    if statuses := cleaned.get("status"):
        # Effective statuses: a unit whose hold ran out is found as available at once.
        now = timezone.now()
        wanted = Q()
        for status in statuses:
            wanted |= effective_status_q(status, now)
        units = units.filter(wanted)
    bounds = {
        "area_min": "total_area__gte",
        "area_max": "total_area__lte",
        "price_min": "price__gte",
        "price_max": "price__lte",
        "price_m2_min": "price_per_m2__gte",
        "price_m2_max": "price_per_m2__lte",
        "floor_min": "floor__index__gte",
        "floor_max": "floor__index__lte",
        "completion_from": "building__completion_date__gte",
        "completion_to": "building__completion_date__lte",
    }
    lookups = {
        lookup: cleaned[name] for name, lookup in bounds.items() if cleaned.get(name) is not None
    }
    return units.filter(**lookups)


def sort_units(units, sort: str = ""):
    """Order by a ``SORTS`` key (``-key`` descending); empty: by project, building, place."""
    key = sort.lstrip("-")
    if key not in SORTS:
        return units.order_by(*DEFAULT_ORDER)
    descending = sort.startswith("-")
    order = []
    for part in SORTS[key]:
        expression = F(part) if isinstance(part, str) else part
        order.append(
            expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
        )
    return units.order_by(*order, "-pk" if descending else "pk")


@dataclass(frozen=True)
class Totals:
    count: int
    total_area: Decimal
    total_price: Decimal

    @property
    def price_per_m2(self) -> Decimal | None:
        if not self.total_area:
            return None
        return (self.total_price / self.total_area).quantize(Decimal("1"))


def totals(units) -> Totals:
    """Count, area and price sums of the found units, in one query."""
    sums = units.order_by().aggregate(n=Count("pk"), area=Sum("total_area"), price=Sum("price"))
    cent = Decimal("0.01")
    return Totals(
        count=sums["n"],
        total_area=Decimal(sums["area"] or 0).quantize(cent),
        total_price=Decimal(sums["price"] or 0).quantize(cent),
    )


# The columns a catalogue row shows: the page reads these and no others.
ROW_FIELDS = (
    "number",
    "kind",
    "code",
    "rooms",
    "total_area",
    "price",
    "price_per_m2",
    "status",
    "hold_until",  # with status: the effective status (``Unit.effective_status``)
    "building__name",
    "building__completion_date",
    "building__project__name",
    "section__number",
    "floor__label",
)


def search_units(data, *, default_statuses=DEFAULT_STATUSES):
    """The catalogue search: (bound form, sorted queryset with place data).

    The units carry only ``ROW_FIELDS`` (reading any other field costs a query per unit).
    Invalid filters give an empty queryset; the form carries the errors to show.
    """
    form = CatalogueFilterForm(data, default_statuses=default_statuses)
    if not form.is_valid():
        return form, Unit.objects.none()
    rows = Unit.objects.select_related("building__project", "section", "floor").only(*ROW_FIELDS)
    units = filter_units(form.cleaned_data, rows)
    return form, sort_units(units, form.cleaned_data.get("sort", ""))


def sort_links(current: str) -> dict[str, dict[str, str]]:
    """For each sortable column: the ``sort`` value its header links to and its arrow."""
    links = {}
    for key in SORTS:
        if current == key:
            links[key] = {"next": f"-{key}", "arrow": "▲", "aria": "ascending"}
        elif current == f"-{key}":
            links[key] = {"next": key, "arrow": "▼", "aria": "descending"}
        else:
            links[key] = {"next": key, "arrow": "", "aria": "none"}
    return links
