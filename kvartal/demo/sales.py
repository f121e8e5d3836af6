"""The demo's buyers, holds, deals, schedules and payments, written through the sales services.

``history.simulate`` decides *what* happens to each unit and when (a hold, its cancellation,
a deal, its registration, a termination); each such client path is a ``SalePath`` drawn from
the seeded generator there. ``SalesReplay`` turns the path's events into service calls with
``at=`` dates: the holds, deals, stage moves, schedules and payments are the same rows a real
office would have made, and the unit statuses come from those services alone.
"""

import heapq
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from kvartal.accounts.models import Role
from kvartal.clients.models import Channel, ConsentChannel
from kvartal.clients.services import (
    client_create,
    consent_record,
    lead_convert,
    lead_create,
    visit_register,
)
from kvartal.inventory.models import Unit
from kvartal.sales.models import (
    Deal,
    HoldBasis,
    HoldKind,
    HoldTerm,
    PaymentMethod,
    Promotion,
    Stage,
    StageScheme,
)
from kvartal.sales.promotions_rules import promotion_applies
from kvartal.sales.services import deals as deal_services
from kvartal.sales.services import holds as hold_services
from kvartal.sales.services import payments as payment_services

from .people import COMPANIES, person

BANKS = ("Сбербанк", "ВТБ", "Альфа-Банк", "Газпромбанк", "Дом.РФ")
PROGRAMMES = ("Семейная ипотека 6 %", "IT-ипотека 6 %", "Субсидированная ставка 4,5 % на 2 года")
HOLD_COMMENTS = {
    HoldBasis.MORTGAGE: "Ждём одобрения ипотеки",
    HoldBasis.TRADE_IN: "Продаёт вторичную квартиру через trade-in",
    HoldBasis.FUNDS: "Собирает первоначальный взнос",
    HoldBasis.OTHER: "Думает до выходных, советуется с семьёй",
}
CANCEL_REASONS = (
    "Клиент отказался",
    "Банк отказал в ипотеке",
    "Клиент выбрал другую квартиру",
    "Не собрал первоначальный взнос",
)


@dataclass
class SalePath:
    """One client's way with one unit: who, through which manager, how they pay."""

    unit: int
    buyer: int  # index of the buyer in the pool
    manager: int  # index into the managers
    kind: str = HoldKind.ORAL
    basis: str = HoldBasis.OTHER
    method: str = PaymentMethod.FULL
    months: int = 0  # instalments
    company: bool = False
    late_payer: bool = False
    hold_until: datetime | None = None
    deal: Deal | None = field(default=None, repr=False)
    hold: object = field(default=None, repr=False)


def draw_path(rng: random.Random, unit: int, managers: int, buyer: int) -> SalePath:
    roll = rng.random()
    method = (
        PaymentMethod.MORTGAGE
        if roll < 0.5
        else PaymentMethod.SUBSIDISED
        if roll < 0.62
        else PaymentMethod.INSTALMENTS
        if roll < 0.8
        else PaymentMethod.FULL
    )
    basis = {
        PaymentMethod.MORTGAGE: HoldBasis.MORTGAGE,
        PaymentMethod.SUBSIDISED: HoldBasis.MORTGAGE,
        PaymentMethod.INSTALMENTS: HoldBasis.FUNDS,
    }.get(method, rng.choice((HoldBasis.TRADE_IN, HoldBasis.OTHER)))
    kind = rng.choices((HoldKind.ORAL, HoldKind.FREE, HoldKind.PAID), (5, 3, 2))[0]
    return SalePath(
        unit=unit,
        buyer=buyer,
        manager=rng.randrange(managers),
        kind=kind,
        basis=basis,
        method=method,
        months=rng.choice((6, 12)) if method == PaymentMethod.INSTALMENTS else 0,
        company=rng.random() < 0.03,
        late_payer=rng.random() < 0.08,
    )


