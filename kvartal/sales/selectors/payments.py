"""Reads of money and promotions: planned against received per deal and line (computed, never
stored), the cashier's list, the chessboard marks of money and promotions, a unit's promotion
offers.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Floor, Greatest, Least, Round
from django.db.models.lookups import Exact
from django.utils import dateformat, numberformat, timezone
from django.utils.formats import get_format, number_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import SALES_VIEW, has_capability
from kvartal.core.money import Kopecks, day_from_sql, from_sql, kopecks_sql, number_args
from kvartal.core.statements import Statement
from kvartal.inventory.extensions import BoardUnit, BoardUnits, CellMark, Panel
from kvartal.inventory.models import (
    BuildingKind,
    Unit,
    UnitKind,
    UnitStatus,
)
from kvartal.inventory.search import number_or_code_q

from ..models import (
    Deal,
    DealUnit,
    Payment,
    PaymentLine,
    Promotion,
)
from ..promotions_rules import promotion_rule
from .board import board_units, one_building, parking_spaces
from .search import text_q

# --- payments and promotions ------------------------------------------------------------
# Planned against received per deal and line (computed, never stored), the cashier's list,
# the chessboard marks of money and promotions, the promotion offers of a unit, the search.


ZERO = Decimal(0)


def money_text(value) -> str:
    """An amount to the kopeck as the current language writes it (grouped)."""
    return number_format(Decimal(value).quantize(Decimal("0.01")), 2, force_grouping=True)


class _Texts:
    """``money_text`` and the short date with the language's formats read once, and each
    date written once: a board writes a tooltip for every deal that owes (the same texts,
    a tenth of the time), and its deals' schedules share their due dates."""

    def __init__(self):
        self.money_args = number_args(2)
        self.day_format = get_format("SHORT_DATE_FORMAT", get_language())
        self.days: dict[date, str] = {}

    def money(self, value) -> str:
        value = Decimal(value).quantize(Decimal("0.01"))
        return numberformat.format(value, *self.money_args, force_grouping=True, use_l10n=True)

    def day(self, value: date) -> str:
        text = self.days.get(value)
        if text is None:
            text = self.days[value] = dateformat.format(value, self.day_format)
        return text


@dataclass
class LineState:
    """A planned payment with what has been allocated to it."""

    line: PaymentLine
    paid: Decimal
    overdue: bool = False

    @property
    def remaining(self) -> Decimal:
        return max(self.line.amount - self.paid, ZERO)

    @property
    def state(self) -> str:
        """``paid``, ``overdue``, ``part`` (partly paid) or ``planned``."""
        if self.remaining == 0:
            return "paid"
        if self.overdue:
            return "overdue"
        return "part" if self.paid > 0 else "planned"


@dataclass
class PaymentState:
    """Planned against received for one deal, computed from its lines and payments."""

    total_due: Decimal
    received: Decimal = ZERO
    lines: list[LineState] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)

    @property
    def planned(self) -> Decimal:
        return sum((s.line.amount for s in self.lines), ZERO)

    @property
    def outstanding(self) -> Decimal:
        return self.total_due - self.received

    @property
    def overdue(self) -> Decimal:
        return sum((s.remaining for s in self.lines if s.overdue), ZERO)

    @property
    def overdue_since(self) -> date | None:
        return min((s.line.due_date for s in self.lines if s.overdue), default=None)

    @property
    def is_overdue(self) -> bool:
        return self.overdue > 0

    @property
    def paid_in_full(self) -> bool:
        return self.received >= self.total_due

    @property
    def unplanned(self) -> Decimal:
        """What the schedule misses (or, negative, plans beyond) the total due."""
        return self.total_due - self.planned

    @property
    def next_line(self) -> LineState | None:
        return next((s for s in self.lines if s.remaining > 0), None)


def allocate(lines: list[PaymentLine], tied: dict, loose: Decimal) -> dict[int, Decimal]:
    """How much of each line (in schedule order) is paid.

    A payment tied to a line goes to that line up to its amount; the excess and the payments
    tied to no line cover the earliest lines in order. A negative line (a refund planned after
    a BTI measurement) counts as settled.
    """
    paid: dict[int, Decimal] = {}
    pool = loose
    for line in lines:
        to_line = tied.get(line.pk, ZERO)
        paid[line.pk] = min(to_line, line.amount) if line.amount > 0 else line.amount
        pool += to_line - max(paid[line.pk], ZERO)
    for line in lines:
        if pool <= 0:
            break
        gap = line.amount - paid[line.pk]
        if gap > 0:
            add = min(gap, pool)
            paid[line.pk] += add
            pool -= add
    return paid


