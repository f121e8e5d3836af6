"""The integration endpoints of ``/api/v1/``: inventory, clients, holds, deals, payments,
prices. Every read goes through the same querysets as the pages (``for_user`` of the token's
user), every write through the same service, refused the same way (409 with the service's
message and code)."""

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404
from ninja import Path, Query, Router, Schema
from pydantic import BaseModel, ConfigDict, Field

from kvartal.accounts.permissions import (
    CLIENTS_EDIT,
    CLIENTS_VIEW,
    INVENTORY_VIEW,
    PRICING_PROPOSE,
    PRICING_VIEW,
    SALES_DEAL,
    SALES_HOLD,
    SALES_PAY,
    SALES_VIEW,
)
from kvartal.clients.models import Client, Lead
from kvartal.clients.services import client_create
from kvartal.core.errors import DomainError
from kvartal.inventory.models import (
    Building,
    Floor,
    PriceChange,
    Project,
    Section,
    StatusChange,
    Unit,
    UnitChange,
    UnitKind,
    UnitStatus,
)
from kvartal.pricing.models import Batch as PriceBatchModel
from kvartal.pricing.services import prices_propose
from kvartal.sales.models import (
    Deal,
    DealUnit,
    Hold,
    HoldBasis,
    HoldKind,
    HoldState,
    Payment,
    Promotion,
    Stage,
)
from kvartal.sales.services.deals import deal_move
from kvartal.sales.services.holds import hold_cancel, hold_create, hold_extend
from kvartal.sales.services.payments import payment_record

from .api import api
from .auth import need, token_auth
from .common import idempotent, iso, money, page
from .problems import Problem

router = Router(auth=token_auth)

# Ids and counts fit a database integer; bigger numbers are refused (422), not overflowed.
MAX_ID = 2_147_483_647
MAX_MONEY = Decimal("999999999999")
MAX_AREA = Decimal("999999")


def IdQuery():  # noqa: N802 - reads as a type in the signatures
    return Query(None, ge=1, le=MAX_ID)


def IdPath():  # noqa: N802
    return Path(..., ge=1, le=MAX_ID)


# A list filter naming a value the choices lack is refused (422), not answered with nothing.
UnitKindName = Literal[tuple(UnitKind.values)]
UnitStatusName = Literal[tuple(UnitStatus.values)]
HoldStateName = Literal[tuple(HoldState.values)]


