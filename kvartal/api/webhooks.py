"""Webhooks: business events, signed, delivered by the job queue after commit.

Events come from the rows the services write (unit status and price history, hold and deal
events, payments, leads) through ``post_save`` and inventory's ``history_written`` for bulk
writes, so no service knows about webhooks. Each event becomes one ``Delivery`` per subscribed
webhook, in the same transaction as the business change; the job is enqueued on commit.

A delivery is a JSON POST with ``Kvartal-Event``, ``Kvartal-Event-Id``, ``Kvartal-Timestamp``
and ``Kvartal-Signature: t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>" with the
webhook's secret>``. A failure is retried with exponential backoff by the job queue; after
``KVARTAL_WEBHOOK_MAX_FAILURES`` failures in a row the webhook is switched off and the
administrators are told. Addresses inside private networks are refused unless the
administrator allowed them for that webhook.
"""

import hashlib
import hmac
import ipaddress
import json
import socket
import time
import uuid
from urllib.parse import urlsplit

import certifi
import requests
import urllib3
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_noop

from kvartal.clients.models import Lead
from kvartal.core.jobs import job
from kvartal.inventory.models import PriceChange, StatusChange
from kvartal.inventory.signals import history_written
from kvartal.sales.models import DealEvent, HoldEvent, Payment

from .common import dumps
from .models import Delivery, Webhook, WebhookEvent


class UnsafeAddress(Exception):
    pass


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def check_address(url: str, *, allow_private: bool) -> str | None:
    """Refuse a URL whose host resolves to a private, loopback, link-local or reserved
    address (SSRF), unless allowed. Returns the checked address to connect to (``None`` when
    private addresses are allowed): the delivery connects to that very address, so a name
    that resolves differently a moment later (DNS rebinding) cannot reach inside."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeAddress("not an http(s) URL")
    if allow_private:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as error:
        raise UnsafeAddress(f"cannot resolve {parts.hostname}") from error
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if not ip.is_global:
            raise UnsafeAddress(f"{parts.hostname} is a private address ({ip})")
    return infos[0][4][0]


def post(url: str, *, address: str | None, body: bytes, headers: dict, timeout: float):
    """POST ``body`` to ``url``; with ``address``, over a connection to that address (no
    second name lookup), keeping the URL's host for the ``Host`` header, TLS SNI and the
    certificate check. No redirects are followed. Returns (status, text)."""
    if address is None:
        response = requests.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        )
        return response.status_code, response.text
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    options = {"timeout": urllib3.Timeout(total=timeout), "retries": False}
    if https:
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            server_hostname=parts.hostname,
            assert_hostname=parts.hostname,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            **options,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, **options)
    with pool:
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        response = pool.urlopen(
            "POST", target, body=body, headers={**headers, "Host": host}, redirect=False
        )
        return response.status, response.data.decode("utf-8", "replace")


# The active webhooks, read at most every ``_TTL`` seconds per process (and at once after a
# change in this process): a sale must not pay a query for webhooks nobody configured. A
# webhook created or switched off in another process takes effect within ``_TTL``.
_TTL = 30.0
_active: dict = {"until": 0.0, "hooks": []}


def _active_hooks() -> list:
    now = time.monotonic()
    if now >= _active["until"]:
        _active["hooks"] = list(Webhook.objects.filter(is_active=True).only("pk", "events"))
        _active["until"] = now + _TTL
    return _active["hooks"]


@receiver([post_save, post_delete], sender=Webhook, dispatch_uid="webhook-changed")
def _forget_active(sender, **kwargs):
    _active["until"] = 0.0


def subscribed(event: str) -> list:
    """The active webhooks subscribed to ``event``. The memo only answers "is anybody
    subscribed at all?" without a query; when it says yes, the hooks are read afresh, so a
    webhook deleted in another process (or rolled back in this one) is never written to."""
    if not any(event in h.events for h in _active_hooks()):
        return []
    return [
        h for h in Webhook.objects.filter(is_active=True).only("pk", "events") if event in h.events
    ]


def emit(event: str, data) -> int:
    """One delivery per active webhook subscribed to ``event``; sent after commit. ``data``
    may be a function: it is called only when somebody subscribed (no query otherwise)."""
    hooks = subscribed(event)
    if not hooks:
        return 0
    if callable(data):
        data = data()
    event_id = uuid.uuid4().hex
    payload = {
        "id": event_id,
        "event": event,
        "created_at": timezone.now().isoformat(),
        "data": json.loads(dumps(data)),
    }
    for hook in hooks:
        delivery = Delivery.objects.create(
            webhook=hook, event_id=event_id, event=event, payload=payload
        )
        transaction.on_commit(lambda pk=delivery.pk: deliver_job.enqueue(pk))
    return len(hooks)


def attempt(delivery: Delivery) -> bool:
    """POST the delivery once; record the outcome. True when the receiver took it (2xx)."""
    hook = delivery.webhook
    body = json.dumps(delivery.payload, ensure_ascii=False).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Kvartal-Webhooks/1",
        "Kvartal-Event": delivery.event,
        "Kvartal-Event-Id": delivery.event_id,
        "Kvartal-Timestamp": str(timestamp),
        "Kvartal-Signature": sign(hook.secret, timestamp, body),
    }
    delivery.attempts += 1
    started = time.perf_counter()
    ok = False
    try:
        address = check_address(hook.url, allow_private=hook.allow_private)
        status, text = post(
            hook.url,
            address=address,
            body=body,
            headers=headers,
            timeout=settings.KVARTAL_WEBHOOK_TIMEOUT,
        )
        delivery.response_status = status
        delivery.response_body = text[:2000]
        delivery.error = ""
        ok = 200 <= status < 300
    except UnsafeAddress as error:
        delivery.error = f"refused: {error}"[:300]
    except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
        delivery.error = f"{type(error).__name__}: {error}"[:300]
    delivery.duration_ms = int((time.perf_counter() - started) * 1000)
    if ok:
        delivery.state = Delivery.State.DELIVERED
        delivery.delivered_at = timezone.now()
        Webhook.objects.filter(pk=hook.pk).update(failures=0)
    else:
        delivery.state = Delivery.State.FAILED
        _failed(hook)
    delivery.save()
    return ok


def _failed(hook: Webhook) -> None:
    Webhook.objects.filter(pk=hook.pk).update(failures=models_f("failures") + 1)
    hook.refresh_from_db(fields=["failures", "is_active"])
    if hook.is_active and hook.failures >= settings.KVARTAL_WEBHOOK_MAX_FAILURES:
        reason = f"switched off after {hook.failures} failed deliveries in a row"
        Webhook.objects.filter(pk=hook.pk).update(is_active=False, disabled_reason=reason)
        _active["until"] = 0.0
        from kvartal.accounts.models import User
        from kvartal.accounts.services import notice_send

        for admin in User.objects.filter(is_superuser=True, is_active=True):
            notice_send(
                user=admin,
                message=gettext_noop(
                    "Webhook “%(name)s” was switched off after %(count)s failed deliveries "
                    "in a row."
                ),
                args={"name": hook.name, "count": hook.failures},
            )


def models_f(name):
    from django.db.models import F

    return F(name)


class DeliveryFailed(Exception):
    pass


@job()
def deliver_job(delivery_id: int) -> None:
    """Deliver once; a failure raises so that the queue retries with backoff. A delivery of a
    deleted or switched-off webhook, or one already delivered, ends quietly."""
    delivery = Delivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.state == Delivery.State.DELIVERED:
        return
    if not delivery.webhook.is_active:
        return
    if not attempt(delivery):
        raise DeliveryFailed(delivery.error or f"HTTP {delivery.response_status}")


def replay(delivery: Delivery) -> Delivery:
    """Send a delivery's event again (the same id and body) as a new delivery."""
    copy = Delivery.objects.create(
        webhook=delivery.webhook,
        event_id=delivery.event_id,
        event=delivery.event,
        payload=delivery.payload,
    )
    transaction.on_commit(lambda: deliver_job.enqueue(copy.pk))
    return copy


