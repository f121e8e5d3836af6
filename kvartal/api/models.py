"""Integration tokens, idempotency records, webhook subscriptions and their deliveries."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# What a scope lets a token do; a token's rights are its user's capabilities narrowed to the
# capabilities of its scopes (one permission table: accounts.permissions).
SCOPES: dict[str, tuple[str, frozenset[str]]] = {
    "inventory:read": (_("Read inventory, prices and promotions"), frozenset({"inventory.view"})),
    "clients:read": (_("Read clients and leads"), frozenset({"clients.view"})),
    "clients:write": (_("Create clients and leads"), frozenset({"clients.view", "clients.edit"})),
    "sales:read": (_("Read holds, deals and payments"), frozenset({"sales.view"})),
    "holds:write": (_("Create, extend and cancel holds"), frozenset({"sales.view", "sales.hold"})),
    "deals:write": (_("Move deals between stages"), frozenset({"sales.view", "sales.deal"})),
    "payments:write": (_("Record received payments"), frozenset({"sales.view", "sales.pay"})),
    "prices:write": (
        _("Propose prices (batches awaiting approval)"),
        frozenset({"inventory.view", "inventory.set_price", "pricing.view", "pricing.propose"}),
    ),
}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """An integration's token: acts as ``user`` (a role in the permission table) within
    ``scopes``, optionally only from ``addresses``, at most ``rate`` requests a minute."""

    name = models.CharField(_("name"), max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        related_name="api_tokens",
        verbose_name=_("acts as"),
        help_text=_("The token has this user's rights, narrowed to its scopes."),
    )
    prefix = models.CharField(max_length=8, editable=False, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    addresses = models.CharField(
        _("allowed addresses"),
        max_length=500,
        blank=True,
        help_text=_("IP addresses or networks, comma separated; empty: any."),
    )
    rate = models.PositiveIntegerField(_("requests per minute"), default=600)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_key() -> str:
        return "kv_" + secrets.token_urlsafe(32)

    def set_key(self, key: str) -> None:
        self.prefix = key[3:9]
        self.key_hash = hash_key(key)


class IdempotencyRecord(models.Model):
    """The first answer to a write with an ``Idempotency-Key``: a retry gets it again."""

    token = models.ForeignKey(ApiToken, models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(default=0)
    body = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return self.key


class WebhookEvent(models.TextChoices):
    UNIT_STATUS = "unit.status_changed", _("Unit status changed")
    UNIT_PRICE = "unit.price_changed", _("Unit price changed")
    HOLD_CREATED = "hold.created", _("Hold created")
    HOLD_ENDED = "hold.ended", _("Hold ended")
    DEAL_STAGE = "deal.stage_changed", _("Deal stage changed")
    PAYMENT = "payment.received", _("Payment received")
    LEAD = "lead.created", _("Lead created")
    FIXATION = "client.fixed", _("Client fixed by an agency")


class Webhook(models.Model):
    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    secret = models.CharField(_("signing secret"), max_length=64, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    allow_private = models.BooleanField(
        _("allow private addresses"),
        default=False,
        help_text=_("Deliver to an address inside the company's network."),
    )
    failures = models.PositiveIntegerField(_("failures in a row"), default=0, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def new_secret() -> str:
        return secrets.token_hex(32)


class Delivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    webhook = models.ForeignKey(Webhook, models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=40, db_index=True)
    event = models.CharField(max_length=40, choices=WebhookEvent)
    payload = models.JSONField()
    state = models.CharField(max_length=16, choices=State, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook}"


class StatementImport(models.Model):
    """A bank statement the cashier loaded: its lines with the deal each was matched to, until
    the cashier records the chosen ones (then ``applied_at``)."""

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("loaded by")
    )
    uploaded_at = models.DateTimeField(_("loaded"), auto_now_add=True)
    file_name = models.CharField(_("file"), max_length=200)
    kind = models.CharField(_("format"), max_length=16)
    lines = models.JSONField(default=list)
    applied_at = models.DateTimeField(_("recorded"), null=True, blank=True)
    recorded = models.PositiveIntegerField(_("payments recorded"), default=0)

    class Meta:
        verbose_name = _("bank statement")
        verbose_name_plural = _("bank statements")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.file_name