def _snake(name: str) -> str:
    """``HoldTermRefused`` → ``hold_term_refused``: every problem code reads alike."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def service(function, *, fields: dict[str, str] | None = None, **kwargs):
    """Call a service; its refusals become the API's answers (409 / 422). ``fields``: the
    service's name of a field → the request's (a term the request gave in ``days``)."""
    try:
        return function(**kwargs)
    except DomainError as error:
        code = getattr(error, "code", "") or _snake(type(error).__name__)
        field = (fields or {}).get(error.field, error.field)
        errors = {field: [str(error)]} if field else None
        raise Problem(409, code, str(error), errors=errors) from None
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
        raise Problem(422, "invalid", "Some fields are invalid.", errors=errors) from None


# --- schemas (what the OpenAPI document promises) ---------------------------------------


class Page(Schema):
    next: str | None


class ProjectOut(Schema):
    id: int
    name: str
    city: str
    address: str


class ProjectPage(Page):
    items: list[ProjectOut]


class BuildingOut(Schema):
    id: int
    project: int
    name: str
    kind: str
    address: str
    completion_date: str | None
    readiness: str


class BuildingPage(Page):
    items: list[BuildingOut]


class SectionOut(Schema):
    id: int
    building: int
    number: int
    name: str


class SectionPage(Page):
    items: list[SectionOut]


class FloorOut(Schema):
    id: int
    section: int
    index: int
    label: str
    level_type: str


class FloorPage(Page):
    items: list[FloorOut]


class UnitOut(Schema):
    id: int
    code: str
    number: str
    kind: str
    project: int
    building: int
    section: int
    floor: int
    rooms: int | None
    total_area: str
    living_area: str | None
    kitchen_area: str | None
    finishing: str
    view: str
    price: str
    price_per_m2: str | None
    status: str
    hold_until: str | None


class UnitPage(Page):
    items: list[UnitOut]


class PriceOut(Schema):
    id: int
    at: str
    old_price: str
    new_price: str
    reason: str


class PricePage(Page):
    items: list[PriceOut]


class PromotionOut(Schema):
    id: int
    name: str
    starts_on: str
    ends_on: str
    is_active: bool
    discount_kind: str
    value: str
    min_price: str | None


class PromotionPage(Page):
    items: list[PromotionOut]


class ClientOut(Schema):
    id: int
    kind: str
    name: str
    phone: str
    email: str
    manager: int | None
    created_at: str


class ClientPage(Page):
    items: list[ClientOut]


class LeadOutFull(Schema):
    id: int
    status: str
    channel: str
    name: str
    phone: str
    email: str
    client: int | None
    manager: int | None
    created_at: str


class LeadPage(Page):
    items: list[LeadOutFull]


class HoldOut(Schema):
    id: int
    unit: int
    client: int
    manager: int
    kind: str
    amount: str | None  # a paid reservation's amount paid
    receipt_number: str
    state: str
    price: str
    starts_at: str
    expires_at: str
    extensions: int


class HoldPage(Page):
    items: list[HoldOut]


class LineOut(Schema):
    id: int
    due_date: str
    amount: str
    kind: str


class DealUnitOut(Schema):
    unit: int = Field(description="The unit's id")
    kind: str = Field(description="apartment, parking, storage, commercial …")
    list_price: str
    promotion_discount: str
    manual_discount: str
    price: str = Field(description="This unit's share of the deal price")
    area: str


class DealOut(Schema):
    id: int
    number: str
    unit: int = Field(description="The main unit (the first of ``units``)")
    units: list[DealUnitOut] = Field(description="Every unit of the deal, the main one first")
    manager: int
    is_active: bool
    stage: str
    stage_name: str
    list_price: str
    price: str = Field(description="The deal price: the sum of its units' prices")
    schedule: list[LineOut]


class DealPage(Page):
    items: list[DealOut]


class PaymentOut(Schema):
    id: int
    deal: int
    amount: str
    received_on: str
    document: str
    channel: str


class PaymentPage(Page):
    items: list[PaymentOut]


class Problem_(Schema):
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: dict[str, list[str]] | None = None


ERRORS = {400: Problem_, 401: Problem_, 403: Problem_, 404: Problem_, 422: Problem_, 429: Problem_}
WRITE_ERRORS = {**ERRORS, 409: Problem_}


# --- serializers -------------------------------------------------------------------------


def _project(p):
    return {"id": p.pk, "name": p.name, "city": p.city, "address": p.address}


def _building(b):
    return {
        "id": b.pk,
        "project": b.project_id,
        "name": b.name,
        "kind": b.kind,
        "address": b.construction_address,
        "completion_date": iso(b.completion_date),
        "readiness": b.readiness,
    }


def _unit(u):
    return {
        "id": u.pk,
        "code": u.code,
        "number": u.number,
        "kind": u.kind,
        "project": u.building.project_id,
        "building": u.building_id,
        "section": u.section_id,
        "floor": u.floor_id,
        "rooms": u.rooms,
        "total_area": str(u.total_area),
        "living_area": None if u.living_area is None else str(u.living_area),
        "kitchen_area": None if u.kitchen_area is None else str(u.kitchen_area),
        "finishing": u.finishing,
        "view": u.view,
        "price": money(u.price),
        "price_per_m2": money(u.price_per_m2),
        "status": u.effective_status(),
        "hold_until": iso(u.hold_until) if u.effective_status() == "reserved" else None,
    }


def _client(c):
    return {
        "id": c.pk,
        "kind": c.kind,
        "name": str(c),
        "phone": c.phone,
        "email": c.email,
        "manager": c.manager_id,
        "created_at": iso(c.created_at),
    }


def _hold(h):
    return {
        "id": h.pk,
        "unit": h.unit_id,
        "client": h.client_id,
        "manager": h.manager_id,
        "kind": h.kind,
        "amount": money(h.amount),
        "receipt_number": h.receipt_number,
        "state": h.state,
        "price": money(h.price),
        "starts_at": iso(h.starts_at),
        "expires_at": iso(h.expires_at),
        "extensions": h.extensions,
    }


def _deal(d):
    return {
        "id": d.pk,
        "number": d.number,
        "unit": d.unit_id,
        "units": [
            {
                "unit": row.unit_id,
                "kind": row.unit.kind,
                "list_price": money(row.list_price),
                "promotion_discount": money(row.promotion_discount),
                "manual_discount": money(row.manual_discount),
                "price": money(row.price),
                "area": str(row.area),
            }
            for row in sorted(d.current_deal_units, key=lambda r: r.unit_id != d.unit_id)
        ],
        "manager": d.manager_id,
        "is_active": d.is_active,
        "stage": d.stage.code,
        "stage_name": d.stage.name,
        "list_price": money(d.list_price),
        "price": money(d.price),
        "schedule": [
            {
                "id": line.pk,
                "due_date": iso(line.due_date),
                "amount": money(line.amount),
                "kind": line.kind,
            }
            for line in d.schedule.all()
        ],
    }


def _payment(p):
    return {
        "id": p.pk,
        "deal": p.deal_id,
        "amount": money(p.amount),
        "received_on": iso(p.received_on),
        "document": p.document,
        "channel": p.channel,
    }


# --- inventory ---------------------------------------------------------------------------


@router.get("/projects", response={200: ProjectPage, **ERRORS}, tags=["inventory"])
def projects(request, limit: int = Query(100, ge=1, le=500), cursor: str | None = None):
    need(request, INVENTORY_VIEW)
    return page(request, Project.objects.all(), _project, limit=limit)


@router.get("/buildings", response={200: BuildingPage, **ERRORS}, tags=["inventory"])
def buildings(
    request,
    project: int | None = IdQuery(),
    limit: int = Query(100, ge=1, le=500),
    cursor: str | None = None,
):
    need(request, INVENTORY_VIEW)
    qs = Building.objects.all()
    if project is not None:
        qs = qs.filter(project_id=project)
    return page(request, qs, _building, limit=limit)


@router.get("/sections", response={200: SectionPage, **ERRORS}, tags=["inventory"])
def sections(
    request,
    building: int | None = IdQuery(),
    limit: int = Query(100, ge=1, le=500),
    cursor: str | None = None,
):
    need(request, INVENTORY_VIEW)
    qs = Section.objects.all()
    if building is not None:
        qs = qs.filter(building_id=building)

    def serialize(s):
        return {
            "id": s.pk,
            "building": s.building_id,
            "number": s.number,
            "name": s.name,
        }

    return page(request, qs, serialize, limit=limit)


@router.get("/floors", response={200: FloorPage, **ERRORS}, tags=["inventory"])
def floors(
    request,
    section: int | None = IdQuery(),
    limit: int = Query(100, ge=1, le=500),
    cursor: str | None = None,
):
    need(request, INVENTORY_VIEW)
    qs = Floor.objects.all()
    if section is not None:
        qs = qs.filter(section_id=section)

    def serialize(f):
        return {
            "id": f.pk,
            "section": f.section_id,
            "index": f.index,
            "label": f.label,
            "level_type": f.level_type,
        }

    return page(request, qs, serialize, limit=limit)


class UnitFilters(Schema):
    project: int | None = Field(None, ge=1, le=MAX_ID)
    building: int | None = Field(None, ge=1, le=MAX_ID)
    section: int | None = Field(None, ge=1, le=MAX_ID)
    kind: UnitKindName | None = None
    status: UnitStatusName | None = Field(
        None, description="available (as users see it), reserved, in_deal, sold, not_for_sale"
    )
    rooms: int | None = Field(None, ge=0, le=20)
    price_min: Decimal | None = Field(None, ge=0, le=MAX_MONEY)
    price_max: Decimal | None = Field(None, ge=0, le=MAX_MONEY)
    area_min: Decimal | None = Field(None, ge=0, le=MAX_AREA)
    area_max: Decimal | None = Field(None, ge=0, le=MAX_AREA)
    code: str | None = None
    updated_since: datetime | None = Field(
        None, description="Units whose status, price or data changed at or after this moment"
    )


@router.get("/units", response={200: UnitPage, **ERRORS}, tags=["inventory"])
def units(
    request,
    filters: Query[UnitFilters],
    limit: int = Query(100, ge=1, le=500),
    cursor: str | None = None,
):
    """Units as the catalogue filters them; ``updated_since`` for a sync."""
    need(request, INVENTORY_VIEW)
    from kvartal.inventory.models import effective_status_q

    qs = Unit.objects.select_related("building")
    f = filters
    if f.project is not None:
        qs = qs.filter(building__project_id=f.project)
    if f.building is not None:
        qs = qs.filter(building_id=f.building)
    if f.section is not None:
        qs = qs.filter(section_id=f.section)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.status:
        qs = qs.filter(effective_status_q(f.status))
    if f.rooms is not None:
        qs = qs.filter(rooms=f.rooms)
    if f.price_min is not None:
        qs = qs.filter(price__gte=f.price_min)
    if f.price_max is not None:
        qs = qs.filter(price__lte=f.price_max)
    if f.area_min is not None:
        qs = qs.filter(total_area__gte=f.area_min)
    if f.area_max is not None:
        qs = qs.filter(total_area__lte=f.area_max)
    if f.code:
        qs = qs.filter(code=f.code)
    if f.updated_since is not None:
        since = f.updated_since
        qs = qs.filter(
            Q(created_at__gte=since)
            | Q(pk__in=StatusChange.objects.filter(at__gte=since).values("unit_id"))
            | Q(pk__in=PriceChange.objects.filter(at__gte=since).values("unit_id"))
            | Q(pk__in=UnitChange.objects.filter(at__gte=since).values("unit_id"))
        )
    return page(request, qs, _unit, limit=limit)


@router.get("/units/{unit_id}", response={200: UnitOut, **ERRORS}, tags=["inventory"])
def unit(request, unit_id: int = IdPath()):
    need(request, INVENTORY_VIEW)
    from .common import etagged

    return etagged(
        request, _unit(get_object_or_404(Unit.objects.select_related("building"), pk=unit_id))
    )


@router.get("/units/{unit_id}/prices", response={200: PricePage, **ERRORS}, tags=["inventory"])
def unit_prices(
    request,
    unit_id: int = IdPath(),
    limit: int = Query(100, ge=1, le=500),
    cursor: str | None = None,
):
    """The unit's price history, oldest first."""
    need(request, INVENTORY_VIEW)
    get_object_or_404(Unit, pk=unit_id)

    def serialize(p):
        return {
            "id": p.pk,
            "at": iso(p.at),
            "old_price": money(p.old_price),
            "new_price": money(p.new_price),
            "reason": p.reason,
        }

    return page(request, PriceChange.objects.filter(unit_id=unit_id), serialize, limit=limit)