# --- where events come from ------------------------------------------------------------


def _status(row: StatusChange) -> None:
    emit(
        WebhookEvent.UNIT_STATUS,
        {
            "unit": row.unit_id,
            "old_status": row.old_status,
            "new_status": row.new_status,
            "at": row.at,
        },
    )


def _price(row: PriceChange) -> None:
    emit(
        WebhookEvent.UNIT_PRICE,
        {"unit": row.unit_id, "old_price": row.old_price, "new_price": row.new_price, "at": row.at},
    )


@receiver(post_save, sender=StatusChange, dispatch_uid="webhook-status")
def _on_status(sender, instance, created, **kwargs):
    if created:
        _status(instance)


@receiver(post_save, sender=PriceChange, dispatch_uid="webhook-price")
def _on_price(sender, instance, created, **kwargs):
    if created:
        _price(instance)


@receiver(history_written, dispatch_uid="webhook-bulk")
def _on_bulk(sender, rows, **kwargs):
    if not _active_hooks():
        return
    for row in rows:
        (_status if sender is StatusChange else _price)(row)


@receiver(post_save, sender=HoldEvent, dispatch_uid="webhook-hold")
def _on_hold(sender, instance, created, **kwargs):
    if not created:
        return
    if instance.kind == "created":
        event = WebhookEvent.HOLD_CREATED
    elif instance.kind in ("cancelled", "expired", "converted"):
        event = WebhookEvent.HOLD_ENDED
    else:
        return

    def data():
        hold = instance.hold
        return {
            "hold": hold.pk,
            "unit": hold.unit_id,
            "client": hold.client_id,
            "kind": instance.kind,
            "expires_at": hold.expires_at,
        }

    emit(event, data)


@receiver(post_save, sender=DealEvent, dispatch_uid="webhook-deal")
def _on_deal(sender, instance, created, **kwargs):
    if not (created and instance.kind in ("created", "stage", "terminated")):
        return

    def data():
        deal = instance.deal
        return {
            "deal": deal.pk,
            "number": deal.number,
            "unit": deal.unit_id,
            "stage": deal.stage.code,
            "is_active": deal.is_active,
        }

    emit(WebhookEvent.DEAL_STAGE, data)


@receiver(post_save, sender=Payment, dispatch_uid="webhook-payment")
def _on_payment(sender, instance, created, **kwargs):
    if created:
        emit(
            WebhookEvent.PAYMENT,
            {
                "payment": instance.pk,
                "deal": instance.deal_id,
                "amount": instance.amount,
                "received_on": instance.received_on,
            },
        )


@receiver(post_save, sender=Lead, dispatch_uid="webhook-lead")
def _on_lead(sender, instance, created, **kwargs):
    if created:
        emit(
            WebhookEvent.LEAD,
            {
                "lead": instance.pk,
                "channel": instance.channel_id,
                "client": instance.client_id,
                "unit": instance.unit_id,
            },
        )
