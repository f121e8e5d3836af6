"""Template tags of sales: money to the kopeck and the payments block of a deal card."""

from django import template

from .. import selectors

register = template.Library()


@register.filter
def kopecks(value) -> str:
    """1234567.5 -> '1 234 567.50' (grouped, two decimals as the locale writes them)."""
    if value in (None, ""):
        return "—"
    return selectors.money_text(value)


@register.inclusion_tag("sales/payment_summary.html", takes_context=True)
def deal_payments(context, deal, full: bool = False):
    """``{% deal_payments deal %}``: planned against received, the schedule with overdue
    lines marked and a link to the payments page (three queries)."""
    return {
        "deal": deal,
        "state": selectors.deal_payment_state(deal),
        "full": full,
        "caps": context.get("caps", frozenset()),
    }