@router.get("/promotions", response={200: PromotionPage, **ERRORS}, tags=["inventory"])
def promotions(request, limit: int = Query(100, ge=1, le=500), cursor: str | None = None):
    need(request, INVENTORY_VIEW)

    def serialize(p):
        return {
            "id": p.pk,
            "name": p.name,
            "starts_on": iso(p.starts_on),
            "ends_on": iso(p.ends_on),
            "is_active": p.is_active,
            "discount_kind": p.discount_kind,
            "value": money(p.value),
            "min_price": money(p.min_price),
        }

    return page(request, Promotion.objects.all(), serialize, limit=limit)


# --- clients and leads -------------------------------------------------------------------


@router.get("/clients", response={200: ClientPage, **ERRORS}, tags=["clients"])
def clients(
    request,
    phone: str | None = None,
    limit: int = Query(100, ge=1, le=500),
    cursor: str | None = None,
):
    need(request, CLIENTS_VIEW)
    qs = Client.objects.for_user(request.user)
    if phone:
        from kvartal.clients.normalize import normalize_phone

        try:
            qs = qs.filter(phone_normalized=normalize_phone(phone))
        except ValidationError as error:
            raise Problem(
                422, "invalid", "The phone is not readable.", errors={"phone": error.messages}
            ) from None
    return page(request, qs, _client, limit=limit)


