"""Small factories for sales tests: clients, deals at a chosen stage, promotions.

Deals are built with the ORM the way the deal service leaves them (a buyer, the unit in the
stage's status, a ``created`` event), so payment, promotion and search tests do not depend
on the deal pages. ``deal_reach`` moves a deal to another stage with its event row.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import count

from django.utils import timezone

from kvartal.accounts.models import Role
from kvartal.clients.models import Client
from kvartal.inventory.models import BuildingKind, Unit, UnitKind, UnitStatus
from kvartal.inventory.services import (
    SectionPlan,
    UnitSpec,
    section_generate,
    unit_set_sales_state,
)
from kvartal.testing import make_building, make_section, make_user

from .. import presets
from ..models import (
    Deal,
    DealBuyer,
    DealEvent,
    DealEventKind,
    DealUnit,
    LineKind,
    PaymentLine,
    PaymentMethod,
    Promotion,
    Stage,
    StageScheme,
)

_seq = count(1)


def make_client(*, manager=None, **fields) -> Client:
    n = next(_seq)
    fields.setdefault("last_name", f"Покупателев{n}")
    fields.setdefault("first_name", "Иван")
    return Client.objects.create(manager=manager, created_by=manager, **fields)


def make_unit(*, parking: bool = False, price_per_m2: Decimal = Decimal("150000")) -> Unit:
    """A unit on sale in a fresh building (a parking space in a parking structure)."""
    if not parking:
        return make_section(floors=1, per_floor=2, price_per_m2=price_per_m2).units.first()
    building = make_building(kind=BuildingKind.PARKING)
    plan = SectionPlan(
        number=1,
        floors=0,
        underground=1,
        risers=[],
        non_typical=[
            UnitSpec(position=p, kind=UnitKind.PARKING, total_area=Decimal("13.25"), floor=-1)
            for p in (1, 2)
        ],
        price_per_m2=price_per_m2,
    )
    section = section_generate(building=building, plan=plan, by=None)
    return section.units.order_by("position").first()


def make_unit_set(*, project=None, parkings: int = 2, storages: int = 1) -> dict:
    """Units of one project: two apartments of a residential section, and ``parkings``
    parking spaces and ``storages`` storage rooms of a parking structure (cheaper per m²),
    all on sale. Keys: ``apartments``, ``parkings``, ``storages``."""
    from kvartal.testing import make_project

    project = project or make_project()
    flats = make_section(make_building(project), floors=1, per_floor=2).units.order_by("pk")
    building = make_building(project, kind=BuildingKind.PARKING)
    specs = [
        UnitSpec(position=p, kind=UnitKind.PARKING, total_area=Decimal("13.25"), floor=-1)
        for p in range(1, parkings + 1)
    ] + [
        UnitSpec(position=parkings + p, kind=UnitKind.STORAGE, total_area=Decimal("4.50"), floor=-1)
        for p in range(1, storages + 1)
    ]
    plan = SectionPlan(
        number=1,
        floors=0,
        underground=1,
        risers=[],
        non_typical=specs,
        price_per_m2=Decimal("100000"),
    )
    section = section_generate(building=building, plan=plan, by=None)
    spaces = list(section.units.order_by("position"))
    return {
        "apartments": list(flats),
        "parkings": [u for u in spaces if u.kind == UnitKind.PARKING],
        "storages": [u for u in spaces if u.kind == UnitKind.STORAGE],
    }


def default_scheme() -> StageScheme:
    """The default flow; installed again when a browser test's flush removed the presets
    that the data migration had put in."""
    scheme = StageScheme.default()
    if scheme is None:
        presets.install()
        scheme = StageScheme.default()
    return scheme


def stage(code: str, scheme: StageScheme | None = None) -> Stage:
    return (scheme or default_scheme()).stages.get(code=code)


def opened(day: date | None = None, *, days_ago: int = 0) -> datetime:
    """Noon of ``day`` (default today, less ``days_ago``) in the current time zone: the ``at``
    of a deal opened that day. A deal's planned payments cannot fall due before it was opened,
    so a test that plans past lines opens its deal earlier."""
    day = (day or timezone.localdate()) - timedelta(days=days_ago)
    return timezone.make_aware(datetime.combine(day, time(12)))


def make_deal(
    *,
    manager=None,
    unit: Unit | None = None,
    buyer: Client | None = None,
    price: Decimal | None = None,
    payment_method: str = PaymentMethod.FULL,
    number: str | None = None,
    bti_adjustment: Decimal = Decimal(0),
    at: datetime | None = None,
    schedule: bool = True,
) -> Deal:
    """An active deal at the default flow's first stage; the unit goes "in deal". With
    ``schedule`` (as ``deal_open`` does) one planned payment of everything due, today."""
    manager = manager or make_user(Role.SALES_MANAGER)
    unit = unit or make_unit()
    buyer = buyer or make_client(manager=manager)
    scheme = default_scheme()
    first = scheme.stages.get(is_initial=True)
    when = at or timezone.now()
    price = unit.price if price is None else price
    deal = Deal.objects.create(
        number=number or f"Д-{next(_seq):05d}",
        unit=unit,
        scheme=scheme,
        stage=first,
        manager=manager,
        payment_method=payment_method,
        list_price=price,
        price=price,
        bti_adjustment=bti_adjustment,
        area=unit.total_area,
        created_at=when,
        created_by=manager,
    )
    DealUnit.objects.create(
        deal=deal,
        unit=unit,
        building_id=unit.building_id,
        list_price=price,
        price=price,
        area=unit.total_area,
        added_at=when,
    )
    DealBuyer.objects.create(deal=deal, client=buyer)
    DealEvent.objects.create(
        deal=deal, at=when, actor=manager, kind=DealEventKind.CREATED, unit=unit, to_stage=first
    )
    unit_set_sales_state(unit=unit, status=first.unit_status, by=manager, at=when)
    if schedule and deal.total_due:
        PaymentLine.objects.create(
            deal=deal,
            due_date=timezone.localdate(when),
            amount=deal.total_due,
            kind=LineKind.LUMP_SUM,
        )
    return deal


def deal_reach(deal: Deal, code: str, *, at: datetime | None = None) -> Deal:
    """Move ``deal`` to the stage ``code`` as the deal service would: stage, event, unit."""
    target = stage(code, deal.scheme)
    when = at or timezone.now()
    DealEvent.objects.create(
        deal=deal,
        at=when,
        actor=deal.manager,
        kind=DealEventKind.STAGE,
        unit=deal.unit,
        from_stage=deal.stage,
        to_stage=target,
    )
    deal.stage = target
    if target.is_termination:
        deal.is_active = False
        deal.closed_at = when
    deal.save(update_fields=["stage", "is_active", "closed_at"])
    if target.is_termination:
        DealUnit.objects.filter(deal=deal).update(is_active=False)
    status = UnitStatus.AVAILABLE if target.is_termination else target.unit_status
    units = [deal.unit] + [
        row.unit for row in deal.current_units().exclude(unit_id=deal.unit_id).order_by("unit_id")
    ]
    for unit in units:  # every unit of the deal
        unit.refresh_from_db()
        if unit.status != status:
            unit_set_sales_state(unit=unit, status=status, by=deal.manager, at=when)
    return deal


def make_promotion(*, by=None, units=(), buildings=(), projects=(), **fields) -> Promotion:
    today = timezone.localdate()
    fields.setdefault("name", f"Акция {next(_seq)}")
    fields.setdefault("starts_on", date(today.year, 1, 1))
    fields.setdefault("ends_on", date(today.year, 12, 31))
    fields.setdefault("value", Decimal("5"))
    promotion = Promotion.objects.create(created_by=by, **fields)
    promotion.units.set(units)
    promotion.buildings.set(buildings)
    promotion.projects.set(projects)
    return promotion


def open_deal(unit, buyer, by, **kwargs) -> Deal:
    """A deal opened through the service for one buyer."""
    from kvartal.sales.services import deals as svc

    return svc.deal_open(unit=unit, buyers=[svc.BuyerShare(buyer)], by=by, **kwargs)


def refusal_state() -> tuple:
    """What a refused sales action must leave as it was: deals, their history, schedules,
    payments, holds and the units' statuses and prices."""
    from kvartal.inventory.models import StatusChange
    from kvartal.sales.models import DealEvent, Hold, Payment, PaymentLine

    return (
        list(
            Deal.objects.order_by("pk").values_list(
                "pk", "unit_id", "stage_id", "is_active", "price"
            )
        ),
        DealEvent.objects.count(),
        list(PaymentLine.objects.order_by("pk").values_list("pk", "amount", "due_date")),
        Payment.objects.count(),
        list(Hold.objects.order_by("pk").values_list("pk", "state")),
        StatusChange.objects.count(),
        list(Unit.objects.order_by("pk").values_list("pk", "status", "price", "pending_price")),
    )
