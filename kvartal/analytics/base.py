"""A report: its filters (one form for all), what it computes, who may see it.

Each report is a ``Report`` subclass registered with ``@register``; it names the filters it
uses (``fields``) and turns valid ``Params`` into a ``Result``. The pages, the exports, the
shared links, the dashboard and the benchmark all go through ``run_report``.
"""

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.db.models import Q
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kvartal.accounts.models import Role, User
from kvartal.core.ids import parse_id
from kvartal.core.widgets import DateInput
from kvartal.inventory.models import Building, Project, Section, UnitKind

from .periods import Period, Step, local_today
from .results import Result

# --- unit types: the "by type" of every report ---------------------------------------------

ROOMS_OR_MORE = 4
UNIT_TYPES = [
    ("studio", pgettext_lazy("unit type", "Studio")),
    ("1", pgettext_lazy("unit type", "1-room")),
    ("2", pgettext_lazy("unit type", "2-room")),
    ("3", pgettext_lazy("unit type", "3-room")),
    ("4+", pgettext_lazy("unit type", "4+ rooms")),
    ("apartment", pgettext_lazy("unit type", "Apartment, rooms not set")),
    ("commercial", pgettext_lazy("unit type", "Commercial")),
    ("storage", pgettext_lazy("unit type", "Storage")),
    ("parking", pgettext_lazy("unit type", "Parking")),
]
UNIT_TYPE_LABELS = dict(UNIT_TYPES)
UNIT_TYPE_ORDER = {key: i for i, (key, _label) in enumerate(UNIT_TYPES)}


def unit_type(kind: str, rooms: int | None) -> str:
    """The type key of a unit: studio, 1, 2, 3, 4+ for apartments, else its kind."""
    if kind != UnitKind.APARTMENT:
        return kind
    if rooms is None:
        return "apartment"
    if rooms == 0:
        return "studio"
    return str(rooms) if rooms < ROOMS_OR_MORE else "4+"


def unit_type_q(key: str, prefix: str = "") -> Q:
    if key in ("commercial", "storage", "parking"):
        return Q(**{f"{prefix}kind": key})
    apartment = Q(**{f"{prefix}kind": UnitKind.APARTMENT})
    if key == "apartment":
        return apartment & Q(**{f"{prefix}rooms__isnull": True})
    if key == "studio":
        return apartment & Q(**{f"{prefix}rooms": 0})
    if key == "4+":
        return apartment & Q(**{f"{prefix}rooms__gte": ROOMS_OR_MORE})
    return apartment & Q(**{f"{prefix}rooms": int(key)})


def type_sort_key(key: str) -> int:
    return UNIT_TYPE_ORDER.get(key, len(UNIT_TYPE_ORDER))


# --- the filters ----------------------------------------------------------------------------

MEASURES = [
    ("count", _("Units sold")),
    ("area", _("Square metres sold")),
    ("amount", _("Sales, ₽")),
]
SELLING_ROLES = (Role.SALES_MANAGER, Role.SALES_HEAD)
MAX_STEPS = 400  # beyond this a chart is unreadable and a table useless
FIRST_YEAR, LAST_YEAR = 1900, 2200  # dates a report can be about


