"""The demo's buyers, holds, deals, schedules and payments, written through the sales services.

``history.simulate`` decides *what* happens to each unit and when (a hold, its cancellation,
a deal, its registration, a termination); each such client path is a ``SalePath`` drawn from
the seeded generator there. ``SalesReplay`` turns the path's events into service calls with
``at=`` dates: the holds, deals, stage moves, schedules and payments are the same rows a real
office would have made, and the unit statuses come from those services alone.

``SaleScript`` holds every decision the replay draws (when a buyer first called, the hold's
term and extensions, the discounts, the bank, when each payment comes) and the queue of later
events. The bulk loader (``bulk._Loader``) is a ``SaleScript`` too and asks the same questions
in the same order, so the same seed gives the same rows either way
(``demo/tests/test_bulk_parity.py``).
"""

import heapq
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal

from django.utils import timezone

from kvartal.accounts.models import Role
from kvartal.clients.models import Channel, ConsentChannel, LeadStatus
from kvartal.clients.services import (
    client_create,
    consent_record,
    lead_convert,
    lead_create,
    lead_set_status,
    task_create,
    visit_register,
)
from kvartal.inventory.models import Unit
from kvartal.sales.models import (
    ContractType,
    Deal,
    HoldBasis,
    HoldKind,
    HoldTerm,
    PaymentMethod,
    Promotion,
    SalesSettings,
    Stage,
    StageScheme,
)
from kvartal.sales.promotions_rules import promotion_rule
from kvartal.sales.services import deals as deal_services
from kvartal.sales.services import holds as hold_services
from kvartal.sales.services import payments as payment_services

from .data import END
from .people import COMPANIES, papers, person

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
# Holds of undecided clients extended before they run out (each time), and why.
EXTENDED_SHARE = 0.75
EXTENSION_REASONS = (
    "Банк продлил рассмотрение ипотеки",
    "Клиент ждёт продажи своей квартиры",
    "Клиент попросил ещё несколько дней",
)
MANUAL_DISCOUNT_SHARE = 0.12  # deals with a small discount a manager may give (≤ the limit)
LEAD_MESSAGE = "Интересует квартира, прошу перезвонить"
ENQUIRY_MESSAGES = (
    "Интересует квартира, прошу перезвонить",
    "Пришлите планировки и цены",
    "Есть ли двухкомнатные с отделкой?",
    "Какие условия ипотеки?",
)
# Why the leads that bought nothing were lost (what managers type).
LOST_REASONS = (
    "Не дозвонились",
    "Дорого",
    "Выбрал другой ЖК",
    "Не подошла планировка",
    "Не одобрили ипотеку",
    "Неактуально, купили вторичку",
)
# What a manager plans next for a lead in work (a task due today or in the next days).
NEXT_STEPS = (
    "Перезвонить: уточнить бюджет",
    "Отправить планировки и цены",
    "Пригласить на показ",
    "Рассказать об ипотеке и рассрочке",
)
# The people who enquired and bought nothing are numbered apart from the buyers (their phones
# are unique for the number: ``person``).
ENQUIRER_BASE = 5_000_000
VISIT_ASKED = "Планировки, ипотека, сроки сдачи"
TERMINATION = "Расторжение ДДУ по соглашению сторон"
THOUSAND = Decimal(1000)
KOPECK = Decimal("0.01")


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
    # Where the replay has taken the deal (its stage's code, or "terminated"): only the
    # replay moves its deals, so it knows without reading the deal again.
    stage: str = ""
    hold: object = field(default=None, repr=False)
    # The deal will be terminated (planned with the path): it is never handed over, however
    # much its buyers pay before.
    terminates: bool = False


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


def _office_hours(day: datetime, rng: random.Random) -> datetime:
    """A moment of ``day``'s local date between 9:00 and 18:59, when requests come and calls
    are made (a walk-in at five in the morning reads wrong)."""
    local = timezone.localtime(day).date()
    return timezone.make_aware(
        datetime.combine(local, time(rng.randint(9, 18), rng.randint(0, 59)))
    )


