"""Showing a report result: values by their column kind, charts as inline SVG."""

from django import template
from django.utils.safestring import mark_safe

from kvartal.core.models import CompanyProfile

from ..results import format_value

register = template.Library()


@register.filter
def fmt(value, kind: str) -> str:
    return format_value(value, kind)


@register.filter
def cell(row: dict, column) -> str:
    """A row's value for a column, formatted."""
    return format_value(row.get(column.key) if row else None, column.kind)


@register.simple_tag(takes_context=True)
def chart_svg(context, chart, width=1100, height=340):
    from ..charts import render_svg

    company = context.get("_company")
    if company is None:
        company = context["_company"] = CompanyProfile.current()
    svg = render_svg(
        chart, palette=company.palette(), kind=company.chart_kind, width=width, height=height
    )
    return mark_safe(svg)  # noqa: S308 - built by our renderer, every text escaped there