@router.get("/clients/{client_id}", response={200: ClientOut, **ERRORS}, tags=["clients"])
def client_detail(request, client_id: int = IdPath()):
    need(request, CLIENTS_VIEW)
    from .common import etagged

    return etagged(
        request, _client(get_object_or_404(Client.objects.for_user(request.user), pk=client_id))
    )


class ClientIn(BaseModel):
    """A person: last and first name, and a phone or an e-mail."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    last_name: str = Field(min_length=1, max_length=100)
    first_name: str = Field(min_length=1, max_length=100)
    middle_name: str = Field("", max_length=100)
    phone: str = Field(min_length=1, max_length=32)
    email: str = Field("", max_length=254)


@router.post("/clients", response={201: ClientOut, **WRITE_ERRORS}, tags=["clients"])
def client_new(request, body: ClientIn):
    """Create a client owned by the token's user. A client with the same phone or e-mail
    exists already: 409 ``DuplicateClient``."""
    need(request, CLIENTS_EDIT)
    data = body.model_dump()

    def work():
        client = service(client_create, by=request.user, **data)
        return 201, _client(client)

    return idempotent(request, data, work)


@api.get("/leads", response={200: LeadPage, **ERRORS}, tags=["clients"], auth=token_auth)
def leads(request, limit: int = Query(100, ge=1, le=500), cursor: str | None = None):
    need(request, CLIENTS_VIEW)

    def serialize(lead):
        return {
            "id": lead.pk,
            "status": lead.status,
            "channel": lead.channel.code,
            "name": lead.name,
            "phone": lead.phone,
            "email": lead.email,
            "client": lead.client_id,
            "manager": lead.manager_id,
            "created_at": iso(lead.created_at),
        }

    qs = Lead.objects.for_user(request.user).select_related("channel")
    return page(request, qs, serialize, limit=limit)


# --- holds -------------------------------------------------------------------------------


@router.get("/holds", response={200: HoldPage, **ERRORS}, tags=["sales"])
def holds(
    request,
    state: HoldStateName | None = None,
    unit: int | None = None,
    limit: int = Query(100, ge=1, le=500),
    cursor: str | None = None,
):
    need(request, SALES_VIEW)
    qs = Hold.objects.for_user(request.user)
    if state:
        qs = qs.filter(state=state)
    if unit is not None:
        qs = qs.filter(unit_id=unit)
    return page(request, qs, _hold, limit=limit)


class HoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    unit: int = Field(ge=1, le=MAX_ID)
    client: int = Field(ge=1, le=MAX_ID)
    days: int = Field(ge=1, le=365)
    kind: str = Field("oral", pattern=f"^({'|'.join(HoldKind.values)})$")
    # A paid reservation: the amount paid and the receipt's number (as on the hold page).
    amount: Decimal | None = Field(None, gt=0, max_digits=14, decimal_places=2)
    receipt_number: str = Field("", max_length=50)
    basis: str = Field(HoldBasis.OTHER, pattern=f"^({'|'.join(HoldBasis.values)})$")
    comment: str = Field("", max_length=2000)


@router.post("/holds", response={201: HoldOut, **WRITE_ERRORS}, tags=["sales"])
def hold_new(request, body: HoldIn):
    """Hold a unit for a client, through the same service as the pages: one winner whoever
    asks at once (409 ``unit_not_available`` for the others). Send an ``Idempotency-Key``: a
    retried request returns the first answer and never makes a second hold."""
    need(request, SALES_HOLD)
    data = body.model_dump()

    def work():
        unit = Unit.objects.filter(pk=data["unit"]).first()
        client = Client.objects.for_user(request.user).filter(pk=data["client"]).first()
        if unit is None or client is None:
            raise Problem(404, "not_found", "No such unit or client.")
        hold = service(
            hold_create,
            unit=unit,
            client=client,
            manager=request.user,
            by=request.user,
            kind=data["kind"],
            amount=data["amount"],
            receipt_number=data["receipt_number"],
            basis=data["basis"],
            comment=data["comment"],
            days=data["days"],
            fields={"expires_at": "days"},
        )
        return 201, _hold(hold)

    return idempotent(request, data, work)


class ExtendIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    days: int = Field(ge=1, le=365)
    reason: str = Field(min_length=1, max_length=300)


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=300)


def _scoped_hold(request, hold_id: int = IdPath()) -> Hold:
    return get_object_or_404(Hold.objects.for_user(request.user), pk=hold_id)


@router.post("/holds/{hold_id}/extend", response={200: HoldOut, **WRITE_ERRORS}, tags=["sales"])
def hold_more(request, body: ExtendIn, hold_id: int = IdPath()):
    need(request, SALES_HOLD)
    data = body.model_dump()

    def work():
        hold = service(
            hold_extend,
            hold=_scoped_hold(request, hold_id),
            by=request.user,
            fields={"expires_at": "days"},
            **data,
        )
        return 200, _hold(hold)

    return idempotent(request, {"hold": hold_id, **data}, work)


@router.post("/holds/{hold_id}/cancel", response={200: HoldOut, **WRITE_ERRORS}, tags=["sales"])
def hold_end(request, body: CancelIn, hold_id: int = IdPath()):
    need(request, SALES_HOLD)
    data = body.model_dump()

    def work():
        hold = service(hold_cancel, hold=_scoped_hold(request, hold_id), by=request.user, **data)
        return 200, _hold(hold)

    return idempotent(request, {"hold": hold_id, **data}, work)


# --- deals and payments ------------------------------------------------------------------


def _deals(request):
    units = Prefetch(
        "deal_units",
        queryset=DealUnit.objects.filter(removed_at__isnull=True).select_related("unit"),
        to_attr="current_deal_units",
    )
    return (
        Deal.objects.for_user(request.user)
        .select_related("stage")
        .prefetch_related("schedule", units)
    )


@router.get("/deals", response={200: DealPage, **ERRORS}, tags=["sales"])
def deals(
    request,
    active: bool | None = None,
    limit: int = Query(100, ge=1, le=500),
    cursor: str | None = None,
):
    need(request, SALES_VIEW)
    qs = _deals(request)
    if active is not None:
        qs = qs.filter(is_active=active)
    return page(request, qs, _deal, limit=limit)


@router.get("/deals/{deal_id}", response={200: DealOut, **ERRORS}, tags=["sales"])
def deal_detail(request, deal_id: int = IdPath()):
    need(request, SALES_VIEW)
    from .common import etagged

    return etagged(request, _deal(get_object_or_404(_deals(request), pk=deal_id)))


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    stage: str = Field(min_length=1, max_length=32, description="The code of the next stage")
    reason: str = Field("", max_length=300)
    registration_number: str = Field("", max_length=64)
    registration_date: str = Field(
        "", pattern=r"^(\d{4}-\d{2}-\d{2})?$", description="With the registration number"
    )
    act_date: str = Field(
        "", pattern=r"^(\d{4}-\d{2}-\d{2})?$", description="For the handover stage"
    )


def _iso_date(data: dict, name: str):
    """A body's ISO date (``""``: none); 422 naming the field for one the calendar lacks."""
    if not data[name]:
        return None
    try:
        return date.fromisoformat(data[name])
    except ValueError:
        raise Problem(422, "invalid", "Not a date.", errors={name: ["not a date"]}) from None


