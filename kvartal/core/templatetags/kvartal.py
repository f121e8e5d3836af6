"""Formatting of money, areas and query strings for templates."""

from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def money(value) -> str:
    """12345678.9 -> '12 345 679' (whole roubles, grouped)."""
    if value in (None, ""):
        return "—"
    return number_format(Decimal(value).quantize(Decimal("1")), 0, force_grouping=True)


@register.filter
def area(value) -> str:
    """Square metres with one or two decimals as stored."""
    if value in (None, ""):
        return "—"
    return number_format(Decimal(value).normalize() if Decimal(value) % 1 else int(value), None)


@register.filter
def millions(value) -> str:
    """12345678 -> '12,3' (millions, one decimal): compact chessboard cells."""
    if value in (None, ""):
        return "—"
    return number_format(Decimal(value) / Decimal(1_000_000), 1)


@register.simple_tag(takes_context=True)
def query_with(context, **kwargs) -> str:
    """The current query string with some parameters replaced (sorting, paging links)."""
    params = context["request"].GET.copy()
    for key, value in kwargs.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + params.urlencode() if params else "?"
