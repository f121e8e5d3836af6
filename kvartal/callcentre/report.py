"""Call centre report (registered with the analytics registry; analytics never imports it).

For the calls that started in the period:

- per script and variant: calls, each outcome, conversion (a visit booked, an oral hold or a
  request sent), and per script Pearson's chi-squared test of "variant × converted or not";
- per operator: calls, answered, oral holds and the oral-hold rate (of answered calls), and
  speed-to-lead — the seconds from a lead's arrival to its first answered call — for the leads
  the operator first spoke to in the period (median and mean).

Three queries: outcomes grouped by variant, calls grouped by operator, first contacts.
"""

from collections import defaultdict
from decimal import Decimal
from statistics import mean, median

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kvartal.accounts.models import User
from kvartal.analytics.base import Params, Report
from kvartal.analytics.facts import percent
from kvartal.analytics.results import Column, Figure, Result, Table

from .models import Call, CallOutcome, CallState, FirstContact
from .scripts import chi2_independence

CONVERTED = (CallOutcome.VISIT, CallOutcome.ORAL_HOLD, CallOutcome.REQUEST)
SIGNIFICANCE = 0.05


def _calls(params: Params):
    return Call.objects.filter(
        started_at__gte=params.period.since, started_at__lt=params.period.until
    )


def variant_rows(params: Params) -> list[dict]:
    """One row per script variant that had calls in the period, with the outcome counts."""
    grouped = (
        _calls(params)
        .filter(variant__isnull=False)
        .values(
            "variant_id",
            "variant__name",
            "variant__weight",
            "variant__script_id",
            "variant__script__name",
            "outcome",
        )
        .annotate(n=Count("pk"))
        .order_by("variant__script__name", "variant__script_id", "variant_id")
    )
    rows: dict = {}
    for g in grouped:
        row = rows.setdefault(
            g["variant_id"],
            {
                "script_id": g["variant__script_id"],
                "script": g["variant__script__name"],
                "variant": g["variant__name"],
                "weight": g["variant__weight"],
                "calls": 0,
                **dict.fromkeys(CallOutcome.values, 0),
                "none": 0,
            },
        )
        row["calls"] += g["n"]
        row[g["outcome"] or "none"] += g["n"]
    for row in rows.values():
        row["converted"] = sum(row[o] for o in CONVERTED)
        row["conversion"] = percent(row["converted"], row["calls"])
    return list(rows.values())


def operator_rows(params: Params) -> list[dict]:
    grouped = (
        _calls(params)
        .filter(operator__isnull=False)
        .values("operator_id")
        .annotate(
            calls=Count("pk"),
            answered=Count("pk", filter=Q(answered_at__isnull=False)),
            missed=Count("pk", filter=Q(state=CallState.MISSED)),
            oral=Count("pk", filter=Q(outcome=CallOutcome.ORAL_HOLD)),
        )
    )
    speeds: dict = defaultdict(list)
    contacts = FirstContact.objects.filter(
        at__gte=params.period.since, at__lt=params.period.until, by__isnull=False
    ).values_list("by_id", "seconds")
    for user_id, seconds in contacts:
        speeds[user_id].append(seconds)
    counts = {g["operator_id"]: g for g in grouped}
    users = User.objects.filter(pk__in=set(counts) | set(speeds)).order_by(
        "last_name", "first_name", "username"
    )
    rows = []
    for user in users:
        g = counts.get(user.pk, {"calls": 0, "answered": 0, "missed": 0, "oral": 0})
        s = speeds.get(user.pk, [])
        rows.append(
            {
                "operator": user.short_name,
                "calls": g["calls"],
                "answered": g["answered"],
                "missed": g["missed"],
                "oral": g["oral"],
                "oral_rate": percent(g["oral"], g["answered"]),
                "leads": len(s),
                "speed_median": Decimal(median(s)) if s else None,
                "speed_mean": Decimal(mean(s)).quantize(Decimal("0.1")) if s else None,
            }
        )
    return rows