@router.post("/deals/{deal_id}/stage", response={200: DealOut, **WRITE_ERRORS}, tags=["sales"])
def deal_stage(request, body: StageIn, deal_id: int = IdPath()):
    """Move a deal to its next stage, with the stage's requirements (409 when unmet)."""
    need(request, SALES_DEAL)
    data = body.model_dump()
    dates = {name: _iso_date(data, name) for name in ("registration_date", "act_date")}

    def work():
        deal = get_object_or_404(_deals(request), pk=deal_id)
        stage = Stage.objects.filter(scheme_id=deal.scheme_id, code=data["stage"]).first()
        if stage is None:
            raise Problem(
                422,
                "invalid",
                "No such stage in the deal's flow.",
                errors={"stage": ["unknown stage"]},
            )
        service(
            deal_move,
            deal=deal,
            stage=stage,
            by=request.user,
            reason=data["reason"],
            registration_number=data["registration_number"],
            **dates,
        )
        return 200, _deal(get_object_or_404(_deals(request), pk=deal_id))

    return idempotent(request, {"deal": deal_id, **data}, work)


@router.get("/payments", response={200: PaymentPage, **ERRORS}, tags=["sales"])
def payments(
    request,
    deal: int | None = IdQuery(),
    limit: int = Query(100, ge=1, le=500),
    cursor: str | None = None,
):
    need(request, SALES_VIEW)
    qs = Payment.objects.for_user(request.user)
    if deal is not None:
        qs = qs.filter(deal_id=deal)
    return page(request, qs, _payment, limit=limit)


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    deal: int = Field(ge=1, le=MAX_ID)
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    received_on: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    document: str = Field("", max_length=64)
    channel: str = Field("", max_length=64)


