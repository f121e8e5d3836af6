"""What every list and write of the API shares: cursor pages, ETags, idempotent writes."""

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse

from kvartal import audit

from .models import IdempotencyRecord
from .problems import Problem

MAX_LIMIT = 500


class Encoder(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, Decimal):
            return str(o)
        return super().default(o)


def dumps(data) -> str:
    return json.dumps(data, cls=Encoder, ensure_ascii=False, separators=(",", ":"))


def _query_hash(params: dict) -> str:
    items = sorted((k, v) for k, v in params.items() if k not in ("cursor", "limit"))
    return hashlib.sha1(repr(items).encode()).hexdigest()[:12]


def encode_cursor(last_id: int, params: dict) -> str:
    raw = json.dumps({"after": last_id, "q": _query_hash(params)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, params: dict) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after = int(data["after"])
        query = data["q"]
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise Problem(422, "cursor_invalid", "The cursor is not one this API gave.") from None
    if query != _query_hash(params):
        raise Problem(
            422, "cursor_mismatch", "The cursor belongs to another query: keep the same filters."
        )
    return after


def page(request, queryset, serialize: Callable, *, limit: int):
    """A cursor page ordered by id: ``{"items": […], "next": cursor | null}``, with an ETag;
    ``If-None-Match`` with the same ETag answers 304."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Problem(422, "limit_invalid", f"limit must be between 1 and {MAX_LIMIT}.")
    params = dict(request.GET.items())
    cursor = request.GET.get("cursor")
    if cursor:
        queryset = queryset.filter(pk__gt=decode_cursor(cursor, params))
    rows = list(queryset.order_by("pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    body = {
        "items": [serialize(row) for row in rows],
        "next": encode_cursor(rows[-1].pk, params) if more else None,
    }
    return etagged(request, body)


def etagged(request, body) -> HttpResponse:
    text = dumps(body)
    etag = '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(text, content_type="application/json")
    response["ETag"] = etag
    return response


def money(value) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"


def iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def idempotent(request, body: dict, work: Callable[[], tuple[int, dict]]) -> JsonResponse:
    """Run ``work`` once per ``Idempotency-Key`` of this token: a retry with the same key and
    body gets the first answer again (and makes nothing new); the same key with another body
    is refused (422). Without the header, ``work`` simply runs."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        with transaction.atomic():
            status, data = work()
            _audit(request, status, key)
        return JsonResponse(data, status=status, encoder=Encoder)
    if len(key) > 200:
        raise Problem(422, "idempotency_key_invalid", "The Idempotency-Key is longer than 200.")
    fingerprint = hashlib.sha256((request.method + request.path + dumps(body)).encode()).hexdigest()
    token = request.api_token
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(token=token, key=key, fingerprint=fingerprint)
            try:
                with transaction.atomic():
                    status, data = work()
            except Problem as problem:
                status, data = problem.status, _problem_body(problem)
            record.status, record.body = status, json.loads(dumps(data))
            record.save(update_fields=["status", "body"])
            _audit(request, status, key)
    except IntegrityError:
        record = IdempotencyRecord.objects.filter(token=token, key=key).first()
        if record is None:
            raise
    if record.fingerprint != fingerprint:
        raise Problem(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was used with another request body.",
        )
    if record.status >= 400:
        from .problems import problem_response

        b = record.body
        return problem_response(
            record.status, b.get("code", "error"), b.get("detail", ""), b.get("errors")
        )
    response = JsonResponse(record.body, status=record.status, encoder=Encoder)
    return response


def _audit(request, status: int, key: str) -> None:
    """Every write through the API leaves a row naming the token (the services' own rows
    name the token's user)."""
    token = request.api_token
    audit.record(
        "api_write",
        by=request.user,
        data={
            "token": token.name,
            "token_prefix": token.prefix,
            "method": request.method,
            "path": request.path,
            "status": status,
            "idempotency_key": key,
        },
    )


def _problem_body(problem: Problem) -> dict:
    body = {"status": problem.status, "code": problem.code, "detail": problem.detail}
    if problem.errors:
        body["errors"] = problem.errors
    return body
