"""The bulk loader is not a second set of services: a small data set loaded by the services
(``dataset.generate``) and by the bulk loader (``bulk.generate_bulk``) from the same seed has
the same rows, compared row by row on their natural keys (ids differ), with the actors, the
history and the derived fields (prices, discounts, stages, the units' final state)."""

import re

import pytest
from django.db import transaction

from kvartal.accounts.models import Notice
from kvartal.clients.models import Client, ClientEvent, Consent, Lead, LeadEvent, Task, Visit
from kvartal.demo import bulk, dataset
from kvartal.inventory.models import (
    Floor,
    PriceBatch,
    PriceChange,
    StatusChange,
    Unit,
    UnitChange,
)
from kvartal.sales.models import (
    AppliedPromotion,
    Deal,
    DealBuyer,
    DealEvent,
    Hold,
    HoldEvent,
    Payment,
    PaymentLine,
)

pytestmark = pytest.mark.django_db

SIZE, SEED = "XS", 4


def rows() -> dict[str, list]:
    """The sales side of a data set by natural keys, sorted."""
    tables = {
        "units": Unit.objects.values_list(
            "code", "status", "price", "status_changed_at", "hold_until"
        ),
        "status": StatusChange.objects.values_list(
            "unit__code", "at", "old_status", "new_status", "price", "reason", "actor__username"
        ),
        "prices": PriceChange.objects.values_list(
            "unit__code", "at", "old_price", "new_price", "reason", "actor__username"
        ),
        "batches": PriceBatch.objects.values_list("at", "description", "units_count"),
        "data changes": UnitChange.objects.values_list(
            "unit__code", "at", "changes", "actor__username"
        ),
        # Drawn plans: a file per layout and floor (named anew by the storage on the second
        # load, so compared by presence) and each flat's place on its floor's plan.
        "plans": [
            (code, bool(layout), region)
            for code, layout, region in Unit.objects.values_list("code", "layout", "plan_region")
        ]
        + [
            (building, section, index, bool(plan))
            for building, section, index, plan in Floor.objects.values_list(
                "section__building__name", "section__number", "index", "plan"
            )
        ],
        "holds": Hold.objects.values_list(
            "unit__code",
            "starts_at",
            "expires_at",
            "state",
            "kind",
            "basis",
            "price",
            "amount",
            "receipt_number",
            "comment",
            "extensions",
            "ended_at",
            "end_reason",
            "client__phone",
            "manager__username",
            "created_by__username",
        ),
        "hold events": HoldEvent.objects.values_list(
            "hold__unit__code",
            "hold__starts_at",
            "at",
            "kind",
            "old_expires_at",
            "new_expires_at",
            "reason",
            "actor__username",
        ),
        "deals": Deal.objects.values_list(
            "number",
            "unit__code",
            "stage__code",
            "is_active",
            "list_price",
            "promotion__name",
            "promotion_discount",
            "manual_discount",
            "price",
            "contract_type",
            "payment_method",
            "bank",
            "programme",
            "signed_on",
            "registration_number",
            "registration_date",
            "act_date",
            "closed_at",
            "termination_reason",
            "owes_from",
            "created_at",
            "manager__username",
        ),
        "deal events": DealEvent.objects.values_list(
            "deal__number",
            "at",
            "kind",
            "from_stage__code",
            "to_stage__code",
            "reason",
            "actor__username",
        ),
        "applied promotions": AppliedPromotion.objects.values_list(
            "deal__number", "deal_unit__unit__code", "promotion__name", "amount"
        ),
        "buyers": DealBuyer.objects.values_list("deal__number", "client__phone"),
        "schedule": PaymentLine.objects.values_list("deal__number", "due_date", "amount", "kind"),
        "payments": Payment.objects.values_list(
            "deal__number", "received_on", "amount", "document", "line__due_date"
        ),
        "clients": Client.objects.values_list(
            "phone",
            "last_name",
            "first_name",
            "company_name",
            "created_at",
            "manager__username",
            "birth_date",
            "passport_number",
            "registration_address",
        ),
        "client events": ClientEvent.objects.values_list("client__phone", "at", "kind"),
        "consents": Consent.objects.values_list("client__phone", "given_at", "text_version"),
        "visits": Visit.objects.values_list("client__phone", "at", "units_shown__code"),
        "leads": Lead.objects.values_list(
            "phone",
            "status",
            "created_at",
            "channel__code",
            "utm_source",
            "manager__username",
            "name",
            "message",
            "lost_reason",
        ),
        "lead events": LeadEvent.objects.values_list("lead__phone", "at", "kind", "old", "reason"),
        "tasks": Task.objects.values_list(
            "lead__phone", "client__phone", "title", "due_at", "all_day", "assignee__username"
        ),
        "notices": [
            (user, at, _by_code(url), message, text)
            for user, at, url, message, text in Notice.objects.values_list(
                "user__username", "created_at", "url", "message", "text"
            )
        ],
    }
    return {name: sorted(query, key=repr) for name, query in tables.items()}


def _by_code(url: str) -> str:
    """A notice's link with the unit's id replaced by its code: ids differ between the two
    loads (on PostgreSQL a rolled-back sequence is not rewound)."""
    match = re.fullmatch(r"/app/units/(\d+)/", url)
    return f"unit {Unit.objects.get(pk=match[1]).code}" if match else url


NAMES = [
    "units",
    "status",
    "prices",
    "batches",
    "data changes",
    "plans",
    "holds",
    "hold events",
    "deals",
    "deal events",
    "applied promotions",
    "buyers",
    "schedule",
    "payments",
    "clients",
    "client events",
    "consents",
    "visits",
    "leads",
    "lead events",
    "tasks",
    "notices",
]


@pytest.fixture(scope="module")
def both(django_db_setup, django_db_blocker):
    """The rows of the services' load and of the bulk load (one each, ≈1 min on XS)."""
    with django_db_blocker.unblock(), transaction.atomic():
        sid = transaction.savepoint()
        # Both play the periodic job where a hold runs out before the data's end (``END``,
        # today's midnight); neither touches one ending later, whatever the time of day.
        dataset.generate(size=SIZE, seed=SEED, users=False)
        by_services = rows()
        transaction.savepoint_rollback(sid)
        bulk.generate_bulk(size=SIZE, seed=SEED, users=False)
        by_bulk = rows()
        transaction.set_rollback(True)
    return by_services, by_bulk


@pytest.mark.parametrize("table", NAMES)
def test_a_bulk_load_writes_the_rows_the_services_write(both, table):
    by_services, by_bulk = both
    assert by_services[table]
    assert by_bulk[table] == by_services[table]
