"""What the groups are labelled and sorted by."""

import re
from collections.abc import Callable

from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from kvartal.accounts.models import User
from kvartal.clients.models import Channel, LeadStatus
from kvartal.inventory.models import (
    Building,
    Project,
    Section,
    UnitKind,
    UnitStatus,
)
from kvartal.sales.models import Promotion

from ..base import UNIT_TYPE_LABELS, type_sort_key
from ..periods import step_label
from .common import TIME_DIMENSIONS

# --- what the groups are labelled and sorted by -------------------------------------------

NOT_SET = (1,)  # sorts a missing value (no channel, no promotion …) after the others


def _natural(text: str) -> tuple:
    """A sort key where "Корпус 2" comes before "Корпус 10"."""
    parts = re.split(r"(\d+)", text.casefold())
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def _labelled(values: set, found: dict, missing_label) -> dict:
    """``{value: (sort key, label)}`` from ``found`` (``{value: (sort key, label)}`` for the
    values still in the database); a value not found (None, or a row deleted) sorts last."""
    result = {}
    for value in values:
        if value in found:
            order, label = found[value]
            result[value] = ((0, *order), label)
        else:
            result[value] = (NOT_SET, str(missing_label))
    return result


def _projects(values, chosen):
    found = {
        pk: (_natural(name), name)
        for pk, name in Project.objects.filter(pk__in=values).values_list("pk", "name")
    }
    return _labelled(values, found, pgettext_lazy("report builder", "No project"))


def _buildings(values, chosen):
    found = {}
    for pk, project, name in Building.objects.filter(pk__in=values).values_list(
        "pk", "project__name", "name"
    ):
        label = name if "project" in chosen else f"{project} · {name}"
        found[pk] = ((_natural(project), _natural(name)), label)
    return _labelled(values, found, pgettext_lazy("report builder", "No building"))


def _sections(values, chosen):
    found = {}
    rows = Section.objects.filter(pk__in=values).select_related("building__project")
    for section in rows:
        building = section.building
        parts = [str(section)]
        if "building" not in chosen:
            parts.insert(0, building.name)
            if "project" not in chosen:
                parts.insert(0, building.project.name)
        order = (_natural(building.project.name), _natural(building.name), section.number)
        found[section.pk] = (order, " · ".join(parts))
    return _labelled(values, found, pgettext_lazy("report builder", "No section"))


def _managers(values, chosen):
    found = {}
    for pk, last, first, username in User.objects.filter(pk__in=values).values_list(
        "pk", "last_name", "first_name", "username"
    ):
        label = f"{last} {first[:1]}." if last and first else (last or username)
        found[pk] = ((last.casefold(), first.casefold(), username), label)
    return _labelled(values, found, _("No manager"))


def _promotions(values, chosen):
    found = {
        pk: (_natural(name), name)
        for pk, name in Promotion.objects.filter(pk__in=values).values_list("pk", "name")
    }
    return _labelled(values, found, _("No promotion"))


def _channels(values, chosen):
    found = {
        c.pk: ((c.order, _natural(str(c))), str(c)) for c in Channel.objects.filter(pk__in=values)
    }
    return _labelled(values, found, _("Not known"))


def _unit_types(values, chosen):
    found = {t: ((type_sort_key(t),), str(UNIT_TYPE_LABELS.get(t, t))) for t in values if t}
    return _labelled(values, found, "—")


def _choices(choices) -> Callable:
    """Labels and order of a TextChoices field (unit kind, unit status, lead status)."""
    order = {value: i for i, value in enumerate(choices.values)}
    labels = dict(choices.choices)

    def resolve(values, chosen):
        found = {v: ((order.get(v, len(order)),), str(labels.get(v, v))) for v in values if v}
        return _labelled(values, found, "—")

    return resolve


def _rooms(values, chosen):
    studio = pgettext_lazy("unit type", "Studio")
    found = {v: ((v,), str(studio) if v == 0 else str(v)) for v in values if v is not None}
    return _labelled(values, found, "—")


def _floors(values, chosen):
    return _labelled(values, {v: ((v,), str(v)) for v in values if v is not None}, "—")


def _time(step: str) -> Callable:
    def resolve(values, chosen):
        return _labelled(values, {v: ((v,), step_label(v, step)) for v in values if v}, "—")

    return resolve


RESOLVERS: dict[str, Callable] = {
    "project": _projects,
    "building": _buildings,
    "section": _sections,
    "unit_type": _unit_types,
    "unit_kind": _choices(UnitKind),
    "rooms": _rooms,
    "manager": _managers,
    "promotion": _promotions,
    "channel": _channels,
    "floor": _floors,
    **{step: _time(step) for step in TIME_DIMENSIONS},
}
STATUS_RESOLVERS = {"stock": _choices(UnitStatus), "leads": _choices(LeadStatus)}