class SalesReplay:
    """Applies sale events in time order; events may schedule later ones (payments)."""

    def __init__(self, *, people: dict, managers: list, end: datetime, seed: int):
        self.head = people[Role.SALES_HEAD]
        self.cashier = people.get(Role.CASHIER) or people[Role.ADMIN]
        self.managers = managers
        self.end = end
        self.rng = random.Random(f"{seed}/replay")
        self.pool_rng = random.Random(f"{seed}/buyers")
        self.clients: dict[int, object] = {}
        self.scheme = StageScheme.default()
        self.stages = {s.code: s for s in Stage.objects.filter(scheme=self.scheme)}
        self.terms = sorted(HoldTerm.objects.filter(is_active=True).values_list("days", flat=True))
        self.promotions = list(Promotion.objects.prefetch_related("projects", "buildings", "units"))
        self.later: list[tuple] = []  # (at, seq, action, path, extra)
        self.seq = 0
        self.numbers = 0
        self.channels = list(Channel.objects.order_by("order"))
        # Where buyers come from: sites and portals most, then calls, walk-ins, agencies.
        weights = {"site": 8, "cian": 6, "avito": 5, "domclick": 3, "yandex": 4, "call": 6,
                   "walk_in": 4, "agency": 3, "referral": 2, "other": 1}  # fmt: skip
        self.channel_weights = [weights.get(c.code, 1) for c in self.channels]

    # --- the queue of later events ---------------------------------------------------------

    def push(self, at: datetime, action: str, path: SalePath, extra=None) -> None:
        self.seq += 1
        heapq.heappush(self.later, (at, self.seq, action, path, extra))

    def due(self, until: datetime):
        """Pop the later events up to ``until`` (exclusive), in time order."""
        while self.later and self.later[0][0] < until:
            yield heapq.heappop(self.later)

    # --- people -----------------------------------------------------------------------------

    def client(self, path: SalePath, at: datetime):
        """The path's buyer. A new one first came as a lead (a few days before), was
        converted, gave consent and visited the sales office."""
        key = ("company", path.buyer % len(COMPANIES)) if path.company else path.buyer
        client = self.clients.get(key)
        if client is not None:
            return client
        manager = self.managers[path.manager]
        first_contact = at - timedelta(days=self.rng.randint(1, 12), hours=self.rng.randint(0, 6))
        if path.company:
            client = client_create(
                by=manager,
                kind="company",
                company_name=COMPANIES[path.buyer % len(COMPANIES)],
                inn=f"66{7_100_000 + path.buyer:08d}",
                phone=f"+7343{3_100_000 + path.buyer * 7919 % 6_000_000:07d}",
                created_at=first_contact,
            )
        else:
            p = person(self.pool_rng, path.buyer)
            channel = self.rng.choices(self.channels, self.channel_weights)[0]
            lead = lead_create(
                by=manager,
                channel=channel,
                name=f"{p.last_name} {p.first_name} {p.middle_name}",
                phone=p.phone,
                email=p.email,
                message="Интересует квартира, прошу перезвонить",
                manager=manager,
                at=first_contact,
                utm_source=channel.code if channel.code in ("yandex", "cian", "avito") else "",
            )
            client = lead_convert(lead=lead, by=manager, at=first_contact + timedelta(hours=2))
            client.created_at = first_contact
            client.save(update_fields=["created_at"])
            consent_record(
                client=client,
                by=manager,
                text_version="1.0",
                channel=ConsentChannel.PAPER,
                given_at=at - timedelta(hours=1),
            )
            visit_register(
                by=manager,
                client=client,
                received_by=manager,
                at=at - timedelta(hours=1),
                asked_about="Планировки, ипотека, сроки сдачи",
                units=[path.unit],
            )
        self.clients[key] = client
        return client

    # --- events ---------------------------------------------------------------------------

    def apply(self, at: datetime, action: str, path: SalePath, extra=None) -> None:
        getattr(self, f"on_{action}")(at, path, extra)

    def on_hold(self, at: datetime, path: SalePath, until: datetime | None) -> None:
        manager = self.managers[path.manager]
        client = self.client(path, at)
        if until is None:  # the decision comes later than the data: a term from the presets
            days = self.rng.choice(self.terms)
            end = at + timedelta(days=days)
        else:
            end = until + timedelta(hours=1)
        # Beyond a manager's limit the sales head makes the hold.
        by = manager if (end - at) <= timedelta(days=14) else self.head
        paid = path.kind == HoldKind.PAID
        path.hold = hold_services.hold_create(
            unit=Unit(pk=path.unit),
            client=client,
            manager=manager,
            by=by,
            kind=path.kind,
            basis=path.basis,
            comment=HOLD_COMMENTS[path.basis],
            amount=Decimal(self.rng.choice((10_000, 25_000, 50_000))) if paid else None,
            receipt_number=f"КО-{self.seq:06d}" if paid else "",
            expires_at=end,
            at=at,
        )

    def on_cancel(self, at: datetime, path: SalePath, extra) -> None:
        hold_services.hold_cancel(
            hold=path.hold,
            by=self.managers[path.manager],
            reason=self.rng.choice(CANCEL_REASONS),
            at=at,
        )

    def _promotion(self, unit: Unit, on) -> Promotion | None:
        for promotion in self.promotions:
            if promotion.is_running(on) and promotion_applies(promotion, unit):
                return promotion
        return None

    def on_deal(self, at: datetime, path: SalePath, extra) -> None:
        manager = self.managers[path.manager]
        client = self.client(path, at)
        unit = Unit.objects.select_related("building", "section", "floor").get(pk=path.unit)
        promotion = self._promotion(unit, at.date())
        bank = self.rng.choice(BANKS) if path.method != PaymentMethod.FULL else ""
        programme = self.rng.choice(PROGRAMMES) if path.method == PaymentMethod.SUBSIDISED else ""
        deal = deal_services.deal_open(
            by=manager,
            buyers=[deal_services.BuyerShare(client)],
            unit=None if path.hold is not None else unit,
            hold=path.hold,
            manager=manager,
            promotion=promotion,
            payment_method=path.method,
            bank=bank,
            programme=programme,
            scheme=self.scheme,
            at=at,
        )
        path.deal = deal
        payment_services.schedule_generate(
            deal=deal,
            by=manager,
            first_due=(at + timedelta(days=5)).date(),
            down_payment="30%" if path.method == PaymentMethod.INSTALMENTS else None,
            months=path.months or 12,
        )
        deal_services.deal_move(deal=deal, stage=self.stages["signed"], by=manager, at=at)
        # Buyers on instalments pay a quarter's lines at once; the others line by line.
        lines = list(deal.schedule.order_by("due_date", "pk"))
        batch = 3 if path.method == PaymentMethod.INSTALMENTS else 1
        for i in range(0, len(lines), batch):
            group = lines[i : i + batch]
            late = timedelta(days=self.rng.randint(20, 60)) if path.late_payer else timedelta(0)
            when = datetime.combine(group[-1].due_date, at.timetz()) + late
            if path.late_payer and self.rng.random() < 0.5 and when > self.end - timedelta(45):
                continue  # not paid yet: overdue today
            self.push(max(when, at + timedelta(hours=1)), "payment", path, group)

    def on_register(self, at: datetime, path: SalePath, extra) -> None:
        self.numbers += 1
        deal_services.deal_move(
            deal=path.deal,
            stage=self.stages["registered"],
            by=self.managers[path.manager],
            registration_number=f"66:41:0{self.numbers:06d}-66/199/{at:%Y}-{self.numbers % 97}",
            registration_date=at.date(),
            at=at,
        )

    def on_payment(self, at: datetime, path: SalePath, lines) -> None:
        deal = Deal.objects.select_related("stage").get(pk=path.deal.pk)
        if not deal.is_active:
            return
        payment_services.payment_record(
            deal=deal,
            amount=sum(line.amount for line in lines),
            received_on=at.date(),
            by=self.cashier,
            line=lines[0] if len(lines) == 1 else None,
            document=f"ПП-{self.seq:07d}",
        )
        deal.refresh_from_db()
        paid = self.stages.get("paid")
        if (
            paid is not None
            and deal.stage_id == self.stages["registered"].pk
            and deal_services.paid_total(deal) >= deal.total_due
        ):
            deal_services.deal_move(deal=deal, stage=paid, by=self.managers[path.manager], at=at)

    def on_terminate(self, at: datetime, path: SalePath, extra) -> None:
        deal_services.deal_terminate(
            deal=Deal.objects.select_related("stage").get(pk=path.deal.pk),
            by=self.head,
            reason="Расторжение ДДУ по соглашению сторон",
            at=at,
        )