def script_tests(rows: list[dict]) -> list[str]:
    """A sentence per script with two or more variants: the chi-squared test's verdict."""
    by_script: dict = defaultdict(list)
    for row in rows:
        by_script[(row["script_id"], row["script"])].append(row)
    notes = []
    for (_id, name), variants in by_script.items():
        if len(variants) < 2:
            continue
        test = chi2_independence([(v["converted"], v["calls"] - v["converted"]) for v in variants])
        if test is None:
            notes.append(
                _("%(script)s: not enough data to compare the variants yet.") % {"script": name}
            )
            continue
        chi2, df, p = test
        verdict = (
            _("the variants differ (significant at 5 %)")
            if p < SIGNIFICANCE
            else _("no significant difference at 5 %")
        )
        notes.append(
            _("%(script)s: χ² = %(chi2).2f, df = %(df)d, p = %(p).4f — %(verdict)s.")
            % {"script": name, "chi2": chi2, "df": df, "p": p, "verdict": verdict}
        )
    return notes


class CallCentreReport(Report):
    key = "callcentre"
    title = gettext_lazy("Call centre: scripts and operators")
    description = gettext_lazy(
        "Calls of the period by script variant with their outcomes, conversion and a "
        "significance test; the oral-hold rate and speed-to-lead of each operator."
    )
    group = "office"
    fields = ("period",)

    def run(self, params: Params) -> Result:
        variants = variant_rows(params)
        operators = operator_rows(params)
        totals = _calls(params).aggregate(
            calls=Count("pk"),
            answered=Count("pk", filter=Q(answered_at__isnull=False)),
            oral=Count("pk", filter=Q(outcome=CallOutcome.ORAL_HOLD)),
        )
        speeds = [s for r in operators for s in [r["speed_median"]] if s is not None]
        outcome_columns = [Column(o.value, o.label, "int") for o in CallOutcome]
        return Result(
            title=str(self.title),
            figures=[
                Figure(_("Calls"), totals["calls"]),
                Figure(_("Answered"), totals["answered"]),
                Figure(_("Oral holds"), totals["oral"]),
                Figure(_("Oral-hold rate"), percent(totals["oral"], totals["answered"]), "percent"),
            ]
            + (
                [Figure(_("Median speed-to-lead, s"), Decimal(median(speeds)), "number")]
                if speeds
                else []
            ),
            tables=[
                Table(
                    "variants",
                    _("Scripts and variants"),
                    [
                        Column("script", _("Script")),
                        Column("variant", _("Variant")),
                        Column("weight", _("Weight"), "int"),
                        Column("calls", _("Calls"), "int"),
                        *outcome_columns,
                        Column("none", _("No outcome"), "int"),
                        Column("conversion", _("Conversion"), "percent"),
                    ],
                    variants,
                    empty=_("No call was assigned a script variant in the period."),
                ),
                Table(
                    "operators",
                    _("Operators"),
                    [
                        Column("operator", _("Operator")),
                        Column("calls", _("Calls"), "int"),
                        Column("answered", _("Answered"), "int"),
                        Column("missed", _("Missed"), "int"),
                        Column("oral", _("Oral holds"), "int"),
                        Column("oral_rate", _("Oral-hold rate"), "percent"),
                        Column("leads", _("Leads first contacted"), "int"),
                        Column("speed_median", _("Speed-to-lead, median, s"), "number"),
                        Column("speed_mean", _("Speed-to-lead, mean, s"), "number"),
                    ],
                    operators,
                    empty=_("No calls in the period."),
                ),
            ],
            notes=[
                *script_tests(variants),
                _(
                    "Conversion: a visit booked, an oral hold or a request sent. The test is "
                    "Pearson's chi-squared on variant × converted or not. The oral-hold rate is "
                    "of answered calls; speed-to-lead counts the leads first spoken to in the "
                    "period, from the lead's arrival to the first answered call with its phone."
                ),
            ],
        )
