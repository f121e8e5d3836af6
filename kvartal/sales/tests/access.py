"""The sales pages in the URL × role table (collected by accounts/tests/test_access.py).

``PAGES``: url name → (roles that may open it, key in the objects built below or None).
``build_objects(persona, unit)``: kwargs for those keys; rows belong to ``persona`` when the
persona is a manager, so row-scoped pages open for their owner.
"""

from kvartal.accounts.models import Role

ALL = frozenset(r.value for r in Role)
SALES = frozenset(
    {
        Role.ADMIN,
        Role.DIRECTOR,
        Role.SALES_HEAD,
        Role.SALES_MANAGER,
        Role.CASHIER,
        Role.ACCOUNTANT,
        Role.OPERATOR,
    }
)
DEALERS = frozenset({Role.ADMIN, Role.SALES_HEAD, Role.SALES_MANAGER})  # deals: sales.deal
APPROVERS = frozenset({Role.ADMIN, Role.SALES_HEAD})  # terminations: sales.approve
CLIENT_READERS = frozenset(
    {Role.ADMIN, Role.DIRECTOR, Role.SALES_HEAD, Role.SALES_MANAGER, Role.OPERATOR}
)

HOLDERS = frozenset({Role.ADMIN, Role.SALES_HEAD, Role.SALES_MANAGER, Role.OPERATOR})  # sales.hold
# --- payments, promotions, search ---
CASHIER_DESK = frozenset(
    {Role.ADMIN, Role.CASHIER, Role.DIRECTOR, Role.SALES_HEAD, Role.ACCOUNTANT}
)
PAYERS = frozenset({Role.ADMIN, Role.CASHIER})  # sales.pay
PROMOTERS = frozenset({Role.ADMIN, Role.SALES_HEAD, Role.MARKETER})  # sales.promote

PAGES: dict = {
    "sales:my-day": (DEALERS, None),
    # --- holds ---
    "sales:hold-list": (SALES, None),
    "sales:hold-create": (HOLDERS, "unit_to_hold"),
    "sales:hold-extend": (HOLDERS, "hold"),
    "sales:hold-cancel": (HOLDERS, "hold"),
    "sales:queue-join": (HOLDERS, "held_unit"),
    "sales:queue-withdraw": (HOLDERS, "queue_entry"),
    "sales:notices": (SALES, None),
    "sales:notices-read": (SALES, None, "post"),
    # --- deals ---
    "sales:deal-list": (SALES, None),
    "sales:deal-create": (DEALERS, None),
    "sales:deal-detail": (SALES, "deal"),
    "sales:deal-move": (DEALERS, "deal"),
    "sales:deal-terminate": (APPROVERS, "deal"),
    "sales:deal-discount": (APPROVERS, "deal"),
    "sales:deal-buyers": (DEALERS, "deal"),
    "sales:deal-swap": (DEALERS, "deal"),
    "sales:deal-unit-add": (DEALERS, "deal"),
    "sales:deal-unit-remove": (DEALERS, "deal"),
    "sales:deal-bti": (DEALERS, "deal"),
    # --- clients --- (the "client" object is built by kvartal/clients/tests/access.py)
    "sales:client-list": (CLIENT_READERS, None),
    "sales:client-detail": (CLIENT_READERS, "client"),
    # --- payments, promotions, search ---
    "sales:cashier": (CASHIER_DESK, None),
    "sales:deal-payments": (SALES, "deal"),
    "sales:payment-record": (PAYERS, "deal", "post"),
    "sales:schedule-generate": (DEALERS, "deal", "post"),
    "sales:schedule-line-save": (DEALERS, "deal", "post"),
    "sales:schedule-line-delete": (DEALERS, "deal_line", "post"),
    "sales:promotion-list": (SALES | {Role.MARKETER}, None),
    "sales:promotion-create": (PROMOTERS, None),
    "sales:promotion-update": (PROMOTERS, "promotion"),
    "sales:search": (SALES, None),
    "sales:unit-search": (SALES, None),
}


