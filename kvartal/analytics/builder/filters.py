"""The filters and the periods that move with the calendar."""

from datetime import date, timedelta

from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..base import Params, ReportForm
from ..periods import local_today, step_start
from .common import FILTER_KEYS, TemplateBroken
from .sources import Source

# --- the filters ----------------------------------------------------------------------------


def _months_back(day: date, months: int) -> date:
    month = day.month - 1 - months
    return date(day.year + month // 12, month % 12 + 1, 1)


def _preset(key: str, today: date) -> tuple[date, date]:
    month = today.replace(day=1)
    if key == "this_month":
        return month, today
    if key == "last_month":
        return _months_back(today, 1), month - timedelta(days=1)
    if key == "this_quarter":
        return step_start(today, "quarter"), today
    if key == "this_year":
        return date(today.year, 1, 1), today
    if key == "last_year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    return _months_back(today, 11), today  # last_12_months


# Periods that move with the calendar: a saved template shows the current month, year …
PERIODS = [
    ("last_12_months", gettext_lazy("The last twelve months")),
    ("this_month", gettext_lazy("This month")),
    ("last_month", gettext_lazy("Last month")),
    ("this_quarter", gettext_lazy("This quarter")),
    ("this_year", gettext_lazy("This year")),
    ("last_year", gettext_lazy("Last year")),
]
PERIOD_KEYS = {key for key, _label in PERIODS}


def _filter_data(source: Source, filters: dict) -> QueryDict:
    if not isinstance(filters, dict):
        raise TemplateBroken(
            _("The filters of this template are damaged: save them again."), "filters"
        )
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise TemplateBroken(
            _("The filter “%(key)s” no longer exists: edit the template.") % {"key": unknown[0]},
            "filters",
        )
    data = QueryDict(mutable=True)
    for key, value in filters.items():
        if value in (None, "", []):
            continue
        if isinstance(value, list | tuple):
            data.setlist(key, [str(v) for v in value])
        else:
            data[key] = str(value)
    preset = data.pop("period", [""])[-1]
    if preset and source.has_period:
        if preset not in PERIOD_KEYS:
            raise TemplateBroken(
                _("The period “%(key)s” no longer exists: edit the template.") % {"key": preset},
                "filters",
            )
        start, end = _preset(preset, local_today())
        data["date_from"], data["date_to"] = start.isoformat(), end.isoformat()
    return data


def _params(source: Source, filters: dict) -> Params:
    form = ReportForm(_filter_data(source, filters), fields=source.fields)
    if not form.is_valid():
        problems = [str(e) for e in form.non_field_errors()]
        for name, errors in form.errors.items():
            if name != "__all__":
                label = form.fields[name].label if name in form.fields else name
                problems += [f"{label}: {e}" for e in errors]
        raise TemplateBroken(" ".join(problems), "filters")
    return Params.from_form(form)