@router.post("/payments", response={201: PaymentOut, **WRITE_ERRORS}, tags=["sales"])
def payment_new(request, body: PaymentIn):
    """Record money received against a deal (a cashier's token)."""
    need(request, SALES_PAY)
    data = body.model_dump()
    received = _iso_date(data, "received_on")

    def work():
        deal = get_object_or_404(Deal.objects.for_user(request.user), pk=data["deal"])
        payment = service(
            payment_record,
            deal=deal,
            amount=data["amount"],
            received_on=received,
            by=request.user,
            document=data["document"],
            channel=data["channel"],
        )
        return 201, _payment(payment)

    return idempotent(request, {**data, "amount": str(data["amount"])}, work)


class PriceItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: int = Field(ge=1, le=MAX_ID)
    price: Decimal = Field(gt=0, max_digits=14, decimal_places=2)


class PricesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=300)
    items: list[PriceItem] = Field(min_length=1, max_length=5000)


class PriceBatchOut(Schema):
    id: int
    status: str = Field(description="pending, scheduled, applied, rejected or rolled_back")
    title: str
    lines: int
    created_at: str
    decided_at: str | None
    effective_at: str | None
    applied_at: str | None
    skipped: dict[str, str] = Field(
        description="Units left when the batch applied (unit id → reason: locked, moved …)"
    )


