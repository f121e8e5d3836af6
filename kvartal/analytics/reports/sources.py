"""Sales office: lead sources — what each channel brought, followed to deals and money.

Per channel (every active one, and any other that brought leads): the leads received in the
period and where they stand (qualified — qualified or converted —, converted, lost), and, as
in the funnel (``funnel.py``), how many of those leads' clients came to the office, opened a
deal and bought (a deal that reached a stage where the unit counts as sold), from the moment
the lead came to today. The deal sum adds the prices of those deals, each deal once per
channel even when its client sent several leads. A second table ranks the UTM tags.

Four queries: the channels, the leads grouped by channel, status and the three marks, the
deals behind them (one compact row per channel and deal), the UTM ranking.
"""

from collections import defaultdict
from decimal import Decimal

from django.db.models import F
from django.utils.translation import gettext_lazy as _

from kvartal.clients.models import Channel, LeadStatus

from ..base import Params, Report, register
from ..facts import percent
from ..results import Chart, Column, Figure, Result, Series, Table
from .funnel import cohort, fetch, lead_marks

UTM_TOP = 30
QUALIFIED = (LeadStatus.QUALIFIED, LeadStatus.CONVERTED)
COUNTS = ("leads", "qualified", "converted", "lost", "visits", "deals", "sold")


def _blank_row(label) -> dict:
    return {"channel": label, **dict.fromkeys(COUNTS, 0), "amount": Decimal(0)}


@register
class LeadSources(Report):
    key = "sources"
    title = _("Lead sources")
    description = _(
        "What each channel brought in the period: leads, qualified, converted and lost, then "
        "the visits, deals and sales of those leads' clients, and the deal sum; the UTM "
        "campaigns ranked."
    )
    group = "office"
    fields = ("period", "manager")

    def run(self, params: Params) -> Result:
        leads = cohort(params)
        marks, values = lead_marks(params, leads, ch=F("channel_id"), st=F("status"))
        grouped = (
            'SELECT m."ch", m."st", m."visit", m."deal", m."sold", COUNT(*) '
            f'FROM ({marks}) m GROUP BY m."ch", m."st", m."visit", m."deal", m."sold"'
        )
        by_channel: dict = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
        for channel_id, status, visit, deal, sold, n in fetch(leads, grouped, values):
            row = by_channel[channel_id]
            row["leads"] += n
            row["qualified"] += n if status in QUALIFIED else 0
            row["converted"] += n if status == LeadStatus.CONVERTED else 0
            row["lost"] += n if status == LeadStatus.LOST else 0
            row["visits"] += n if visit else 0
            row["deals"] += n if deal else 0
            row["sold"] += n if sold else 0
        amounts: dict = defaultdict(Decimal)
        prices: dict = {}  # every deal once, for the total
        # One row per (channel, deal): a deal its client opened after a lead of the channel.
        for channel_id, deal_id, price in (
            leads.filter(client__deal_parts__deal__created_at__gte=F("created_at"))
            .values_list(
                "channel_id", "client__deal_parts__deal_id", "client__deal_parts__deal__price"
            )
            .distinct()
            .order_by()
        ):
            amounts[channel_id] += price
            prices[deal_id] = price
        channels = [
            c
            for c in Channel.objects.order_by("order", "name")
            if c.is_active or c.pk in by_channel
        ]
        rows = []
        total = _blank_row(_("Total"))
        for channel in channels:
            row = {"channel": str(channel), **by_channel.get(channel.pk, dict.fromkeys(COUNTS, 0))}
            row["conversion"] = percent(row["deals"], row["leads"])
            row["amount"] = amounts.get(channel.pk, Decimal(0))
            rows.append(row)
            for key in (*COUNTS, "amount"):
                total[key] += row[key]
        total["conversion"] = percent(total["deals"], total["leads"])
        total["amount"] = sum(prices.values(), Decimal(0))
        table = Table(
            "by_channel",
            _("Leads by channel"),
            [
                Column("channel", _("Channel")),
                Column("leads", _("Leads"), "int"),
                Column("qualified", _("Qualified"), "int"),
                Column("converted", _("Converted"), "int"),
                Column("lost", _("Lost"), "int"),
                Column("visits", _("Came to the office"), "int"),
                Column("deals", _("Opened a deal"), "int"),
                Column("sold", _("Bought"), "int"),
                Column("conversion", _("Lead → deal"), "percent"),
                Column("amount", _("Deal sum, ₽"), "money"),
            ],
            rows,
            total=total,
            empty=_("No lead channels are set up."),
        )
        utm = self._utm_table(params)
        chart = Chart(
            "by_channel",
            _("Leads and deals by channel"),
            [r["channel"] for r in rows],
            [
                Series(str(_("Leads")), [r["leads"] for r in rows]),
                Series(str(_("Opened a deal")), [r["deals"] for r in rows]),
            ],
            kind="bar",
        )
        return Result(
            title=str(self.title),
            figures=[
                Figure(_("Leads received"), total["leads"]),
                Figure(_("Opened a deal"), total["deals"]),
                Figure(_("Lead → deal"), total["conversion"], "percent"),
                Figure(_("Deal sum, ₽"), total["amount"], "money"),
            ],
            tables=[table, utm],
            charts=[chart],
            notes=[
                _(
                    "Leads received in the period, counted by their status today. “Came to the "
                    "office”, “Opened a deal” and “Bought” count leads whose client did so from "
                    "the moment the lead came to today; a lead not converted into a client "
                    "counts in none of them."
                ),
                _(
                    "The deal sum adds the prices of those deals, each deal once per channel "
                    "even when its client sent several leads, and once in the total even when "
                    "they came through several channels. The UTM table leaves out the leads "
                    "without UTM tags."
                ),
            ],
        )

    def _utm_table(self, params: Params) -> Table:
        tagged = cohort(params).exclude(utm_source="", utm_campaign="")
        marks, values = lead_marks(params, tagged, src=F("utm_source"), camp=F("utm_campaign"))
        ranked = (
            'SELECT m."src", m."camp", COUNT(*), SUM(m."deal") '
            f'FROM ({marks}) m GROUP BY m."src", m."camp" ORDER BY 3 DESC, 1, 2 LIMIT %s'
        )
        rows = [
            {
                "utm_source": source or "—",
                "utm_campaign": campaign or "—",
                "leads": n,
                "deals": deals,
                "conversion": percent(deals, n),
            }
            for source, campaign, n, deals in fetch(tagged, ranked, [*values, UTM_TOP])
        ]
        return Table(
            "utm",
            _("UTM tags (top %(n)s by leads)") % {"n": UTM_TOP},
            [
                Column("utm_source", "utm_source"),
                Column("utm_campaign", "utm_campaign"),
                Column("leads", _("Leads"), "int"),
                Column("deals", _("Opened a deal"), "int"),
                Column("conversion", _("Lead → deal"), "percent"),
            ],
            rows,
            empty=_("No lead of the period came with UTM tags."),
        )
