"""The sales pages in the URL × role table (collected by accounts/tests/test_access.py).

``PAGES``: url name → (roles that may open it, key in the objects built below or None).
``build_objects(persona, unit)``: kwargs for those keys; rows belong to ``persona`` when the
persona is a manager, so row-scoped pages open for their owner.
"""

from kvartal.accounts.models import Role

ALL = frozenset(r.value for r in Role)
SALES = frozenset({Role.ADMIN, Role.DIRECTOR, Role.SALES_HEAD, Role.SALES_MANAGER, Role.CASHIER})
DEALERS = frozenset({Role.ADMIN, Role.SALES_HEAD, Role.SALES_MANAGER})  # deals: sales.deal
APPROVERS = frozenset({Role.ADMIN, Role.SALES_HEAD})  # terminations: sales.approve
CLIENT_READERS = frozenset({Role.ADMIN, Role.DIRECTOR, Role.SALES_HEAD, Role.SALES_MANAGER})

HOLDERS = frozenset({Role.ADMIN, Role.SALES_HEAD, Role.SALES_MANAGER})  # sales.hold
# --- payments, promotions, search ---
CASHIER_DESK = frozenset({Role.ADMIN, Role.CASHIER, Role.DIRECTOR, Role.SALES_HEAD})
PROMOTERS = frozenset({Role.ADMIN, Role.SALES_HEAD})  # sales.promote

PAGES: dict = {
    # --- holds ---
    "sales:hold-list": (SALES, None),
    "sales:hold-create": (HOLDERS, "unit_to_hold"),
    "sales:hold-extend": (HOLDERS, "hold"),
    "sales:hold-cancel": (HOLDERS, "hold"),
    "sales:queue-join": (HOLDERS, "held_unit"),
    "sales:queue-withdraw": (HOLDERS, "queue_entry"),
    "sales:notices": (SALES, None),
    # --- deals ---
    "sales:deal-list": (SALES, None),
    "sales:deal-create": (DEALERS, None),
    "sales:deal-detail": (SALES, "deal"),
    "sales:deal-move": (DEALERS, "deal"),
    "sales:deal-terminate": (APPROVERS, "deal"),
    "sales:deal-discount": (APPROVERS, "deal"),
    "sales:deal-buyers": (DEALERS, "deal"),
    "sales:deal-swap": (DEALERS, "deal"),
    "sales:deal-bti": (DEALERS, "deal"),
    # --- clients --- (the "client" object is built by kvartal/clients/tests/access.py)
    "sales:client-list": (CLIENT_READERS, None),
    "sales:client-detail": (CLIENT_READERS, "client"),
    # --- payments, promotions, search ---
    "sales:cashier": (CASHIER_DESK, None),
    "sales:deal-payments": (SALES, "deal"),
    "sales:promotion-list": (SALES, None),
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
    found["deal"] = {"pk": _deal_for(persona, unit).pk}
    # --- payments, promotions, search ---
    found["promotion"] = {"pk": _promotion_for(unit).pk}
    return found


# --- holds ---


def _holds_for(persona, unit) -> dict:
    """``unit`` held (through the service) for a client of ``persona`` when they sell, else
    of a new manager; another client of theirs waits in its queue."""
    from kvartal.clients.services import client_create
    from kvartal.core.testing import make_user
    from kvartal.sales.services.holds import hold_create, queue_join

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
    from kvartal.core.testing import make_user
    from kvartal.inventory.models import Unit, UnitStatus
    from kvartal.sales.services.deals import BuyerShare, deal_open

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
