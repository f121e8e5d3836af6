"""Formatting of money, areas and query strings for templates."""

from decimal import ROUND_HALF_UP, Decimal

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
def count(value) -> str:
    """2159 -> '2 159': a number of things, grouped as money is (a tile's big figure)."""
    if value in (None, ""):
        return "—"
    return number_format(int(value), 0, force_grouping=True)


@register.filter
def area(value) -> str:
    """Square metres with one or two decimals as stored, thousands grouped as money is
    (a building's total: "9 877,5")."""
    if value in (None, ""):
        return "—"
    number = Decimal(value).normalize() if Decimal(value) % 1 else int(value)
    return number_format(number, None, force_grouping=True)


@register.filter
def millions(value) -> str:
    """12345678 -> '12,3' (millions, tenths rounded half up): compact chessboard cells."""
    if value in (None, ""):
        return "—"
    return number_format(round_tenths(Decimal(value) / Decimal(1_000_000)), 1)


def round_tenths(value: Decimal) -> Decimal:
    """Rounded half up to one decimal (``number_format`` alone cuts the decimals)."""
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# How the language switcher names each language: short, in the language itself.
LANGUAGE_BUTTONS = {"zh-hans": "中文"}


@register.filter
def language_button(code: str) -> str:
    """A language's button in the switcher: "RU", "EN", "中文"."""
    return LANGUAGE_BUTTONS.get(code, code.upper())


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


@register.inclusion_tag("components/pager.html", takes_context=True)
def pager(context, page):
    """``{% pager page %}``: the links to the other pages of a ``Page``, keeping the query."""
    return {
        "request": context["request"],
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2),
    }
