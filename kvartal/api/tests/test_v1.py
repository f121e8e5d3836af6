"""The integration API: tokens and scopes, one error shape, cursor pages and ETags, writes
through the same services (one winner, 409 for the others), idempotent retries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kvartal.api.models import ApiToken, IdempotencyRecord
from kvartal.clients.models import Client
from kvartal.clients.services import client_create
from kvartal.inventory import services as inventory
from kvartal.inventory.models import PriceChange, Unit
from kvartal.sales.models import Hold, HoldState

pytestmark = pytest.mark.django_db

READ = ["inventory:read", "clients:read", "sales:read"]


def _problem(response, status, code=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"] and body["type"].endswith(body["code"])
    if code:
        assert body["code"] == code, body
    return body


def test_no_token_an_unknown_one_and_a_revoked_one_are_401(client, manager, token_for):
    _problem(client.get("/api/v1/units"), 401, "token_invalid")
    _problem(client.get("/api/v1/units", HTTP_AUTHORIZATION="Bearer kv_nope"), 401)
    headers = token_for(manager, READ)
    assert client.get("/api/v1/units", **headers).status_code == 200
    ApiToken.objects.update(is_active=False)
    _problem(client.get("/api/v1/units", **headers), 401)


def test_a_scope_narrows_the_role_and_the_role_bounds_the_scope(
    client, manager, cashier_like, token_for
):
    inventory_only = token_for(manager, ["inventory:read"])
    _problem(client.get("/api/v1/clients", **inventory_only), 403, "scope_missing")
    # A manager's token with the payments scope still cannot record payments: the role can't.
    paying = token_for(manager, ["payments:write"])
    body = {"deal": 1, "amount": "100.00", "received_on": "2026-01-01"}
    _problem(
        client.post("/api/v1/payments", body, content_type="application/json", **paying),
        403,
        "forbidden",
    )


@pytest.fixture
def cashier_like(db):
    from kvartal.accounts.models import Role
    from kvartal.core.testing import make_user

    return make_user(Role.CASHIER)


def test_a_token_bound_to_addresses_refuses_others(client, manager, token_for):
    headers = token_for(manager, READ, addresses="10.0.0.0/8, 192.168.1.5")
    _problem(client.get("/api/v1/units", **headers), 403, "address_refused")
    assert client.get("/api/v1/units", REMOTE_ADDR="10.1.2.3", **headers).status_code == 200


def test_the_rate_limit_answers_429_with_retry_after(client, manager, token_for):
    headers = token_for(manager, READ, rate=3)
    for _ in range(3):
        assert client.get("/api/v1/projects", **headers).status_code == 200
    response = client.get("/api/v1/projects", **headers)
    _problem(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_units_filter_page_by_cursor_and_answer_304_to_their_etag(
    client, manager, token_for, units
):
    headers = token_for(manager, READ)
    first = client.get("/api/v1/units", {"limit": 4, "rooms": 0}, **headers)
    assert first.status_code == 200
    body = first.json()
    assert [u["rooms"] for u in body["items"]] == [0, 0]  # two studios in 2 floors × 3
    assert body["next"] is None
    page1 = client.get("/api/v1/units", {"limit": 4}, **headers).json()
    assert len(page1["items"]) == 4 and page1["next"]
    page2 = client.get("/api/v1/units", {"limit": 4, "cursor": page1["next"]}, **headers).json()
    ids = [u["id"] for u in page1["items"] + page2["items"]]
    assert ids == [u.pk for u in units] and page2["next"] is None
    again = client.get(
        "/api/v1/units", {"limit": 4}, HTTP_IF_NONE_MATCH=first_etag(client, headers), **headers
    )
    assert again.status_code == 304
    _problem(
        client.get("/api/v1/units", {"limit": 4, "rooms": 1, "cursor": page1["next"]}, **headers),
        422,
        "cursor_mismatch",
    )
    _problem(client.get("/api/v1/units", {"cursor": "garbage"}, **headers), 422, "cursor_invalid")
    _problem(client.get("/api/v1/units", {"limit": 0}, **headers), 422)
    # an id beyond a database integer is refused, not a 500 (found by Schemathesis)
    for name in ("project", "building", "section"):
        huge = {name: "11981386025336825708544"}
        _problem(client.get("/api/v1/units", huge, **headers), 422)


def first_etag(client, headers):
    return client.get("/api/v1/units", {"limit": 4}, **headers)["ETag"]


@pytest.mark.parametrize(
    "path, name",
    [("/api/v1/units", "status"), ("/api/v1/units", "kind"), ("/api/v1/holds", "state")],
)
def test_a_list_filter_naming_an_unknown_value_is_422_not_an_empty_list(
    client, manager, token_for, path, name
):
    headers = token_for(manager, READ)
    body = _problem(client.get(path, {name: "zzz"}, **headers), 422, "invalid")
    assert list(body["errors"]) == [name]
    known = {"status": "sold", "kind": "parking", "state": "expired"}[name]
    assert client.get(path, {name: known}, **headers).status_code == 200


def test_updated_since_returns_only_what_changed(client, manager, keeper, token_for, units):
    headers = token_for(manager, READ)
    since = timezone.now() + timedelta(seconds=1)
    inventory.unit_set_price(
        unit=units[2], price=units[2].price + 1000, by=keeper, at=since + timedelta(seconds=1)
    )
    body = client.get("/api/v1/units", {"updated_since": since.isoformat()}, **headers).json()
    assert [u["id"] for u in body["items"]] == [units[2].pk]
    history = client.get(f"/api/v1/units/{units[2].pk}/prices", **headers).json()["items"]
    assert history[-1]["new_price"] == f"{units[2].price + 1000:.2f}"


def test_clients_are_scoped_to_the_tokens_user(client, manager, other_manager, token_for, buyer):
    theirs = client_create(
        by=other_manager, last_name="Чужой", first_name="К", phone="+79005550000"
    )
    headers = token_for(manager, READ)
    listed = [c["id"] for c in client.get("/api/v1/clients", **headers).json()["items"]]
    assert listed == [buyer.pk]
    _problem(client.get(f"/api/v1/clients/{theirs.pk}", **headers), 404)


def test_a_client_is_created_through_the_service_and_a_duplicate_is_409(
    client, manager, token_for, buyer
):
    headers = token_for(manager, ["clients:write"])
    body = {"last_name": "Сидоров", "first_name": "Пётр", "phone": "8 (912) 000-11-22"}
    response = client.post("/api/v1/clients", body, content_type="application/json", **headers)
    assert response.status_code == 201 and response.json()["phone"] == "+7 912 000-11-22"
    found = client.get(
        "/api/v1/clients", {"phone": "89120001122"}, **token_for(manager, READ)
    ).json()
    assert [c["id"] for c in found["items"]] == [response.json()["id"]]
    again = client.post(
        "/api/v1/clients",
        {**body, "first_name": "Павел"},
        content_type="application/json",
        **headers,
    )
    _problem(again, 409)
    _problem(
        client.post(
            "/api/v1/clients", {"last_name": "X"}, content_type="application/json", **headers
        ),
        422,
        "invalid",
    )
    assert Client.objects.count() == 2


def _hold(client, headers, unit, buyer, key=None, days=3):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        "/api/v1/holds",
        {"unit": unit.pk, "client": buyer.pk, "days": days},
        content_type="application/json",
        **headers,
        **extra,
    )


def test_a_hold_by_api_has_one_winner_and_the_loser_gets_409(
    client, manager, other_manager, token_for, units, buyer
):
    mine = token_for(manager, ["holds:write"])
    response = _hold(client, mine, units[0], buyer)
    assert response.status_code == 201
    assert Unit.objects.get(pk=units[0].pk).status == "reserved"
    theirs = client_create(
        by=other_manager, last_name="Другой", first_name="К", phone="+79005550001"
    )
    other = token_for(other_manager, ["holds:write"])
    body = _problem(_hold(client, other, units[0], theirs), 409, "unit_not_available")
    assert "held" in body["detail"]
    assert Hold.objects.count() == 1


def test_a_retried_hold_with_its_idempotency_key_makes_no_second_hold(
    client, manager, token_for, units, buyer
):
    headers = token_for(manager, ["holds:write"])
    first = _hold(client, headers, units[1], buyer, key="abc-1")
    second = _hold(client, headers, units[1], buyer, key="abc-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Hold.objects.count() == 1
    reused = _hold(client, headers, units[2], buyer, key="abc-1")
    _problem(reused, 422, "idempotency_key_reused")
    assert Hold.objects.count() == 1 and IdempotencyRecord.objects.count() == 1


def test_a_paid_hold_by_api_takes_the_amount_and_the_receipt_the_page_asks_for(
    client, manager, token_for, units, buyer
):
    """The API takes every kind the hold page offers; a paid one with what the page asks
    for. Refused, it names the field the request sent and leaves the unit free."""
    headers = token_for(manager, ["holds:write"])

    def post(**body):
        body = {"unit": units[0].pk, "client": buyer.pk, "days": 1, **body}
        return client.post("/api/v1/holds", body, content_type="application/json", **headers)

    refused = _problem(post(kind="paid"), 409, "payment_required")
    assert list(refused["errors"]) == ["amount"]
    refused = _problem(post(kind="paid", amount="50000.00"), 409, "payment_required")
    assert list(refused["errors"]) == ["receipt_number"]
    too_long = _problem(post(days=365), 409, "hold_term_refused")
    assert list(too_long["errors"]) == ["days"]  # the service's expires_at, as the request said
    assert Hold.objects.count() == 0
    assert Unit.objects.get(pk=units[0].pk).status == "available"

    made = post(kind="paid", amount="50000.00", receipt_number=" ПКО-17 ", basis="mortgage")
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["kind"], body["amount"], body["receipt_number"]) == ("paid", "50000.00", "ПКО-17")
    hold = Hold.objects.get()
    assert (hold.amount, hold.receipt_number, hold.basis) == (50000, "ПКО-17", "mortgage")
    free = post(unit=units[1].pk, kind="free")
    assert free.status_code == 201 and free.json()["amount"] is None


def test_extend_and_cancel_a_hold(client, manager, token_for, units, buyer):
    headers = token_for(manager, ["holds:write", "sales:read"])
    hold = _hold(client, headers, units[0], buyer).json()
    extended = client.post(
        f"/api/v1/holds/{hold['id']}/extend",
        {"days": 1, "reason": "просил клиент"},
        content_type="application/json",
        **headers,
    )
    assert extended.status_code in (200, 409), extended.content  # within the manager's limits
    cancelled = client.post(
        f"/api/v1/holds/{hold['id']}/cancel",
        {"reason": "передумал"},
        content_type="application/json",
        **headers,
    )
    assert cancelled.status_code == 200 and cancelled.json()["state"] != HoldState.ACTIVE
    _problem(
        client.post(
            f"/api/v1/holds/{hold['id']}/cancel",
            {"reason": "ещё раз"},
            content_type="application/json",
            **headers,
        ),
        409,
    )
    _problem(
        client.post(
            "/api/v1/holds/999999/cancel",
            {"reason": "x"},
            content_type="application/json",
            **headers,
        ),
        404,
    )


def test_prices_are_proposed_as_a_batch_that_waits_for_approval(
    client, keeper, sales_head, manager, token_for, units
):
    """The API's price writes go through the pricing approval batches (the same service as
    the pages): nothing changes until the approver approves; a missing unit or a unit in a
    deal refuses the whole request and proposes nothing."""
    from decimal import Decimal

    from kvartal.pricing.models import Batch, BatchSource, BatchStatus
    from kvartal.pricing.services import batch_approve

    headers = token_for(keeper, ["prices:write"])
    before = Unit.objects.get(pk=units[0].pk).price
    changes = PriceChange.objects.count()
    body = {
        "reason": "прайс",
        "items": [{"unit": units[0].pk, "price": "9000000.00"}, {"unit": 999999, "price": "1.00"}],
    }
    _problem(client.post("/api/v1/prices", body, content_type="application/json", **headers), 422)
    sold = units[1]
    Unit.objects.filter(pk=sold.pk).update(status="sold")
    body["items"][1] = {"unit": sold.pk, "price": "1000.00"}
    problem = _problem(
        client.post("/api/v1/prices", body, content_type="application/json", **headers),
        409,
        "price_locked",
    )
    assert sold.code in problem["detail"]
    assert not Batch.objects.exists()

    body["items"] = body["items"][:1]
    key = {"HTTP_IDEMPOTENCY_KEY": "price-1"}
    response = client.post(
        "/api/v1/prices", body, content_type="application/json", **headers, **key
    )
    assert response.status_code == 202, response.content
    proposed = response.json()
    assert proposed["status"] == "pending" and proposed["lines"] == 1
    again = client.post("/api/v1/prices", body, content_type="application/json", **headers, **key)
    assert again.json()["id"] == proposed["id"] and Batch.objects.count() == 1
    batch = Batch.objects.get()
    assert batch.source == BatchSource.API and batch.created_by == keeper
    assert batch.lines.get().new_price == Decimal("9000000.00")
    # Nothing written yet: no price, no history.
    assert Unit.objects.get(pk=units[0].pk).price == before
    assert PriceChange.objects.count() == changes

    batch = batch_approve(batch=batch, by=sales_head)
    read = client.get(f"/api/v1/prices/batches/{batch.pk}", **headers).json()
    assert read["status"] == BatchStatus.APPLIED and read["applied_at"]
    assert Unit.objects.get(pk=units[0].pk).price == 9000000
    assert PriceChange.objects.filter(unit=units[0], batch=batch.applied).exists()

    # A manager's role cannot propose prices whatever the token's scopes.
    _problem(
        client.post(
            "/api/v1/prices",
            body,
            content_type="application/json",
            **token_for(manager, ["prices:write"]),
        ),
        403,
        "forbidden",
    )


def test_the_schema_is_served_and_lists_the_operations(client):
    schema = client.get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/units",
        "/api/v1/holds",
        "/api/v1/holds/{hold_id}/cancel",
        "/api/v1/payments",
        "/api/v1/prices",
    ):
        assert path in schema["paths"], path


def test_every_api_write_is_audited_with_its_token(client, manager, token_for, units, buyer):
    from kvartal.audit.models import AuditEvent

    headers = token_for(manager, ["holds:write"])
    _hold(client, headers, units[0], buyer, key="k-1")
    row = AuditEvent.objects.filter(action="api_write").get()
    assert row.actor == manager and row.data["token"] == f"t-{manager.pk}"
    assert row.data["path"] == "/api/v1/holds" and row.data["status"] == 201


def test_a_deal_of_several_units_lists_each_with_its_figures(client, manager, token_for):
    from kvartal.sales.services.deals import BuyerShare, deal_open
    from kvartal.sales.tests.factories import default_scheme, make_client, make_unit_set

    default_scheme()
    units = make_unit_set()
    flat, parking = units["apartments"][0], units["parkings"][0]
    deal = deal_open(
        by=manager, units=[flat, parking], buyers=[BuyerShare(make_client(manager=manager))]
    )
    body = client.get(f"/api/v1/deals/{deal.pk}", **token_for(manager, READ)).json()
    assert body["unit"] == flat.pk
    assert [(u["unit"], u["kind"], u["price"]) for u in body["units"]] == [
        (flat.pk, "apartment", f"{flat.price:.2f}"),
        (parking.pk, "parking", f"{parking.price:.2f}"),
    ]
    assert body["price"] == f"{deal.price:.2f}" == f"{flat.price + parking.price:.2f}"


def test_a_deal_is_registered_through_the_api_with_its_date(client, manager, token_for):
    """The stage move took no registration or act date, so a deal could not reach those
    stages through the API at all. A date after today is refused as on the page (409, the
    field named); one the calendar lacks is 422; refused, nothing moves."""
    from datetime import timedelta

    from django.utils import timezone

    from kvartal.sales.tests.factories import deal_reach, make_deal

    deal = deal_reach(make_deal(manager=manager), "signed")
    headers = token_for(manager, ["deals:write"])
    today = timezone.localdate()

    def move(**body):
        return client.post(
            f"/api/v1/deals/{deal.pk}/stage",
            {"stage": "registered", "registration_number": "66:01/123", **body},
            content_type="application/json",
            **headers,
        )

    later = move(registration_date=str(today + timedelta(days=1)))
    assert list(_problem(later, 409)["errors"]) == ["registration_date"]
    assert list(_problem(move(registration_date="2026-02-30"), 422)["errors"]) == [
        "registration_date"
    ]
    assert list(_problem(move(), 409)["errors"]) == ["registration_number"]
    deal.refresh_from_db()
    assert deal.stage.code == "signed" and deal.registration_date is None

    done = move(registration_date=str(today - timedelta(days=2)))
    assert done.status_code == 200, done.content
    deal.refresh_from_db()
    assert deal.stage.code == "registered"
    assert deal.registration_date == today - timedelta(days=2)
