"""Webhooks: signed deliveries to a real local receiver, retries, switching off, replay,
and no delivery to private addresses unless allowed."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import translation

from kvartal.accounts.models import Notice
from kvartal.api import webhooks
from kvartal.api.models import Delivery, Webhook
from kvartal.inventory import services as inventory
from kvartal.sales.services.holds import hold_create

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver:
    """A real HTTP server on localhost that records what it receives."""

    def __init__(self, status=200):
        self.status = status
        self.received: list[tuple[dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers), body))
                self.send_response(outer.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _hook(url, events, **fields):
    fields.setdefault("allow_private", True)
    return Webhook.objects.create(
        name="CRM сайта", url=url, events=events, secret=Webhook.new_secret(), **fields
    )


def test_a_price_change_is_delivered_signed_after_commit(receiver, units, keeper):
    hook = _hook(receiver.url, ["unit.price_changed"])
    inventory.unit_set_price(unit=units[0], price=units[0].price + 5000, by=keeper)
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    payload = json.loads(body)
    assert payload["event"] == "unit.price_changed" and payload["data"]["unit"] == units[0].pk
    assert headers["Kvartal-Event-Id"] == payload["id"]
    timestamp = headers["Kvartal-Timestamp"]
    expected = hmac.new(
        hook.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert headers["Kvartal-Signature"] == f"t={timestamp},v1={expected}"
    delivery = Delivery.objects.get()
    assert delivery.state == "delivered" and delivery.response_status == 200


def test_bulk_price_changes_are_events_too(receiver, units, keeper):
    from decimal import Decimal

    from kvartal.inventory.models import Unit

    _hook(receiver.url, ["unit.price_changed"])
    inventory.units_bulk_set_price(
        units=Unit.objects.filter(pk__in=[u.pk for u in units[:3]]),
        by=keeper,
        reason="+1%",
        percent=Decimal(1),
    )
    assert sorted(json.loads(b)["data"]["unit"] for _, b in receiver.received) == [
        u.pk for u in units[:3]
    ]


def test_a_hold_is_an_event_only_for_subscribers(receiver, units, manager, buyer):
    _hook(receiver.url, ["hold.created"])
    _hook(receiver.url, ["deal.stage_changed"])
    hold_create(unit=units[0], client=buyer, manager=manager, by=manager, days=2)
    assert [json.loads(b)["event"] for _, b in receiver.received] == ["hold.created"]


def test_failures_are_recorded_and_switch_the_webhook_off_with_a_notice(
    units, keeper, admin_user, settings
):
    settings.KVARTAL_WEBHOOK_MAX_FAILURES = 2
    failing = Receiver(status=500)
    try:
        hook = _hook(failing.url, ["unit.price_changed"])
        for n in range(3):
            inventory.unit_set_price(
                unit=units[0], price=units[0].price + 1000 * (n + 1), by=keeper
            )
        hook.refresh_from_db()
        assert not hook.is_active and "2 failed" in hook.disabled_reason
        assert len(failing.received) == 2  # the third event found the webhook off
        assert Delivery.objects.filter(state="failed").count() == 2
        assert Notice.objects.filter(user=admin_user).count() == 1
        notice = Notice.objects.get(user=admin_user)  # read in the reader's language
        with translation.override("en"):
            assert "switched off after 2 failed deliveries" in notice.render()
        with translation.override("ru"):
            assert "switched off" not in notice.render() and "2" in notice.render()
    finally:
        failing.close()


def test_private_addresses_are_refused_unless_allowed(units, keeper):
    hook = _hook("http://127.0.0.1:9/hook", ["unit.price_changed"], allow_private=False)
    inventory.unit_set_price(unit=units[0], price=units[0].price + 1000, by=keeper)
    delivery = Delivery.objects.get(webhook=hook)
    assert delivery.error.startswith("refused") and delivery.response_status is None


def test_a_checked_address_is_the_one_connected_to(receiver):
    """DNS rebinding: the name is looked up once, checked, and the POST goes to that address
    — the host in the URL is not resolved again (``.invalid`` never resolves), yet it is the
    ``Host`` the receiver sees."""
    port = receiver.server.server_port
    status, text = webhooks.post(
        f"http://hooks.example.invalid:{port}/hook?x=1",
        address="127.0.0.1",
        body=b'{"a": 1}',
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert (status, text) == (200, "ok")
    headers, body = receiver.received[0]
    assert headers["Host"] == f"hooks.example.invalid:{port}" and body == b'{"a": 1}'


def test_a_public_name_is_checked_once_and_pinned():
    with pytest.raises(webhooks.UnsafeAddress):
        webhooks.check_address("http://localhost/hook", allow_private=False)
    assert webhooks.check_address("http://localhost/hook", allow_private=True) is None
    # a literal public address needs no lookup and is returned as the one to connect to
    assert webhooks.check_address("https://93.184.215.14/hook", allow_private=False) == (
        "93.184.215.14"
    )


def test_a_delivery_can_be_replayed(receiver, units, keeper):
    _hook(receiver.url, ["unit.price_changed"])
    inventory.unit_set_price(unit=units[0], price=units[0].price + 1000, by=keeper)
    first = Delivery.objects.get()
    webhooks.replay(first)
    assert len(receiver.received) == 2
    assert json.loads(receiver.received[1][1])["id"] == first.event_id


def test_a_webhook_deleted_by_another_process_is_not_written_to(receiver, units, keeper):
    """The memo of active hooks outlives a deletion it did not see (another process, or a
    rolled-back transaction): the sale still goes through and nobody is written to."""
    from django.db import connection

    hook = _hook(receiver.url, ["unit.price_changed"])
    inventory.unit_set_price(unit=units[0], price=units[0].price + 5000, by=keeper)
    assert webhooks._active["hooks"]  # the memo knows the hook
    with connection.cursor() as cursor:  # no signal: as if another process deleted it
        cursor.execute(f"DELETE FROM {Delivery._meta.db_table}")
        cursor.execute(f"DELETE FROM {Webhook._meta.db_table} WHERE id = %s", [hook.pk])
    inventory.unit_set_price(unit=units[1], price=units[1].price + 5000, by=keeper)
    assert not Delivery.objects.exists()
    assert len(receiver.received) == 1
