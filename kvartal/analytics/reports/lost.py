"""Sales office: lost deals and leads — terminated deals, lost leads and cancelled holds of
the period, grouped by the reason people typed."""

from collections import Counter
from decimal import Decimal

from django.db.models import Count, Exists, Max, OuterRef, Sum
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kvartal.clients.models import Lead, LeadEvent, LeadEventKind, LeadStatus
from kvartal.sales.models import Deal, Hold, HoldState

from ..base import Params, Report, register
from ..facts import percent
from ..results import Chart, Column, Figure, Result, Series, Table

ZERO = Decimal(0)
TOP_REASONS = 10


def reason_key(text: str) -> str:
    """Reasons typed differently but meaning the same group together: spaces collapsed,
    case folded (“Ипотека  не одобрена” and “ипотека не одобрена”)."""
    return " ".join((text or "").split()).casefold()


def group_reasons(rows) -> list[dict]:
    """``(text, count, amount)`` rows (one per distinct text typed) grouped by ``reason_key``;
    each group is shown by its most common text as typed. Largest groups first."""
    groups: dict[str, dict] = {}
    for text, count, amount in rows:
        group = groups.setdefault(
            reason_key(text), {"texts": Counter(), "count": 0, "amount": ZERO}
        )
        group["texts"][(text or "").strip()] += count
        group["count"] += count
        group["amount"] += amount or ZERO
    result = []
    for key, group in groups.items():
        # the most common spelling; among equally common ones, the first in order
        text = min(group["texts"].items(), key=lambda item: (-item[1], item[0]))[0]
        result.append(
            {
                "reason": text if key else gettext("No reason given"),
                "count": group["count"],
                "amount": group["amount"],
            }
        )
    result.sort(key=lambda r: (-r["count"], -r["amount"], r["reason"]))
    return result


def _with_shares(rows: list[dict]) -> tuple[list[dict], int]:
    total = sum(r["count"] for r in rows)
    for row in rows:
        row["share"] = percent(row["count"], total)
    return rows, total


def terminated_deals(params: Params):
    """Deals terminated in the period (a termination stage, closed inside it)."""
    period = params.period
    deals = Deal.objects.filter(
        params.unit_q(),
        stage__is_termination=True,
        closed_at__gte=period.since,
        closed_at__lt=period.until,
    )
    return deals.filter(params.manager_q())


def lost_leads(params: Params) -> list[tuple[str, int, str, int]]:
    """Leads lost in the period, counted by ``(reason, channel id, channel name)``: lost now,
    and their last move to "lost" in the lead's history falls in the period — or, with no such
    move in the history, received in the period.

    One statement of two grouped parts (those with a move, those without) whose rows the
    caller adds up: the last moves come from one GROUP BY over the history, not a look-up per
    lead, and each part stays simple enough for PostgreSQL to plan (and cost) well."""
    period = params.period
    leads = Lead.objects.filter(params.unit_q(), status=LeadStatus.LOST)
    leads = leads.filter(params.manager_q())
    moves = LeadEvent.objects.filter(kind=LeadEventKind.STATUS, new=LeadStatus.LOST)
    last_in_period = (
        moves.values("lead_id")
        .annotate(last=Max("at"))
        .filter(last__gte=period.since, last__lt=period.until)
        .values("lead_id")
    )
    never_moved = leads.filter(created_at__gte=period.since, created_at__lt=period.until).filter(
        ~Exists(moves.filter(lead_id=OuterRef("pk")))
    )

    def counted(queryset):
        return (
            queryset.values_list("lost_reason", "channel_id", "channel__name")
            .annotate(n=Count("pk"))
            .order_by()
        )

    return list(counted(leads.filter(pk__in=last_in_period)).union(counted(never_moved), all=True))


def cancelled_holds(params: Params):
    period = params.period
    holds = Hold.objects.filter(
        params.unit_q(),
        state=HoldState.CANCELLED,
        ended_at__gte=period.since,
        ended_at__lt=period.until,
    )
    return holds.filter(params.manager_q())