def _price_batch(batch, lines: int) -> dict:
    return {
        "id": batch.pk,
        "status": batch.status,
        "title": batch.title,
        "lines": lines,
        "created_at": iso(batch.created_at),
        "decided_at": iso(batch.decided_at),
        "effective_at": iso(batch.effective_at),
        "applied_at": iso(batch.applied_at),
        "skipped": batch.skipped,
    }


@router.post("/prices", response={202: PriceBatchOut, **WRITE_ERRORS}, tags=["inventory"])
def prices(request, body: PricesIn):
    """Propose the prices of many units as one batch awaiting approval — the pricing app's
    approval rule, as a batch made on the pages: no price changes until the approver named
    in the pricing settings approves it (then at once or at a set moment; it can be rolled
    back). All or nothing: a missing unit (422) or a unit in a deal or sold (409
    ``price_locked``) refuses the whole request and nothing is proposed. Follow the batch
    with ``GET /prices/batches/{id}``."""
    need(request, PRICING_PROPOSE)
    data = body.model_dump()
    ids = [item["unit"] for item in data["items"]]
    if len(set(ids)) != len(ids):
        raise Problem(422, "invalid", "A unit appears twice.", errors={"items": ["duplicate unit"]})

    def work():
        batch = service(
            prices_propose,
            prices={item["unit"]: Decimal(item["price"]) for item in data["items"]},
            by=request.user,
            title=data["reason"],
        )
        return 202, _price_batch(batch, batch.lines.count())

    return idempotent(
        request,
        {"reason": data["reason"], "items": [[i["unit"], str(i["price"])] for i in data["items"]]},
        work,
    )


@router.get(
    "/prices/batches/{batch_id}", response={200: PriceBatchOut, **ERRORS}, tags=["inventory"]
)
def price_batch(request, batch_id: int = IdPath()):
    """A batch of prices: whether it still awaits approval, is scheduled, applied (and which
    units it left, why), rejected or rolled back."""
    need(request, PRICING_VIEW)
    batch = get_object_or_404(PriceBatchModel.objects.annotate(n=Count("lines")), pk=batch_id)
    return 200, _price_batch(batch, batch.n)