def default_period() -> tuple[date, date]:
    """The last twelve months up to today: from the first day of the month a year back."""
    today = local_today()
    start = today.replace(day=1)
    month = start.month - 11
    start = start.replace(year=start.year + (month - 1) // 12, month=(month - 1) % 12 + 1)
    return start, today


class ReportForm(forms.Form):
    """Every filter a report may use; a report keeps only the ones it names."""

    date_from = forms.DateField(label=_("From"), widget=DateInput())
    date_to = forms.DateField(label=_("To"), widget=DateInput())
    step = forms.ChoiceField(
        label=_("Step"),
        choices=Step.choices,
        error_messages={
            "invalid_choice": _(
                "Unknown step “%(value)s”: choose a day, week, month, quarter, half-year or year."
            )
        },
    )
    measure = forms.ChoiceField(label=_("Show"), choices=MEASURES, required=False)
    project = forms.ModelChoiceField(Project.objects.all(), label=_("Project"), required=False)
    building = forms.ModelChoiceField(
        Building.objects.select_related("project"), label=_("Building"), required=False
    )
    section = forms.ModelChoiceField(
        Section.objects.select_related("building"), label=_("Section"), required=False
    )
    unit_type = forms.MultipleChoiceField(
        label=_("Unit type"),
        choices=UNIT_TYPES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    manager = forms.ModelChoiceField(
        User.objects.filter(role__in=SELLING_ROLES).order_by("last_name", "first_name"),
        label=_("Manager"),
        required=False,
    )
    hours = forms.IntegerField(
        label=_("Ending within, hours"), min_value=1, max_value=24 * 60, required=False
    )
    min_price_m2 = forms.DecimalField(
        label=_("Minimum price per m², ₽"),
        min_value=0,
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text=_("The economists' floor to compare the promotions with (optional)."),
    )
    discount = forms.DecimalField(
        label=_("Expected discount, %"),
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=2,
        required=False,
    )

    def __init__(self, data=None, *, fields=(), steps=None, **kwargs):
        start, end = default_period()
        defaults = {"date_from": start.isoformat(), "date_to": end.isoformat(), "step": "month"}
        data = data.copy() if isinstance(data, QueryDict) else QueryDict(mutable=True)
        for key, value in defaults.items():
            if not data.get(key):
                data[key] = value
        super().__init__(data, **kwargs)
        keep = set(fields) | ({"date_from", "date_to"} if "period" in fields else set())
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        if steps and "step" in self.fields:
            self.fields["step"].choices = [c for c in Step.choices if c[0] in steps]
        if "building" in self.fields:
            self.fields["building"].label_from_instance = lambda b: f"{b.project.name} · {b.name}"
        if "section" in self.fields:
            building = data.get("building")
            qs = Section.objects.select_related("building")
            self.fields["section"].queryset = (
                qs.filter(building_id=parse_id(building)) if parse_id(building) is not None else qs
            )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        for name, day in (("date_from", start), ("date_to", end)):
            if day and not FIRST_YEAR <= day.year <= LAST_YEAR:
                self.add_error(
                    name,
                    _("Choose a date between %(first)s and %(last)s.")
                    % {"first": FIRST_YEAR, "last": LAST_YEAR},
                )
                start = end = None
        if start and end:
            if start > end:
                raise forms.ValidationError(
                    _("The period starts after it ends: %(start)s is later than %(end)s.")
                    % {"start": start.isoformat(), "end": end.isoformat()}
                )
            step = data.get("step") or Step.MONTH
            if len(Period(start, end, step).steps()) > MAX_STEPS:
                raise forms.ValidationError(
                    _("Too many steps (more than %(n)s): choose a longer step or a shorter period.")
                    % {"n": MAX_STEPS}
                )
        building, section = data.get("building"), data.get("section")
        if section and building and section.building_id != building.pk:
            self.add_error("section", _("This section is not in the chosen building."))
        project = data.get("project")
        if building and project and building.project_id != project.pk:
            self.add_error("building", _("This building is not in the chosen project."))
        return data


@dataclass
class Params:
    """The valid filters of one run."""

    period: Period
    project: Project | None = None
    building: Building | None = None
    section: Section | None = None
    unit_types: list[str] = field(default_factory=list)
    manager: User | None = None
    hours: int = 24
    min_price_m2: Decimal | None = None
    discount: Decimal = Decimal(0)
    measure: str = "count"
    # Whose work the figures about people cover: the ids of the managers, or None for the
    # whole company (``for_viewer``). Stock and prices are the company's whatever the viewer.
    team: frozenset[int] | None = None

    def for_viewer(self, user) -> "Params":
        """These filters as ``user`` may see them: a sales head's reports cover their team
        (themselves and their teams' members), a director's the whole company — the row
        scope of ``accounts.scoping`` without the unassigned rows."""
        from kvartal.accounts.scoping import row_scope

        scope = row_scope(user)
        return replace(self, team=None if scope.everything else scope.owners)

    def manager_q(self, path: str = "manager") -> Q:
        """The chosen manager and the viewer's team on a path to the responsible user."""
        q = Q()
        if self.manager is not None:
            q &= Q(**{path: self.manager})
        if self.team is not None:
            q &= Q(**{f"{path}__in": self.team})
        return q

    def covers(self, manager_id: int | None) -> bool:
        """The same rule for one row already read."""
        if self.manager is not None and manager_id != self.manager.pk:
            return False
        return self.team is None or manager_id in self.team

    @classmethod
    def from_form(cls, form: ReportForm) -> "Params":
        data = form.cleaned_data
        start, end = data.get("date_from"), data.get("date_to")
        if not (start and end):
            start, end = default_period()
        return cls(
            period=Period(start, end, data.get("step") or Step.MONTH),
            project=data.get("project"),
            building=data.get("building"),
            section=data.get("section"),
            unit_types=list(data.get("unit_type") or []),
            manager=data.get("manager"),
            hours=data.get("hours") or 24,
            min_price_m2=data.get("min_price_m2"),
            discount=data.get("discount") or Decimal(0),
            measure=data.get("measure") or "count",
        )

    @classmethod
    def of(cls, start: date, end: date, step: str = Step.MONTH, **kwargs) -> "Params":
        return cls(period=Period(start, end, step), **kwargs)

    def unit_q(self, prefix: str = "unit__") -> Q:
        """The unit filters (project, building, section, types) on a path to ``Unit``."""
        q = Q()
        if self.section:
            q &= Q(**{f"{prefix}section": self.section})
        elif self.building:
            q &= Q(**{f"{prefix}building": self.building})
        elif self.project:
            q &= Q(**{f"{prefix}building__project": self.project})
        if self.unit_types:
            types = Q()
            for key in self.unit_types:
                types |= unit_type_q(key, prefix)
            q &= types
        return q

    def describe(self, fields=()) -> str:
        """The filters in words, for the subtitle of the page, the PDF and the workbook."""
        parts = []
        if "period" in fields:
            parts.append(self.period.describe())
        if "step" in fields:
            parts.append(
                str(_("by %(step)s")) % {"step": str(Step(self.period.step).label).lower()}
            )
        where = self.section or self.building or self.project
        if where is not None and "project" in fields:
            parts.append(str(where))
        if self.unit_types and "unit_type" in fields:
            parts.append(", ".join(str(UNIT_TYPE_LABELS[t]) for t in self.unit_types))
        if self.manager and "manager" in fields:
            parts.append(self.manager.get_full_name() or self.manager.username)
        return " · ".join(parts)


def tomorrow() -> date:
    return local_today() + timedelta(days=1)


# --- the registry ---------------------------------------------------------------------------

REPORTS: dict[str, "Report"] = {}


class Report:
    key: str = ""
    title = ""
    description = ""
    group = "seed"  # "seed" (the five of the analytics module) or "office"
    fields: tuple[str, ...] = ("period", "step", "project", "building", "section", "unit_type")
    steps: tuple[str, ...] | None = None  # the steps offered, when not all
    landscape = False  # the PDF page

    def form(self, data=None) -> ReportForm:
        return ReportForm(data, fields=self.fields, steps=self.steps)

    def run(self, params: Params) -> Result:  # pragma: no cover - every report overrides
        raise NotImplementedError

    def result(self, params: Params) -> Result:
        result = self.run(params)
        result.title = result.title or str(self.title)
        result.subtitle = result.subtitle or params.describe(self.fields)
        return result


GROUPS = [("seed", _("Sales reports")), ("office", _("Sales office"))]


def register(cls: type[Report]) -> type[Report]:
    REPORTS[cls.key] = cls()
    return cls