def payment_states(totals: dict[int, Decimal], today: date | None = None) -> dict:
    """``{deal id: PaymentState}`` for the deals in ``totals`` (deal id → total due), in two
    queries however many deals: their lines, and their payments summed per line."""
    today = today or timezone.localdate()
    ids = list(totals)
    states = {pk: PaymentState(total_due=total) for pk, total in totals.items()}
    if not ids:
        return states
    lines_by_deal: dict[int, list[PaymentLine]] = defaultdict(list)
    for line in PaymentLine.objects.filter(deal_id__in=ids).order_by("due_date", "pk"):
        lines_by_deal[line.deal_id].append(line)
    tied: dict[int, dict] = defaultdict(dict)
    for deal_id, line_id, amount in (
        Payment.objects.filter(deal_id__in=ids)
        .values_list("deal_id", "line_id")
        .annotate(s=Sum("amount"))
        .order_by()
    ):
        tied[deal_id][line_id] = tied[deal_id].get(line_id, ZERO) + amount
    for pk, state in states.items():
        lines = lines_by_deal.get(pk, [])
        money = tied.get(pk, {})
        state.received = sum(money.values(), ZERO)
        known = {line.pk for line in lines}
        loose = sum((v for k, v in money.items() if k not in known), ZERO)
        paid = allocate(lines, money, loose)
        state.lines = [
            LineState(
                line=line,
                paid=paid[line.pk],
                overdue=line.due_date < today and paid[line.pk] < line.amount,
            )
            for line in lines
        ]
    return states


def deal_payment_state(deal: Deal, today: date | None = None) -> PaymentState:
    """One deal's schedule, payments and totals (three queries)."""
    state = payment_states({deal.pk: deal.total_due}, today)[deal.pk]
    state.payments = list(deal.payments.select_related("recorded_by", "line"))
    return state


def _money_sum(queryset, name: str):
    """A deal's sum of ``name``, rounded to the kopeck in SQL (compared in SQL below: exact on
    SQLite too, ``core.money``)."""
    return Coalesce(
        Subquery(queryset.values("deal_id").annotate(s=Kopecks(Sum(name))).values("s")[:1]),
        Value(ZERO),
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )


def deals_with_money_due(user, *, query: str = "", today: date | None = None):
    """The cashier's list: active deals ``user`` may see with money still due, overdue first.

    Annotates ``planned``, ``received``, ``total``, ``due_to_date`` (planned up to
    yesterday) and ``overdue_amount`` (what of that is not received). ``query`` matches the
    deal number, a buyer's last name or the unit's number or code.
    """
    today = today or timezone.localdate()
    lines = PaymentLine.objects.filter(deal_id=OuterRef("pk"))
    deals = (
        Deal.objects.for_user(user)
        .filter(is_active=True)
        .annotate(
            planned=_money_sum(lines, "amount"),
            received=_money_sum(Payment.objects.filter(deal_id=OuterRef("pk")), "amount"),
            due_to_date=_money_sum(lines.filter(due_date__lt=today), "amount"),
            total=Kopecks(F("price") + F("bti_adjustment")),
        )
        .annotate(overdue_amount=Kopecks(Greatest(F("due_to_date") - F("received"), Value(ZERO))))
        .filter(received__lt=F("total"))
    )
    query = query.strip()
    if query:
        deals = deals.filter(
            pk__in=Deal.objects.filter(
                Q(number__icontains=query)
                | text_q("buyers__client__last_name", query)
                | text_q("buyers__client__company_name", query)
                | Q(deal_units__unit__in=Unit.objects.filter(number_or_code_q(query)))
            ).values("pk")
        )
    return deals.select_related("unit__building__project", "stage", "manager").order_by(
        F("overdue_amount").desc(), "number"
    )


def cashier_totals(deals) -> dict:
    """Planned, received, outstanding and overdue over a ``deals_with_money_due`` selection."""
    rows = list(deals.values_list("planned", "received", "total", "overdue_amount"))
    return {
        "count": len(rows),
        "planned": sum((r[0] for r in rows), ZERO),
        "received": sum((r[1] for r in rows), ZERO),
        "outstanding": sum((r[2] - r[1] for r in rows), ZERO),
        "overdue": sum((r[3] for r in rows), ZERO),
        "overdue_count": sum(1 for r in rows if r[3] > 0),
    }