def _share_columns() -> list[Column]:
    return [Column("count", _("Count"), "int"), Column("share", _("Share, %"), "percent")]


def _top_chart(key: str, title, rows: list[dict]) -> Chart:
    top = rows[:TOP_REASONS]
    return Chart(
        key,
        title,
        [r["reason"] for r in top],
        [Series(str(_("Count")), [r["count"] for r in top])],
        kind="bar",
    )


@register
class Lost(Report):
    key = "lost"
    title = _("Lost deals and leads")
    description = _(
        "Deals terminated, leads lost and holds cancelled in the period, grouped by the "
        "reason given; lost leads also by channel."
    )
    group = "office"
    fields = ("period", "project", "building", "section", "unit_type", "manager")

    def run(self, params: Params) -> Result:
        deals = terminated_deals(params)
        deal_rows, deal_count = _with_shares(
            group_reasons(
                deals.values_list("termination_reason")
                .annotate(n=Count("pk"), amount=Sum("price"))
                .order_by()
            )
        )
        lead_groups = lost_leads(params)  # both tables of leads from one query
        lead_rows, lead_count = _with_shares(
            group_reasons((text, n, None) for text, _c, _name, n in lead_groups)
        )
        channels: dict = {}
        for _text, channel_id, name, n in lead_groups:
            channels[channel_id] = (name, channels.get(channel_id, (name, 0))[1] + n)
        channel_rows = sorted(
            ({"channel": gettext(name), "count": n} for name, n in channels.values()),
            key=lambda r: (-r["count"], r["channel"]),
        )
        _with_shares(channel_rows)
        hold_rows, hold_count = _with_shares(
            group_reasons(
                (text, n, None)
                for text, n in cancelled_holds(params)
                .values_list("end_reason")
                .annotate(n=Count("pk"))
                .order_by()
            )
        )
        deal_amount = sum((r["amount"] for r in deal_rows), ZERO)
        reason = Column("reason", _("Reason"))
        tables = [
            Table(
                "terminations",
                _("Terminated deals by reason"),
                [
                    reason,
                    Column("count", _("Deals"), "int"),
                    Column("amount", _("Sum of deal prices, ₽"), "money"),
                    Column("share", _("Share, %"), "percent"),
                ],
                deal_rows,
                total={"reason": _("Total"), "count": deal_count, "amount": deal_amount},
                empty=_("No deal was terminated in this period."),
            ),
            Table(
                "lost_leads",
                _("Lost leads by reason"),
                [reason, *_share_columns()],
                [{k: r[k] for k in ("reason", "count", "share")} for r in lead_rows],
                total={"reason": _("Total"), "count": lead_count},
                empty=_("No lead was lost in this period."),
            ),
            Table(
                "lost_leads_by_channel",
                _("Lost leads by channel"),
                [Column("channel", _("Channel")), *_share_columns()],
                channel_rows,
                total={"channel": _("Total"), "count": lead_count},
                empty=_("No lead was lost in this period."),
            ),
            Table(
                "cancelled_holds",
                _("Cancelled holds by reason"),
                [reason, *_share_columns()],
                [{k: r[k] for k in ("reason", "count", "share")} for r in hold_rows],
                total={"reason": _("Total"), "count": hold_count},
                empty=_("No hold was cancelled in this period."),
            ),
        ]
        notes = []
        if params.project or params.building or params.section or params.unit_types:
            notes.append(
                str(
                    _(
                        "With a place or unit type chosen, only leads that name a unit of "
                        "interest there are counted."
                    )
                )
            )
        return Result(
            title=str(self.title),
            figures=[
                Figure(_("Deals terminated"), deal_count),
                Figure(_("Sum of terminated deals"), deal_amount, "money"),
                Figure(_("Leads lost"), lead_count),
                Figure(_("Holds cancelled"), hold_count),
            ],
            tables=tables,
            charts=[
                _top_chart("terminations", _("Top reasons for terminating deals"), deal_rows),
                _top_chart("lost_leads", _("Top reasons leads were lost"), lead_rows),
            ],
            notes=notes,
        )
