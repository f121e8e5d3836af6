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
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, JsonResponse
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as SchemaError

from kvartal.clients.models import LeadSource
from kvartal.clients.services import lead_create
from kvartal.core.errors import DomainError
from kvartal.core.net import client_address
from kvartal.inventory.models import Unit

from .problems import Problem, problem_response


class KvartalAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        """Errors are documented as what they are: ``application/problem+json``."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if str(status).startswith(("4", "5")) and "application/json" in content:
                        content["application/problem+json"] = content.pop("application/json")
        return schema


api = KvartalAPI(
    title="Kvartal API",
    version="1",
    urls_namespace="api-v1",
    description=(
        "Integration API: inventory, clients, leads, holds, deals, payments and prices, on the "
        "same services and permission table as the pages. Authenticate with "
        "`Authorization: Bearer <token>` (tokens: an administrator creates them under "
        "Integrations). Errors are problem details (`application/problem+json`) with a `code`."
    ),
)


@api.exception_handler(Problem)
def _problem(request, exc: Problem):
    return problem_response(exc.status, exc.code, exc.detail, exc.errors, exc.headers)


@api.exception_handler(NinjaValidationError)
def _invalid(request, exc: NinjaValidationError):
    fields: dict[str, list[str]] = {}
    for item in exc.errors:
        loc = [str(p) for p in item.get("loc", []) if p not in ("body", "query", "path", "body")]
        name = ".".join(loc) or "body"
        fields.setdefault(name, []).append(
            str(item.get("msg", "invalid")).removeprefix("Value error, ")
        )
    return problem_response(422, "invalid", "Some fields are missing or invalid.", fields)


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if exc.status_code == 401:
        return problem_response(401, "token_invalid", "The token is missing, unknown or revoked.")
    code = "malformed" if exc.status_code == 400 else "error"
    return problem_response(exc.status_code, code, str(exc))


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return problem_response(401, "token_invalid", "The token is missing, unknown or revoked.")


@api.exception_handler(Http404)
def _not_found(request, exc):
    return problem_response(404, "not_found", "Not found.")


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return problem_response(403, "forbidden", "Forbidden.")


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
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: dict[str, list[str]] | None = None


_CODES = {
    400: "invalid",
    401: "key_invalid",
    409: "conflict",
    413: "too_large",
    429: "rate_limited",
}


def _error(status: int, message: str, fields: dict | None = None) -> JsonResponse:
    return problem_response(status, _CODES.get(status, "error"), message, fields)


def _address(request: HttpRequest) -> str:
    """The client's address (behind the trusted proxies of ``KVARTAL_TRUSTED_PROXIES``)."""
    return client_address(request) or "unknown"


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


from . import v1  # noqa: E402 - the endpoints register on ``api``

api.add_router("/", v1.router)