# Chessboard marks. Both providers cost a constant number of queries for any number of units.


@dataclass(frozen=True, slots=True)
class _Line:
    """What ``allocate`` and ``LineState`` read of a planned payment."""

    pk: int
    due_date: date
    amount: Decimal


def _board_money(
    units: list,
    building_id: int | None,
    *,
    today: date,
    parking_building: bool = False,
    has_parking: bool = True,
) -> list[tuple]:
    """The active deals of ``units`` that may carry a mark, with their schedule lines, and
    their payments summed per deal and line, in one query: ``(0, deal, unit, total, line,
    due date, amount)`` per line (one row with no line for a deal without a schedule) and
    ``(1, deal, None, None, line, None, sum)`` per deal and line paid to (line None: paid to
    no line). A board passes its building (one condition, not a thousand ids).

    A deal may carry a mark when it may owe money for dates before ``today``: its
    ``owes_from`` (``sales.owing``, kept on the deal) is before today. Only those are
    allocated line by line in Python. A parking space's deal always comes (paid /
    part-paid): on a board of a parking structure every deal, elsewhere (``has_parking``:
    the board shows parking spaces) the deals of units of the parking kind.
    """
    deal, line, payment = (m._meta.db_table for m in (Deal, PaymentLine, Payment))
    unit, part = Unit._meta.db_table, DealUnit._meta.db_table
    postgresql = connection.vendor == "postgresql"

    def among(subquery: str) -> str:
        # PostgreSQL runs the subquery first and reaches the rows through their index with
        # its ids; as a join (or a CTE) it hashes the whole table instead (it cannot tell
        # how few the ids are).
        return f"= ANY(ARRAY({subquery}))" if postgresql else f"IN ({subquery})"

    # Every unit of an active deal (a parking space sold with an apartment too): a deal of
    # several units gives a row per unit and line; the payments are summed per deal once.
    # A deal unit carries its unit's building: a board's deals are found without its units
    # (only the kind of a unit is read from them, for parking spaces among flats).
    may_owe = f"du.deal_id {among(f'SELECT id FROM {deal} WHERE is_active AND owes_from < %s')}"
    units_join = ""
    if building_id is None:  # a few units (the card): every deal
        ids = [u.pk for u in units]
        where, params = f"du.unit_id IN ({', '.join(['%s'] * len(ids))})", ids
    elif parking_building:
        where, params = "du.building_id = %s", [building_id]
    elif has_parking:
        units_join = f"JOIN {unit} u ON u.id = du.unit_id"
        where = f"du.building_id = %s AND ({may_owe} OR u.kind = %s)"
        params = [building_id, today, UnitKind.PARKING]
    else:
        where, params = f"du.building_id = %s AND {may_owe}", [building_id, today]
    sql = f"""
        WITH deals AS (
            SELECT d.id AS id, du.unit_id AS unit_id,
                   {kopecks_sql("d.price + d.bti_adjustment")} AS total
            FROM {part} du {units_join} JOIN {deal} d ON d.id = du.deal_id
            WHERE du.is_active AND d.is_active AND {where}
        )
        SELECT 0, deals.id, deals.unit_id, deals.total, l.id, l.due_date,
               {kopecks_sql("l.amount")}
        FROM deals LEFT JOIN {line} l ON l.deal_id = deals.id
        UNION ALL
        SELECT 1, p.deal_id, NULL, NULL, p.line_id, NULL, {kopecks_sql("SUM(p.amount)")}
        FROM {payment} p WHERE p.deal_id {among("SELECT DISTINCT id FROM deals")}
        GROUP BY p.deal_id, p.line_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def payment_marks(units, now: datetime) -> dict[int, list[CellMark]]:
    """``overdue`` on units whose deal has a planned payment past due and not covered; on a
    parking space (in a parking structure or in any building) also ``paid`` (paid in full)
    and ``part-paid``.

    One query (``_board_money``) reads the deals, their lines and their payments per line;
    the deals that still owe money for past dates (few) are allocated line by line here,
    the way ``payment_states`` does.
    """
    facts = board_units(units, now)
    if not facts:
        return {}
    today = timezone.localdate(now)
    deals: dict[int, tuple[set, Decimal]] = {}
    lines: dict[int, dict[int, _Line]] = defaultdict(dict)
    tied: dict[int, dict] = defaultdict(dict)
    building_id = one_building(facts)
    parking_building = building_id is not None and facts[0].building_kind == BuildingKind.PARKING
    parking = parking_spaces(facts)
    for kind, deal_id, unit_id, total, line_id, due, amount in _board_money(
        facts,
        building_id,
        today=today,
        parking_building=parking_building,
        has_parking=bool(parking),
    ):
        if kind == 0:
            deals.setdefault(deal_id, (set(), from_sql(total)))[0].add(unit_id)
            if line_id is not None:
                lines[deal_id][line_id] = _Line(line_id, day_from_sql(due), from_sql(amount))
        else:
            tied[deal_id][line_id] = tied[deal_id].get(line_id, ZERO) + from_sql(amount)
    marks: dict[int, list[CellMark]] = {}
    texts = _Texts()
    # Translated once, not per deal.
    overdue_text = _("Payment overdue: %(amount)s ₽ since %(date)s")
    part_paid_text = _("Paid %(received)s of %(total)s ₽")
    paid_in_full = CellMark("paid", _("Paid in full"))
    for deal_id, (unit_ids, total) in deals.items():
        money = tied.get(deal_id, {})
        received = sum(money.values(), ZERO)
        schedule = sorted(
            lines.get(deal_id, {}).values(), key=lambda line: (line.due_date, line.pk)
        )
        past = sum((line.amount for line in schedule if line.due_date < today), ZERO)
        found = []
        if received < min(past, total):  # owes money for past dates: allocate
            known = {line.pk for line in schedule}
            loose = sum((v for k, v in money.items() if k not in known), ZERO)
            paid = allocate(schedule, money, loose)
            state = PaymentState(total_due=total)
            state.received = received
            state.lines = [
                LineState(
                    line=line,
                    paid=paid[line.pk],
                    overdue=line.due_date < today and paid[line.pk] < line.amount,
                )
                for line in schedule
            ]
            if state.is_overdue:
                found.append(
                    CellMark(
                        "overdue",
                        overdue_text
                        % {
                            "amount": texts.money(state.overdue),
                            "date": texts.day(state.overdue_since),
                        },
                    )
                )
        for unit_id in sorted(unit_ids):
            shown = list(found)
            if unit_id in parking and received > 0:
                if received >= total:
                    shown.append(paid_in_full)
                else:
                    shown.append(
                        CellMark(
                            "part-paid",
                            part_paid_text
                            % {"received": texts.money(received), "total": texts.money(total)},
                        )
                    )
            if shown:
                marks[unit_id] = shown
    return marks


def running_promotions(on_date: date):
    return Promotion.objects.filter(is_active=True, starts_on__lte=on_date, ends_on__gte=on_date)


def promotions_for_units(
    unit_ids: Iterable[int], on_date: date | None = None, *, on_sale_only: bool = False
) -> dict[int, list[Promotion]]:
    """``{unit id: [running promotions that cover it]}`` in at most five queries: the
    running promotions with their three lists, and the units. ``on_sale_only`` leaves out
    units a client cannot take now (held, in a deal, sold, not for sale)."""
    ids = list(unit_ids)
    on_date = on_date or timezone.localdate()
    if not ids:
        return {}
    promotions = list(
        running_promotions(on_date)
        .prefetch_related("projects", "buildings", "units")
        .order_by("name", "pk")
    )
    if not promotions:
        return {}
    units = (Unit.objects.on_sale() if on_sale_only else Unit.objects).filter(pk__in=ids)
    found: dict[int, list[Promotion]] = {}
    rules = [(p, promotion_rule(p)) for p in promotions]
    # Plain rows, not model instances: a board asks about a thousand units at once.
    for pk, rooms, building_id, project_id, kind in units.values_list(
        "pk", "rooms", "building_id", "building__project_id", "kind"
    ):
        unit = UnitPlace(pk, rooms, building_id, SimpleNamespace(project_id=project_id), kind)
        matching = [p for p, applies in rules if applies(unit)]
        if matching:
            found[pk] = matching
    return found


def promotion_price_expression(on_date: date, *, project_ids: Iterable[int] | None = None):
    """The price after the best running promotion as a SQL expression over ``Unit`` rows:
    the lowest of the list price and, for each promotion covering the unit, the list price
    less ``Promotion.discount_for`` (the same arithmetic: never below ``min_price`` nor zero,
    the discount rounded to the rouble half to even). Lets lists filter and sort by the price
    a buyer pays; ``project_ids`` limits promotions to those projects' units. Two queries
    (the promotions with their lists) to build it."""
    price = F("price")
    # A promotion with a condition applies only on a deal where it holds: not a list price.
    promotions = list(
        running_promotions(on_date)
        .filter(condition="")
        .prefetch_related("projects", "buildings", "units")
    )
    chosen = None if project_ids is None else set(project_ids)
    cases = []
    for promotion in promotions:
        applies = _promotion_q(promotion, chosen)
        if applies is None:
            continue
        cases.append(
            Case(
                When(applies, then=price - _discount_sql(promotion)),
                default=price,
                output_field=MONEY_FIELD,
            )
        )
    if not cases:
        return ExpressionWrapper(price, output_field=MONEY_FIELD)
    return cases[0] if len(cases) == 1 else Least(*cases, output_field=MONEY_FIELD)


MONEY_FIELD = DecimalField(max_digits=16, decimal_places=2)


def _promotion_q(promotion: Promotion, chosen: set | None) -> Q | None:
    """``promotion_rule`` as a filter; ``None`` when it covers none of ``chosen`` projects."""
    projects = {p.pk for p in promotion.projects.all()}
    if chosen is not None:
        projects = (projects & chosen) if projects else set(chosen)
        if not projects:
            return None
    q = Q()
    if projects:
        q &= Q(building__project_id__in=projects)
    if buildings := [b.pk for b in promotion.buildings.all()]:
        q &= Q(building_id__in=buildings)
    if rooms := [int(r) for r in (promotion.rooms or [])]:
        q &= Q(rooms__in=rooms)
    if units := [u.pk for u in promotion.units.all()]:
        q &= Q(pk__in=units)
    if kinds := list(promotion.unit_kinds or []):
        q &= Q(kind__in=kinds)
    return q if q else Q(pk__isnull=False)


def _discount_sql(promotion: Promotion):
    """``Promotion.discount_for`` in SQL."""
    price, value = F("price"), Value(promotion.value, output_field=MONEY_FIELD)
    kind = Promotion.DiscountKind
    if promotion.discount_kind == kind.PERCENT:
        raw = price * value / Value(100, output_field=MONEY_FIELD)
    elif promotion.discount_kind == kind.AMOUNT:
        raw = value
    else:
        raw = price - value * F("total_area")
    zero = Value(Decimal(0), output_field=MONEY_FIELD)
    floor = Value(promotion.min_price or Decimal(0), output_field=MONEY_FIELD)
    discount = Least(
        Greatest(raw, zero, output_field=MONEY_FIELD),
        Greatest(price - floor, zero, output_field=MONEY_FIELD),
        output_field=MONEY_FIELD,
    )
    # Decimal.quantize's default: half to even (the discount is never negative here)
    half = Value(Decimal("0.5"), output_field=MONEY_FIELD)
    two = Value(Decimal(2), output_field=MONEY_FIELD)
    return Case(
        When(Exact(discount - Floor(discount), half), then=two * Round(discount / two)),
        default=Round(discount),
        output_field=MONEY_FIELD,
    )


@dataclass(frozen=True)
class UnitPlace:
    """What ``promotion_applies`` reads of a unit."""

    pk: int
    rooms: int | None
    building_id: int
    building: SimpleNamespace
    kind: str = ""


def _rules_query(on_date: date):
    """The running promotions joined to each of their three lists, one branch per list:
    ``(pk, name, rooms, list kind, item)`` rows."""

    def branch(kind: str, path: str):
        return (
            running_promotions(on_date)
            .order_by()
            .annotate(list_kind=Value(kind, output_field=CharField()), item=F(path))
            .values_list("pk", "name", "rooms", "list_kind", "item")
        )

    return branch("projects", "projects__id").union(
        branch("buildings", "buildings__id"), branch("units", "units__id"), all=True
    )


# Built by the ORM once per process: building it cost several times running it, on every
# chessboard. The day is its parameter.
_RULES = Statement(
    _rules_query,
    samples=(date(1001, 2, 3), date(1002, 3, 4)),
    adapt=lambda connection, day: connection.ops.adapt_datefield_value(day),
)


@dataclass(frozen=True)
class _Rule:
    """A running promotion as the chessboard checks units against it: its name, and the
    rooms, projects, buildings and units it is limited to (an empty set: no limit)."""

    name: str
    rooms: frozenset
    projects: frozenset
    buildings: frozenset
    units: frozenset

    def applies(self, unit: BoardUnit) -> bool:
        return (
            (not self.projects or unit.project_id in self.projects)
            and (not self.buildings or unit.building_id in self.buildings)
            and (not self.rooms or unit.rooms in self.rooms)
            and (not self.units or unit.pk in self.units)
        )

    def may_apply_in(self, building_id: int, project_id: int) -> bool:
        """Whether a unit of that building may be covered at all."""
        return (not self.projects or project_id in self.projects) and (
            not self.buildings or building_id in self.buildings
        )


def _running_rules(on_date: date) -> list[_Rule]:
    """The running promotions, ordered by name, in one query (``_rules_query``)."""
    found: dict[int, tuple[str, list, dict[str, set]]] = {}
    for pk, name, rooms, kind, item in _RULES.rows(on_date):
        _name, _rooms, lists = found.setdefault(
            pk, (name, rooms or [], {"projects": set(), "buildings": set(), "units": set()})
        )
        if item is not None:
            lists[kind].add(item)
    ordered = sorted(found.items(), key=lambda item: (item[1][0], item[0]))
    return [
        _Rule(
            name,
            frozenset(int(r) for r in rooms),
            frozenset(lists["projects"]),
            frozenset(lists["buildings"]),
            frozenset(lists["units"]),
        )
        for _pk, (name, rooms, lists) in ordered
    ]


def promotion_marks(units, now: datetime) -> dict[int, list[CellMark]]:
    """``promo`` on units on sale that a running promotion covers; the tooltip names them.
    One query (the promotions and their lists); none when no unit is on sale. On a board
    (one building) only the promotions that may cover its units are checked."""
    facts = board_units(units, now)
    on_sale = [u for u in facts if u.status == UnitStatus.AVAILABLE]
    if not on_sale:
        return {}
    rules = _running_rules(timezone.localdate(now))
    if type(facts) is BoardUnits:
        rules = [r for r in rules if r.may_apply_in(facts.building_id, facts.project_id)]
    if not rules:
        return {}
    marks, titles = {}, {}
    for unit in on_sale:
        names = tuple(rule.name for rule in rules if rule.applies(unit))
        if names:
            mark = titles.get(names)
            if mark is None:
                mark = titles[names] = CellMark(
                    "promo", _("Promotion: %(names)s") % {"names": ", ".join(names)}
                )
            marks[unit.pk] = [mark]
    return marks


@dataclass
class PromotionOffer:
    promotion: Promotion
    discount: Decimal
    price_after: Decimal


def promotion_offers(unit: Unit, on_date: date | None = None) -> list[PromotionOffer]:
    """The running promotions for one unit on sale, with the discount and the price after
    each (best first)."""
    if unit.effective_status() != UnitStatus.AVAILABLE or not unit.price:
        return []
    offers = []
    for promotion in promotions_for_units([unit.pk], on_date).get(unit.pk, []):
        discount = promotion.discount_for(price=unit.price, area=unit.total_area)
        offers.append(PromotionOffer(promotion, discount, unit.price - discount))
    return sorted(offers, key=lambda o: -o.discount)


def payment_unit_panels(request, unit: Unit) -> list[Panel]:
    """The unit card's blocks: the running promotions with the price after each (a unit on
    sale), and the money of the unit's active deal for those who may see that deal."""
    panels = []
    offers = promotion_offers(unit)
    if offers:
        panels.append(
            Panel("sales/promotion_unit_panel.html", {"unit": unit, "offers": offers}, order=30)
        )
    user = request.user
    if has_capability(user, SALES_VIEW):
        deal = (
            Deal.objects.for_user(user)
            .filter(deal_units__unit=unit, deal_units__is_active=True)
            .first()
        )
        if deal is not None:
            panels.append(
                Panel(
                    "sales/payment_unit_panel.html",
                    {"deal": deal, "state": deal_payment_state(deal)},
                    order=60,
                )
            )
    return panels