@dataclass(frozen=True)
class Enquiry:
    """A request that led to no sale: a lead received, and lost or still being worked on."""

    at: datetime
    name: str
    phone: str
    email: str
    message: str
    channel: Channel
    manager: int  # an index in the managers
    status: str  # ``LeadStatus``: new, in work or lost
    moved_at: datetime | None  # when it went in work or was lost (None: still new)
    reason: str  # why it was lost
    task: str = ""  # a lead in work: the manager's next step, due ``task_due``
    task_due: datetime | None = None


class SaleScript:
    """The replay's decisions, drawn from one seeded generator in the order the events come,
    and the queue of the events the months schedule themselves (payments, holds running out).

    Both loaders are one: ``SalesReplay`` (through the services) and the bulk loader call the
    same questions in the same order, so they draw the same answers."""

    def __init__(self, *, people: dict, managers: list, seed: int):
        self.head = people[Role.SALES_HEAD]
        self.cashier = people.get(Role.CASHIER) or people[Role.ADMIN]
        self.managers = managers
        self.rng = random.Random(f"{seed}/replay")
        self.pool_rng = random.Random(f"{seed}/buyers")
        # The requests that led to no sale draw from their own generator: the sales' draws
        # stay what they were.
        self.enquiry_rng = random.Random(f"{seed}/enquiries")
        self.enquirers = 0
        self.handover_rng = random.Random(f"{seed}/handovers")
        self.settings = SalesSettings.current()
        self.terms = sorted(HoldTerm.objects.filter(is_active=True).values_list("days", flat=True))
        self.promotions = [
            (p, promotion_rule(p))
            for p in Promotion.objects.prefetch_related("projects", "buildings", "units")
        ]
        self.channels = list(Channel.objects.order_by("order"))
        # Where buyers come from: sites and portals most, then calls, walk-ins, agencies.
        weights = {"site": 8, "cian": 6, "avito": 5, "domclick": 3, "yandex": 4, "call": 6,
                   "walk_in": 4, "agency": 3, "referral": 2, "other": 1}  # fmt: skip
        self.channel_weights = [weights.get(c.code, 1) for c in self.channels]
        self.later: list[tuple] = []  # (at, seq, action, path, extra)
        self.seq = 0
        self.registrations = 0

    # --- the queue of later events ---------------------------------------------------------

    def push(self, at: datetime, action: str, path: SalePath, extra=None) -> None:
        self.seq += 1
        heapq.heappush(self.later, (at, self.seq, action, path, extra))

    def due(self, until: datetime):
        """Pop the later events up to ``until`` (exclusive), in time order."""
        while self.later and self.later[0][0] < until:
            yield heapq.heappop(self.later)

    def play_to_end(self) -> None:
        """The data's end: the later events up to it, then the requests of its last two days
        that nobody has called back yet (``fresh_enquiries``)."""
        self.play_due(END)
        for enquiry in self.fresh_enquiries():
            self.enquire(enquiry)

    def enquire(self, enquiry: "Enquiry") -> None:
        raise NotImplementedError  # each loader writes a request its own way

    def play_due(self, until: datetime) -> None:
        for at, _seq, action, path, extra in self.due(until):
            self.apply(at, action, path, extra)

    def apply(self, at: datetime, action: str, path: SalePath, extra=None) -> None:
        getattr(self, f"on_{action}")(at, path, extra)

    # --- the decisions, in the order the handlers ask them ----------------------------------

    def first_contact(self, at: datetime) -> datetime:
        """When a new buyer first called: a few days before they came."""
        return at - timedelta(days=self.rng.randint(1, 12), hours=self.rng.randint(0, 6))

    def channel(self) -> Channel:
        return self.rng.choices(self.channels, self.channel_weights)[0]

    def hand_over_later(self, path: SalePath, paid_at: datetime, completion: date | None):
        """A unit paid for in full is handed over (the act signed) two to eight weeks after
        both the last payment and its building's completion; not before the data's end, the
        deal waits at "paid", as My day then lists it. Draws from its own generator."""
        if completion is None:
            return
        rng = self.handover_rng
        start = max(timezone.localdate(paid_at), completion)
        day = start + timedelta(days=rng.randint(14, 56))
        at = timezone.make_aware(datetime.combine(day, time(11, rng.randint(0, 59))))
        if at < END and not path.terminates:  # drawn all the same: the stream stays as it was
            self.push(at, "handover", path)

    def fresh_enquiries(self) -> list[Enquiry]:
        """Two requests a manager from the last two days: one nobody has called back yet, one
        called, in work, its next step due today or in the next days — what My day gives to
        call and to do."""
        rng = self.enquiry_rng
        found = []
        for n in range(2 * len(self.managers)):
            self.enquirers += 1
            p = person(rng, ENQUIRER_BASE + self.enquirers)
            at = _office_hours(END - timedelta(days=rng.randint(1, 2)), rng)
            called = n >= len(self.managers)
            found.append(
                Enquiry(
                    at=at,
                    name=f"{p.last_name} {p.first_name} {p.middle_name}",
                    phone=p.phone,
                    email=p.email,
                    message=rng.choice(ENQUIRY_MESSAGES),
                    channel=rng.choices(self.channels, self.channel_weights)[0],
                    manager=n % len(self.managers),
                    status=LeadStatus.IN_WORK if called else LeadStatus.NEW,
                    moved_at=at + timedelta(minutes=rng.randint(20, 120)) if called else None,
                    reason="",
                    task=rng.choice(NEXT_STEPS) if called else "",
                    task_due=(
                        _office_hours(END + timedelta(days=rng.randint(0, 3)), rng)
                        if called
                        else None
                    ),
                )
            )
        return found

    def enquiries(self, first_contact: datetime) -> list[Enquiry]:
        """The other requests of the days a new buyer first called: one to four people who
        asked and bought nothing, so about a lead in three ends in a sale. A request is
        taken up within hours to days; one older than a fortnight at the data's end was lost
        by then (with the manager's reason), a recent one may still be new or in work."""
        rng = self.enquiry_rng
        found = []
        for _ in range(rng.choices((1, 2, 3, 4), (2, 3, 3, 2))[0]):
            self.enquirers += 1
            at = _office_hours(first_contact - timedelta(days=rng.randint(0, 6)), rng)
            p = person(rng, ENQUIRER_BASE + self.enquirers)
            channel = rng.choices(self.channels, self.channel_weights)[0]
            moved_at = at + timedelta(days=rng.randint(0, 4), minutes=rng.randint(20, 180))
            recent = END - at < timedelta(days=14)
            if moved_at >= END:
                status, moved_at, reason = LeadStatus.NEW, None, ""
            elif recent and rng.random() < 0.6:
                status, reason = LeadStatus.IN_WORK, ""
            else:
                status, reason = LeadStatus.LOST, rng.choice(LOST_REASONS)
            task, task_due = "", None
            if status == LeadStatus.IN_WORK:  # the next step: today or in the next days
                task = rng.choice(NEXT_STEPS)
                task_due = _office_hours(END + timedelta(days=rng.randint(0, 3)), rng)
            found.append(
                Enquiry(
                    at=at,
                    name=f"{p.last_name} {p.first_name} {p.middle_name}",
                    phone=p.phone,
                    email=p.email,
                    message=rng.choice(ENQUIRY_MESSAGES),
                    channel=channel,
                    manager=rng.randrange(len(self.managers)),
                    status=status,
                    moved_at=moved_at,
                    reason=reason,
                    task=task,
                    task_due=task_due,
                )
            )
        return found

    def hold_end(self, at: datetime, until: datetime | None) -> datetime:
        """The decision comes later than the data: a term from the presets; else an hour after
        the moment the client decides."""
        if until is None:
            return at + timedelta(days=self.rng.choice(self.terms))
        return until + timedelta(hours=1)

    def hold_maker(self, manager, at: datetime, end: datetime):
        """Beyond a manager's limit the sales head makes the hold."""
        limit = timedelta(days=hold_services.max_hold_days(manager, self.settings))
        return manager if end - at <= limit else self.head

    def deposit(self, path: SalePath) -> tuple[Decimal | None, str]:
        """A paid hold's amount and receipt number."""
        if path.kind != HoldKind.PAID:
            return None, ""
        return Decimal(self.rng.choice((10_000, 25_000, 50_000))), f"КО-{self.seq:06d}"

    def extensions(self, *, starts_at: datetime, expires_at: datetime, manager) -> list[tuple]:
        """An undecided client's hold (nothing else happens to it in the data) is mostly
        extended before it runs out: by the manager as often as they may, then by the sales
        head, each time within the extender's limit from that moment. ``(at, by, new end,
        reason)`` each. Each extension is made in office hours of the day or two before the
        hold runs out (an extension at three in the night, to three the next night, reads
        wrong), so the new end keeps office hours too."""
        done, last = [], starts_at
        while expires_at <= END and self.rng.random() < EXTENDED_SHARE:
            at = _office_hours(expires_at - timedelta(days=self.rng.randint(1, 2)), self.rng)
            if not last < at < expires_at:
                break
            last = at
            allowed = hold_services.max_extensions(manager, self.settings)
            by = self.head if allowed is not None and len(done) >= allowed else manager
            days = hold_services.max_hold_days(by, self.settings)
            end = min(
                expires_at + timedelta(days=self.rng.choice(self.terms)),
                at + timedelta(days=days),
            )
            done.append((at, by, end, self.rng.choice(EXTENSION_REASONS)))
            expires_at = end
        return done

    def cancel_reason(self) -> str:
        return self.rng.choice(CANCEL_REASONS)

    def discounts(self, unit, on, list_price: Decimal) -> tuple[Promotion | None, Decimal]:
        """The first running promotion covering the unit whose price floor the deal keeps, and
        now and then a small discount the manager may give alone (≤ the approval limit, never
        below the promotion's floor): ``(promotion, manual discount)``."""
        chosen, left = None, list_price
        for promotion, applies in self.promotions:
            if promotion.is_running(on) and applies(unit):
                price = list_price - promotion.discount_for(price=list_price, area=unit.total_area)
                if price > 0 and not (promotion.min_price and price < promotion.min_price):
                    chosen, left = promotion, price
                    break
        manual = Decimal(0)
        if self.rng.random() < MANUAL_DISCOUNT_SHARE:
            share = Decimal(self.rng.choice((5, 10, 15, 20, 25, 30))) / 1000
            limit = list_price * self.settings.discount_approval_percent / 100
            manual = min(list_price * share, limit) / THOUSAND
            manual = (manual.to_integral_value(ROUND_DOWN) * THOUSAND).quantize(KOPECK)
            floor = chosen.min_price if chosen is not None and chosen.min_price else Decimal(0)
            if left - manual <= 0 or (floor and left - manual < floor):
                manual = Decimal(0)
        return chosen, manual

    def bank(self, method: str) -> str:
        return self.rng.choice(BANKS) if method != PaymentMethod.FULL else ""

    def programme(self, method: str) -> str:
        return self.rng.choice(PROGRAMMES) if method == PaymentMethod.SUBSIDISED else ""

    @staticmethod
    def contract_type(completion, on) -> str:
        """A finished building is sold by a sale contract, one under construction by a DDU."""
        return ContractType.DKP if completion is not None and completion <= on else ContractType.DDU

    def plan_payments(self, path: SalePath, lines: list, at: datetime) -> None:
        """Buyers on instalments pay a quarter's lines at once; the others line by line; a
        late payer pays weeks late, and some of the last lines not yet (overdue today)."""
        batch = 3 if path.method == PaymentMethod.INSTALMENTS else 1
        for i in range(0, len(lines), batch):
            group = lines[i : i + batch]
            late = timedelta(days=self.rng.randint(20, 60)) if path.late_payer else timedelta(0)
            when = datetime.combine(group[-1].due_date, at.timetz()) + late
            if path.late_payer and self.rng.random() < 0.5 and when > END - timedelta(45):
                continue
            self.push(max(when, at + timedelta(hours=1)), "payment", path, group)

    def registration_number(self, at: datetime) -> str:
        self.registrations += 1
        n = self.registrations
        return f"66:41:0{n:06d}-66/199/{at:%Y}-{n % 97}"

    def document(self) -> str:
        return f"ПП-{self.seq:07d}"


