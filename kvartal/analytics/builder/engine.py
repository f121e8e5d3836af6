"""Checking a spec and building the result; running and saving templates."""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from ..base import Params
from ..models import ReportTemplate
from ..periods import Period
from ..results import Chart, Column, Result, Series, Table
from .common import (
    MAX_DIMENSIONS,
    MAX_MEASURES,
    MAX_ROWS,
    MAX_SERIES,
    TIME_DIMENSIONS,
    Dimension,
    Measure,
    TemplateBroken,
)
from .filters import _params
from .labels import RESOLVERS, STATUS_RESOLVERS
from .sources import SOURCES, Source, _add

# --- checking and building ------------------------------------------------------------------


@dataclass
class Spec:
    """A checked builder report: what to count, by what, with which filters."""

    source: Source
    dimensions: list[Dimension]
    measures: list[Measure]
    params: Params


def check(*, source, dimensions, measures, filters) -> Spec:
    """The spec of a builder report, or ``TemplateBroken`` saying what is wrong with it."""
    found = SOURCES.get(source) if isinstance(source, str) else None
    if found is None:
        raise TemplateBroken(
            _("The data “%(source)s” no longer exists: edit the template and choose another.")
            % {"source": source},
            "source",
        )
    if not isinstance(dimensions, list | tuple) or not all(isinstance(d, str) for d in dimensions):
        raise TemplateBroken(
            _("The rows of this template are damaged: choose them again."), "dimensions"
        )
    if not isinstance(measures, list | tuple) or not all(isinstance(m, str) for m in measures):
        raise TemplateBroken(
            _("The columns of this template are damaged: choose them again."), "measures"
        )
    for key in dimensions:
        if key not in found.dimensions:
            raise TemplateBroken(
                _("The dimension “%(key)s” no longer exists: edit the template and choose another.")
                % {"key": key},
                "dimensions",
            )
    for key in measures:
        if key not in found.measures:
            raise TemplateBroken(
                _("The measure “%(key)s” no longer exists: edit the template and choose another.")
                % {"key": key},
                "measures",
            )
    if len(dimensions) > MAX_DIMENSIONS:
        raise TemplateBroken(
            _("At most %(n)s dimensions: remove %(extra)s.")
            % {"n": MAX_DIMENSIONS, "extra": len(dimensions) - MAX_DIMENSIONS},
            "dimensions",
        )
    if len(set(dimensions)) < len(dimensions):
        twice = next(d for d in dimensions if dimensions.count(d) > 1)
        raise TemplateBroken(
            _("The dimension “%(label)s” is chosen twice.")
            % {"label": found.dimensions[twice].label},
            "dimensions",
        )
    if not measures:
        raise TemplateBroken(_("Choose at least one measure."), "measures")
    if len(measures) > MAX_MEASURES:
        raise TemplateBroken(
            _("At most %(n)s measures: remove %(extra)s.")
            % {"n": MAX_MEASURES, "extra": len(measures) - MAX_MEASURES},
            "measures",
        )
    if len(set(measures)) < len(measures):
        twice = next(m for m in measures if measures.count(m) > 1)
        raise TemplateBroken(
            _("The measure “%(label)s” is chosen twice.") % {"label": found.measures[twice].label},
            "measures",
        )
    return Spec(
        source=found,
        dimensions=[found.dimensions[d] for d in dimensions],
        measures=[found.measures[m] for m in measures],
        params=_params(found, filters or {}),
    )


def _resolver(source: Source, dim: str) -> Callable:
    return STATUS_RESOLVERS[source.key] if dim == "status" else RESOLVERS[dim]


def _chart(spec: Spec, keys: list[tuple], rows: list[dict], groups: dict) -> Chart | None:
    """The first measure by the first dimension, from the rows of the table (two dimensions
    with few values of the second: one series per value; more: the first one's subtotals)."""
    if not spec.dimensions or not rows:
        return None
    first, measure = spec.dimensions[0], spec.measures[0]
    title = _("%(measure)s by %(dimension)s") % {
        "measure": measure.label,
        "dimension": str(first.label).lower(),
    }
    labels = list(dict.fromkeys(r[first.key] for r in rows))
    if len(spec.dimensions) == 1:
        series = [Series(str(measure.label), [r[measure.key] for r in rows])]
    elif (
        len(spec.dimensions) == 2
        and len(names := list(dict.fromkeys(r[spec.dimensions[1].key] for r in rows))) <= MAX_SERIES
    ):
        second = spec.dimensions[1]
        cells = {(r[first.key], r[second.key]): r[measure.key] for r in rows}
        series = [Series(name, [cells.get((label, name)) for label in labels]) for name in names]
    else:
        subtotals: dict = {}
        for key, row in zip(keys, rows, strict=True):
            sums = subtotals.setdefault(row[first.key], spec.source.zero())
            _add(sums, groups[key])
        series = [Series(str(measure.label), [measure.value(subtotals[lb]) for lb in labels])]
    return Chart("builder", title, labels, series, value_kind=measure.kind)


