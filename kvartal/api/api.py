"""Kvartal's HTTP API, version 1.

``POST /api/v1/leads`` takes a lead from a website form. It is built for hostile input:
per-address rate limit (HTTP 429), a body size limit (413), a per-site key in ``X-Api-Key``
(401), strict JSON and fields (400 with a readable error), and one transaction (nothing
partial is saved). The body is parsed by hand, after the cheap checks, so that an oversized
or flooding request costs nothing; the schema below still documents it.
"""

import json

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from ninja import NinjaAPI, Schema, Status
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as SchemaError

from kvartal.clients.models import LeadSource
from kvartal.clients.services import lead_create
from kvartal.core.errors import DomainError
from kvartal.inventory.models import Unit

api = NinjaAPI(
    title="Kvartal API",
    version="1",
    urls_namespace="api-v1",
)


class LeadIn(BaseModel):
    """A lead from a site form. ``name`` and one of ``phone``/``email`` are required."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    phone: str = Field("", max_length=32)
    email: str = Field("", max_length=254)
    message: str = Field("", max_length=4000)
    unit: int | None = Field(None, ge=1, description="Id of the unit the visitor asked about")
    utm_source: str = Field("", max_length=100)
    utm_medium: str = Field("", max_length=100)
    utm_campaign: str = Field("", max_length=100)
    utm_content: str = Field("", max_length=100)
    utm_term: str = Field("", max_length=100)

    @model_validator(mode="after")
    def phone_or_email(self):
        if not (self.phone or self.email):
            raise ValueError("give a phone or an e-mail")
        return self


class LeadOut(Schema):
    id: int
    status: str
    repeat: bool


class Error(Schema):
    error: str
    fields: dict[str, list[str]] = {}


def _error(status: int, message: str, fields: dict | None = None) -> JsonResponse:
    return JsonResponse({"error": message, "fields": fields or {}}, status=status)


def _address(request: HttpRequest) -> str:
    """The client's address. Behind a reverse proxy, set it to pass the real address in
    REMOTE_ADDR (e.g. gunicorn's --forwarded-allow-ips with a proxy-fix), or every site
    visitor shares one limit."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _over_rate(request: HttpRequest) -> bool:
    """Fixed-window counter in the cache: LEAD_API_RATE requests per address per window."""
    window = settings.LEAD_API_WINDOW_SECONDS
    key = f"lead-api:{_address(request)}"
    if cache.add(key, 1, timeout=window):
        return settings.LEAD_API_RATE < 1
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count > settings.LEAD_API_RATE


def _field_errors(error: SchemaError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for item in error.errors():
        name = ".".join(str(p) for p in item["loc"]) or "body"
        message = item["msg"].removeprefix("Value error, ")
        fields.setdefault(name, []).append(message)
    return fields


@api.post(
    "/leads",
    response={201: LeadOut, 400: Error, 401: Error, 409: Error, 413: Error, 429: Error},
    summary="Post a lead from a website form",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": LeadIn.model_json_schema()}},
        },
        "parameters": [
            {
                "in": "header",
                "name": "X-Api-Key",
                "required": True,
                "schema": {"type": "string"},
                "description": "The site's key (Clients › Lead sources in the administration)",
            }
        ],
    },
)
def leads_create(request):
    """Register a lead. A repeat request from a phone or e-mail a client already has is
    attached to that client and its manager; otherwise the lead goes to the next manager on
    duty."""
    if _over_rate(request):
        return _error(429, "Too many requests from this address; try again later.")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.LEAD_API_MAX_BODY:
        return _error(413, f"The body is larger than {settings.LEAD_API_MAX_BODY} bytes.")
    key = request.headers.get("X-Api-Key", "")
    source = (
        LeadSource.objects.filter(key=key, is_active=True).select_related("channel").first()
        if key
        else None
    )
    if source is None:
        return _error(401, "A valid X-Api-Key header is required.")
    body = request.body
    if len(body) > settings.LEAD_API_MAX_BODY:
        return _error(413, f"The body is larger than {settings.LEAD_API_MAX_BODY} bytes.")
    try:
        raw = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return _error(400, f"The body is not valid JSON: {e}")
    if not isinstance(raw, dict):
        return _error(400, "The body must be a JSON object.")
    try:
        data = LeadIn.model_validate(raw)
    except SchemaError as e:
        return _error(400, "Some fields are missing or invalid.", _field_errors(e))
    unit = None
    if data.unit is not None:
        unit = Unit.objects.filter(pk=data.unit).first()
        if unit is None:
            return _error(400, "Some fields are missing or invalid.", {"unit": ["unknown unit"]})
    fields = data.model_dump(exclude={"unit"})
    try:
        with transaction.atomic():
            lead = lead_create(by=None, channel=source.channel, source=source, unit=unit, **fields)
    except ValidationError as e:
        return _error(400, "Some fields are missing or invalid.", e.message_dict)
    except DomainError as e:
        return _error(409, str(e))
    return Status(201, {"id": lead.pk, "status": lead.status, "repeat": lead.is_repeat})