class SalesReplay(SaleScript):
    """Applies sale events in time order through the services; events may schedule later
    ones (payments, holds running out)."""

    def __init__(self, *, people: dict, managers: list, end: datetime, seed: int):
        super().__init__(people=people, managers=managers, seed=seed)
        self.end = end
        self.clients: dict[int, object] = {}
        self.scheme = StageScheme.default()
        self.stages = {s.code: s for s in Stage.objects.filter(scheme=self.scheme)}

    # --- people -----------------------------------------------------------------------------

    def client(self, path: SalePath, at: datetime):
        """The path's buyer. A new one first came as a lead (a few days before), was
        converted, gave consent and visited the sales office."""
        key = ("company", path.buyer % len(COMPANIES)) if path.company else path.buyer
        client = self.clients.get(key)
        if client is not None:
            return client
        manager = self.managers[path.manager]
        first_contact = self.first_contact(at)
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
            channel = self.channel()
            lead = lead_create(
                by=manager,
                channel=channel,
                name=f"{p.last_name} {p.first_name} {p.middle_name}",
                phone=p.phone,
                email=p.email,
                message=LEAD_MESSAGE,
                manager=manager,
                at=first_contact,
                utm_source=channel.code if channel.code in ("yandex", "cian", "avito") else "",
            )
            client = lead_convert(lead=lead, by=manager, at=first_contact + timedelta(hours=2))
            for enquiry in self.enquiries(first_contact):
                self.enquire(enquiry)
            client.created_at = first_contact
            # The passport the buyer shows at the office (the deal's documents print it).
            shown = papers(path.buyer, at.date())
            for name, value in shown.items():
                setattr(client, name, value)
            client.save(update_fields=["created_at", *shown])
            consent_record(
                client=client,
                by=manager,
                text_version="1.0",
                channel=ConsentChannel.PAPER,
                given_at=at - timedelta(hours=1),
                at=at - timedelta(hours=1),
            )
            visit_register(
                by=manager,
                client=client,
                received_by=manager,
                at=at - timedelta(hours=1),
                asked_about=VISIT_ASKED,
                units=[path.unit],
            )
        self.clients[key] = client
        return client

    def enquire(self, enquiry: Enquiry) -> None:
        """A request that led to no sale, through the lead services."""
        manager = self.managers[enquiry.manager]
        channel = enquiry.channel
        lead = lead_create(
            by=manager,
            channel=channel,
            name=enquiry.name,
            phone=enquiry.phone,
            email=enquiry.email,
            message=enquiry.message,
            manager=manager,
            at=enquiry.at,
            utm_source=channel.code if channel.code in ("yandex", "cian", "avito") else "",
        )
        if enquiry.moved_at is not None:
            lead_set_status(
                lead=lead,
                status=enquiry.status,
                by=manager,
                reason=enquiry.reason,
                at=enquiry.moved_at,
            )
        if enquiry.task:
            task_create(
                by=manager, title=enquiry.task, due_at=enquiry.task_due, assignee=manager, lead=lead
            )

    # --- events ---------------------------------------------------------------------------

    def on_hold(self, at: datetime, path: SalePath, until: datetime | None) -> None:
        manager = self.managers[path.manager]
        client = self.client(path, at)
        end = self.hold_end(at, until)
        by = self.hold_maker(manager, at, end)
        amount, receipt = self.deposit(path)
        hold = hold_services.hold_create(
            unit=Unit(pk=path.unit),
            client=client,
            manager=manager,
            by=by,
            kind=path.kind,
            basis=path.basis,
            comment=HOLD_COMMENTS[path.basis],
            amount=amount,
            receipt_number=receipt,
            expires_at=end,
            at=at,
        )
        if until is None:
            for when, extender, new_end, reason in self.extensions(
                starts_at=at, expires_at=end, manager=manager
            ):
                hold = hold_services.hold_extend(
                    hold=hold, by=extender, expires_at=new_end, reason=reason, at=when
                )
        path.hold = hold
        if hold.expires_at < END:  # runs out within the data: the periodic job finalises it
            self.push(hold.expires_at, "expire", path)

    def on_expire(self, at: datetime, path: SalePath, extra) -> None:
        """The periodic job at the moment the hold ran out (nothing, when it ended before)."""
        hold_services.holds_expire(now=at)

    def on_cancel(self, at: datetime, path: SalePath, extra) -> None:
        hold_services.hold_cancel(
            hold=path.hold, by=self.managers[path.manager], reason=self.cancel_reason(), at=at
        )

    def on_deal(self, at: datetime, path: SalePath, extra) -> None:
        manager = self.managers[path.manager]
        client = self.client(path, at)
        unit = Unit.objects.select_related("building", "section", "floor").get(pk=path.unit)
        on = timezone.localdate(at)
        list_price = path.hold.price if path.hold is not None else unit.price
        promotion, manual = self.discounts(unit, on, list_price)
        deal = deal_services.deal_open(
            by=manager,
            buyers=[deal_services.BuyerShare(client)],
            unit=None if path.hold is not None else unit,
            hold=path.hold,
            manager=manager,
            promotion=promotion,
            manual_discount=manual,
            payment_method=path.method,
            bank=self.bank(path.method),
            programme=self.programme(path.method),
            contract_type=self.contract_type(unit.building.completion_date, on),
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
            at=at,
        )
        deal_services.deal_move(deal=deal, stage=self.stages["signed"], by=manager, at=at)
        path.stage = "signed"
        self.plan_payments(path, list(deal.schedule.order_by("due_date", "pk")), at)

    def on_register(self, at: datetime, path: SalePath, extra) -> None:
        deal_services.deal_move(
            deal=path.deal,
            stage=self.stages["registered"],
            by=self.managers[path.manager],
            registration_number=self.registration_number(at),
            registration_date=at.date(),
            at=at,
        )
        path.stage = "registered"
        self._paid_in_full(path, at)

    def _paid_in_full(self, path: SalePath, at: datetime) -> None:
        """A registered deal whose buyers have paid everything moves on to "paid"."""
        if path.stage != "registered":
            return  # not yet registered, already paid, or terminated: nothing to read
        deal = Deal.objects.select_related("stage").get(pk=path.deal.pk)
        paid = self.stages.get("paid")
        if (
            paid is not None
            and deal.is_active
            and deal.stage_id == self.stages["registered"].pk
            and deal_services.paid_total(deal) >= deal.total_due
        ):
            deal_services.deal_move(deal=deal, stage=paid, by=self.managers[path.manager], at=at)
            path.stage = "paid"
            completion = Unit.objects.filter(pk=path.unit).values_list(
                "building__completion_date", flat=True
            )
            self.hand_over_later(path, at, completion.get())

    def on_handover(self, at: datetime, path: SalePath, extra) -> None:
        """The handover act of a unit paid for in full (``hand_over_later``)."""
        handed = self.stages.get("handed_over")
        if path.stage != "paid" or handed is None:
            return  # terminated meanwhile, or a flow without a handover
        deal_services.deal_move(
            deal=Deal.objects.select_related("stage").get(pk=path.deal.pk),
            stage=handed,
            by=self.managers[path.manager],
            act_date=timezone.localdate(at),
            at=at,
        )
        path.stage = "handed_over"

    def on_payment(self, at: datetime, path: SalePath, lines) -> None:
        if path.stage == "terminated":
            return
        payment_services.payment_record(
            deal=path.deal,  # the service reads it again under the unit's lock
            amount=sum(line.amount for line in lines),
            received_on=at.date(),
            by=self.cashier,
            line=lines[0] if len(lines) == 1 else None,
            document=self.document(),
            at=at,
        )
        self._paid_in_full(path, at)

    def on_terminate(self, at: datetime, path: SalePath, extra) -> None:
        deal_services.deal_terminate(
            deal=Deal.objects.select_related("stage").get(pk=path.deal.pk),
            by=self.head,
            reason=TERMINATION,
            at=at,
        )
        path.stage = "terminated"