def build_objects(*, persona, unit) -> dict:
    found: dict = {}
    # --- holds ---
    found.update(_holds_for(persona, unit))
    # --- deals ---
    deal = _deal_for(persona, unit)
    found["deal"] = {"pk": deal.pk}
    found["deal_line"] = {"pk": deal.pk, "line_pk": deal.schedule.first().pk}
    # --- payments, promotions, search ---
    found["promotion"] = {"pk": _promotion_for(unit).pk}
    return found


# --- holds ---


def _holds_for(persona, unit) -> dict:
    """``unit`` held (through the service) for a client of ``persona`` when they sell, else
    of a new manager; another client of theirs waits in its queue."""
    from kvartal.clients.services import client_create
    from kvartal.sales.services.holds import hold_create, queue_join
    from kvartal.testing import make_user

    sells = persona is not None and persona.role in (Role.SALES_MANAGER, Role.SALES_HEAD)
    manager = persona if sells else make_user(Role.SALES_MANAGER)
    holder = client_create(by=manager, last_name="Access", first_name="Holder")
    waiting = client_create(by=manager, last_name="Access", first_name="Waiting")
    hold = hold_create(unit=unit, client=holder, manager=manager, by=manager, days=3)
    entry = queue_join(unit=unit, client=waiting, manager=manager, by=manager)
    return {
        "unit_to_hold": {"pk": unit.pk},
        "held_unit": {"pk": unit.pk},
        "hold": {"pk": hold.pk},
        "queue_entry": {"pk": entry.pk},
    }


# --- deals ---


def _deal_for(persona, unit):
    """An open deal (through the service) on a free unit of ``unit``'s section, managed by
    ``persona`` when they sell, else by a new manager."""
    from kvartal.clients.services import client_create
    from kvartal.inventory.models import Unit, UnitStatus
    from kvartal.sales.services.deals import BuyerShare, deal_open
    from kvartal.testing import make_user

    sells = persona is not None and persona.role in (Role.SALES_MANAGER, Role.SALES_HEAD)
    manager = persona if sells else make_user(Role.SALES_MANAGER)
    free = (
        Unit.objects.filter(section_id=unit.section_id, status=UnitStatus.AVAILABLE)
        .exclude(pk=unit.pk)
        .exclude(holds__state="active")
        .order_by("pk")
        .first()
    )
    buyer = client_create(by=manager, last_name="Access", first_name="Buyer")
    return deal_open(unit=free, buyers=[BuyerShare(buyer)], by=manager)


# --- payments, promotions, search ---


def _promotion_for(unit):
    from kvartal.sales.tests.factories import make_promotion

    return make_promotion(buildings=[unit.building])


def build_scoped_rows(*, owner, units) -> None:
    """One row of every row-scoped sales model, ``owner`` responsible: a hold and a queue
    place on ``units[0]``, a deal with its schedule and a payment on ``units[1]`` (for
    accounts/tests/test_scoping.py)."""
    from decimal import Decimal

    from django.utils import timezone

    from kvartal.clients.services import client_create
    from kvartal.sales.services.deals import BuyerShare, deal_open
    from kvartal.sales.services.holds import hold_create, queue_join
    from kvartal.sales.services.payments import payment_record
    from kvartal.sales.tests.factories import make_promotion
    from kvartal.testing import make_user

    holder = client_create(by=owner, last_name="Держатель", first_name="А")
    waiting = client_create(by=owner, last_name="Ожидающий", first_name="Б")
    hold_create(unit=units[0], client=holder, manager=owner, by=owner, days=3)
    queue_join(unit=units[0], client=waiting, manager=owner, by=owner)
    # under a promotion: its discount is recorded on the unit (``AppliedPromotion``)
    deal = deal_open(
        unit=units[1], buyers=[BuyerShare(holder)], by=owner, promotion=make_promotion()
    )
    payment_record(
        deal=deal,
        amount=Decimal(1000),
        received_on=timezone.localdate(),
        by=make_user(Role.CASHIER),
    )