def _fill_steps(spec: Spec, groups: dict) -> None:
    """A lone time dimension shows every step of the period, the empty ones as zeros."""
    dims = [d.key for d in spec.dimensions]
    if len(dims) != 1 or dims[0] not in TIME_DIMENSIONS or not spec.source.has_period:
        return
    period = spec.params.period
    for start in Period(period.start, period.end, dims[0]).steps():
        groups.setdefault((start,), spec.source.zero())


def build(*, source, dimensions, measures, filters: dict, title: str = "", viewer=None) -> Result:
    """The report of ``source`` by ``dimensions`` with ``measures`` under ``filters`` (the
    report filters' names: date_from, date_to, period, project, building, section,
    unit_type, manager), computed from the current data as ``viewer`` may see it
    (``Params.for_viewer``; none: the whole company). ``TemplateBroken`` if it cannot be."""
    spec = check(source=source, dimensions=dimensions, measures=measures, filters=filters)
    if viewer is not None:
        spec.params = spec.params.for_viewer(viewer)
    dims = [d.key for d in spec.dimensions]
    groups = spec.source.groups(spec.params, dims)
    _fill_steps(spec, groups)
    labels = [
        _resolver(spec.source, dim)({k[i] for k in groups}, dims) for i, dim in enumerate(dims)
    ]
    keys = sorted(groups, key=lambda k: tuple(labels[i][v][0] for i, v in enumerate(k)))
    total = spec.source.zero()
    for sums in groups.values():
        _add(total, sums)
    columns = [Column(d.key, str(d.label)) for d in spec.dimensions] + [
        Column(m.key, str(m.label), m.kind) for m in spec.measures
    ]
    notes = []
    if len(keys) > MAX_ROWS:
        notes.append(
            _(
                "Showing the first %(shown)s rows of %(all)s: choose fewer dimensions or "
                "narrow the filters. The total counts them all."
            )
            % {"shown": MAX_ROWS, "all": len(keys)}
        )
        keys = keys[:MAX_ROWS]

    def measured(sums: dict) -> dict:
        return {m.key: m.value(sums) for m in spec.measures}

    if dims:
        rows = [
            {**{d: labels[i][k[i]][1] for i, d in enumerate(dims)}, **measured(groups[k])}
            for k in keys
        ]
        total_row = {dims[0]: _("Total"), **measured(total)} if rows else None
    else:
        rows, total_row = [measured(total)], None
    title = title or _("Report")
    table = Table("builder", title, columns, rows, total=total_row, empty=str(spec.source.empty))
    chart = _chart(spec, keys, rows, groups)
    subtitle = " · ".join(
        p for p in (str(spec.source.label), spec.params.describe(spec.source.fields)) if p
    )
    return Result(
        title=title,
        subtitle=subtitle,
        tables=[table],
        charts=[chart] if chart else [],
        notes=notes,
        landscape=len(columns) > 6,
    )


def run_template(template, viewer=None) -> Result:
    """A saved template with the current data as ``viewer`` may see it (``TemplateBroken`` if
    it cannot be built)."""
    return build(
        viewer=viewer,
        source=template.source,
        dimensions=template.dimensions,
        measures=template.measures,
        filters=template.filters,
        title=template.name,
    )


def check_template(template) -> Spec:
    return check(
        source=template.source,
        dimensions=template.dimensions,
        measures=template.measures,
        filters=template.filters,
    )


def template_save(
    *,
    owner,
    name: str,
    source: str,
    dimensions: list[str],
    measures: list[str],
    filters: dict,
    shared_roles: list[str],
    template: ReportTemplate | None = None,
) -> ReportTemplate:
    """Save a new template of ``owner`` (or change ``template``): checked first, so a saved
    template can always be built when saved (``TemplateBroken`` otherwise)."""
    check(source=source, dimensions=dimensions, measures=measures, filters=filters)
    template = template or ReportTemplate(owner=owner)
    template.name = name.strip()[:200]
    template.source = source
    template.dimensions = list(dimensions)
    template.measures = list(measures)
    template.filters = dict(filters)
    template.shared_roles = list(shared_roles)
    template.save()
    return template
