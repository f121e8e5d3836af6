"""Telephony adapters: each phone system's request → verified ``CallEventData``.

Three forms are read (the formats are documented in docs/notes/callcentre.md):

- ``generic``: Kvartal's own JSON, signed with HMAC-SHA256 over ``"<timestamp>." + body``
  (headers ``X-Kvartal-Timestamp`` and ``X-Kvartal-Signature: sha256=<hex>``);
- ``asterisk``: the form fields an Asterisk/FreePBX dialplan POSTs with ``CURL()``, signed
  with the dialplan's ``SHA1()`` over the key and every field read (``ASTERISK_SIGNED``, then
  ``ts``), joined by ``:`` (Asterisk has no HMAC function; the key never travels);
- ``mango``: Mango Office VPBX webhooks (``/events/call``, ``/events/summary``): form fields
  ``vpbx_api_key``, ``sign`` = SHA-256 of ``api_key + json + api_salt``, ``json``.

Every form carries its moment; one outside ``MAX_SKEW`` of our clock is refused, and the event
id is unique per phone system (a replay inside the window is refused by the service).
"""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from .models import CallDirection, CallState, PhoneSystem, PhoneSystemKind
from .services import CallEventData

MAX_SKEW = timedelta(minutes=5)


class Refused(Exception):
    """The request is refused: ``status`` is the HTTP status, ``message`` says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _fresh(moment: datetime, now: datetime) -> datetime:
    if abs(now - moment) > MAX_SKEW:
        raise Refused(
            403, _("The event's time is more than 5 minutes from ours: refused as a replay.")
        )
    return moment


def _epoch(value, name: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(value).strip()), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise Refused(
            400, _("“%(name)s” must be a Unix time in seconds.") % {"name": name}
        ) from None


def _text(value, name: str, limit: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise Refused(400, _("“%(name)s” must be text.") % {"name": name})
    value = str(value).strip()
    if len(value) > limit:
        raise Refused(400, _("“%(name)s” is too long.") % {"name": name})
    if required and not value:
        raise Refused(400, _("“%(name)s” is required.") % {"name": name})
    return value


def _duration(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        raise Refused(400, _("“duration” must be whole seconds.")) from None
    if not 0 <= seconds <= 86_400:
        raise Refused(400, _("“duration” must be between 0 and 86400 seconds."))
    return seconds


def _url(value) -> str:
    value = _text(value, "recording_url", 500)
    if value and not value.startswith(("http://", "https://")):
        raise Refused(400, _("“recording_url” must be an http(s) address."))
    return value


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# --- Kvartal JSON ---------------------------------------------------------------------------

GENERIC_EVENTS = {s.value for s in CallState}


def sign_generic(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header a sender puts on a generic event (also used by the tests)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def read_generic(system: PhoneSystem, request, body: bytes, now: datetime) -> list[CallEventData]:
    timestamp = request.headers.get("X-Kvartal-Timestamp", "")
    signature = request.headers.get("X-Kvartal-Signature", "")
    if not timestamp or not signature:
        raise Refused(401, _("The event is not signed."))
    if not _same(sign_generic(system.secret, timestamp, body), signature):
        raise Refused(403, _("The signature does not match."))
    _fresh(_epoch(timestamp, "X-Kvartal-Timestamp"), now)
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, _("The body is not JSON.")) from None
    if not isinstance(doc, dict):
        raise Refused(400, _("The body must be a JSON object."))
    kind = _text(doc.get("event"), "event", 16, required=True)
    if kind not in GENERIC_EVENTS:
        raise Refused(
            400,
            _("“event” must be one of: %(values)s.")
            % {"values": ", ".join(sorted(GENERIC_EVENTS))},
        )
    direction = _text(doc.get("direction") or "in", "direction", 4)
    if direction not in CallDirection.values:
        raise Refused(400, _("“direction” must be “in” or “out”."))
    raw_at = _text(doc.get("at"), "at", 40, required=True)
    at = parse_datetime(raw_at) if "T" in raw_at or "-" in raw_at else None
    if at is None:
        raise Refused(400, _("“at” must be an ISO 8601 date and time."))
    if timezone.is_naive(at):
        raise Refused(400, _("“at” must carry its time zone."))
    caller = _text(doc.get("from"), "from", 32)
    called = _text(doc.get("to"), "to", 32)
    return [
        CallEventData(
            system=system,
            event_id=_text(doc.get("event_id"), "event_id", 200, required=True),
            call_id=_text(doc.get("call_id"), "call_id", 128, required=True),
            kind=kind,
            at=at,
            direction=direction,
            phone=caller if direction == CallDirection.IN else called,
            line=called if direction == CallDirection.IN else caller,
            extension=_text(doc.get("extension"), "extension", 32),
            duration=_duration(doc.get("duration")),
            recording_url=_url(doc.get("recording_url")),
            payload=doc,
        )
    ]


# --- Asterisk / FreePBX ---------------------------------------------------------------------

# The dialplan's words → ours. ``ended`` with ``status`` NOANSWER/BUSY/CANCEL is a missed call.
ASTERISK_EVENTS = {
    "ringing": CallState.RINGING,
    "answered": CallState.ANSWERED,
    "ended": CallState.ENDED,
    "missed": CallState.MISSED,
}
ASTERISK_UNANSWERED = {"NOANSWER", "BUSY", "CANCEL", "CHANUNAVAIL", "CONGESTION"}


# Every field the adapter reads, in the order they are signed (``ts`` comes last; an absent
# field signs as empty). Only ``recording`` may hold a ``:`` (a URL), and it is the last before
# ``ts`` (digits only): so no colon can be moved from one field to its neighbour under the
# same signature.
ASTERISK_SIGNED = (
    "event",
    "uniqueid",
    "linkedid",
    "caller",
    "called",
    "ext",
    "direction",
    "status",
    "duration",
    "recording",
)


def sign_asterisk(secret: str, fields: dict) -> str:
    """What the dialplan computes: ``${SHA1(key:event:uniqueid:linkedid:caller:called:ext:
    direction:status:duration:recording:ts)}``."""
    parts = [secret] + [str(fields.get(k, "")) for k in (*ASTERISK_SIGNED, "ts")]
    return hashlib.sha1(":".join(parts).encode()).hexdigest()  # noqa: S324 (Asterisk's SHA1)


def read_asterisk(system: PhoneSystem, request, body: bytes, now: datetime) -> list[CallEventData]:
    fields = {k: request.POST.get(k, "") for k in request.POST}
    if not fields.get("sig"):
        raise Refused(401, _("The event is not signed."))
    for name in (*ASTERISK_SIGNED[:-1], "ts"):
        if ":" in fields.get(name, ""):
            raise Refused(400, _("“%(name)s” must not contain “:”.") % {"name": name})
    if not _same(sign_asterisk(system.secret, fields), fields["sig"].lower()):
        raise Refused(403, _("The signature does not match."))
    at = _fresh(_epoch(fields.get("ts"), "ts"), now)
    word = _text(fields.get("event"), "event", 16, required=True)
    if word not in ASTERISK_EVENTS:
        raise Refused(
            400,
            _("“event” must be one of: %(values)s.")
            % {"values": ", ".join(sorted(ASTERISK_EVENTS))},
        )
    kind = ASTERISK_EVENTS[word]
    status = _text(fields.get("status"), "status", 16).upper()
    if kind == CallState.ENDED and status in ASTERISK_UNANSWERED:
        kind = CallState.MISSED
    direction = _text(fields.get("direction") or "in", "direction", 4)
    if direction not in CallDirection.values:
        raise Refused(400, _("“direction” must be “in” or “out”."))
    uniqueid = _text(fields.get("uniqueid"), "uniqueid", 64, required=True)
    ext = _text(fields.get("ext"), "ext", 32)
    caller = _text(fields.get("caller"), "caller", 32)
    called = _text(fields.get("called"), "called", 32)
    return [
        CallEventData(
            system=system,
            event_id=f"{uniqueid}:{word}:{ext}",
            call_id=_text(fields.get("linkedid"), "linkedid", 64) or uniqueid,
            kind=kind,
            at=at,
            direction=direction,
            phone=caller if direction == CallDirection.IN else called,
            line=called if direction == CallDirection.IN else caller,
            extension=ext,
            duration=_duration(fields.get("duration")),
            recording_url=_url(fields.get("recording")),
            payload=fields,
        )
    ]


# --- Mango Office ---------------------------------------------------------------------------

MANGO_STATES = {
    "Appeared": CallState.RINGING,
    "Connected": CallState.ANSWERED,
    "Disconnected": CallState.ENDED,
}


def sign_mango(api_key: str, payload: str, salt: str) -> str:
    """Mango Office's ``sign``: SHA-256 of the API key, the JSON text and the salt."""
    return hashlib.sha256((api_key + payload + salt).encode()).hexdigest()


def _party(doc: dict, name: str) -> dict:
    party = doc.get(name) or {}
    if not isinstance(party, dict):
        raise Refused(400, _("“%(name)s” must be an object.") % {"name": name})
    return party


def read_mango(system: PhoneSystem, request, body: bytes, now: datetime, *, what: str):
    api_key = request.POST.get("vpbx_api_key", "")
    sign = request.POST.get("sign", "")
    payload = request.POST.get("json", "")
    if not sign or not api_key:
        raise Refused(401, _("The event is not signed."))
    if not _same(api_key, system.api_key) or not _same(
        sign_mango(api_key, payload, system.secret), sign.lower()
    ):
        raise Refused(403, _("The signature does not match."))
    try:
        doc = json.loads(payload)
    except ValueError:
        raise Refused(400, _("The body is not JSON.")) from None
    if not isinstance(doc, dict):
        raise Refused(400, _("The body must be a JSON object."))
    entry = _text(doc.get("entry_id"), "entry_id", 128, required=True)
    source, target = _party(doc, "from"), _party(doc, "to")
    outgoing = bool(source.get("extension")) and not target.get("extension")
    direction = CallDirection.OUT if outgoing else CallDirection.IN
    phone = _text((target if outgoing else source).get("number"), "number", 32)
    line = _text(doc.get("line_number") or target.get("line_number"), "line_number", 32)
    ext = _text((source if outgoing else target).get("extension"), "extension", 32)
    if what == "call":
        state = _text(doc.get("call_state"), "call_state", 16, required=True)
        if state not in MANGO_STATES:
            return []  # OnHold and the like: nothing for the call centre
        at = _fresh(_epoch(doc.get("timestamp"), "timestamp"), now)
        seq = _text(doc.get("seq"), "seq", 16)
        call_leg = _text(doc.get("call_id"), "call_id", 128)
        return [
            CallEventData(
                system=system,
                event_id=f"{entry}:{call_leg}:{seq}:{state}",
                call_id=entry,
                kind=MANGO_STATES[state],
                at=at,
                direction=direction,
                phone=phone,
                line=line,
                extension=ext,
                payload=doc,
            )
        ]
    if what == "summary":
        end = _fresh(_epoch(doc.get("end_time"), "end_time"), now)
        talk = doc.get("talk_time") or 0
        answered = str(doc.get("entry_result", "")) == "1"
        duration = None
        if answered and talk:
            duration = max(0, int((end - _epoch(talk, "talk_time")).total_seconds()))
        return [
            CallEventData(
                system=system,
                event_id=f"{entry}:summary",
                call_id=entry,
                kind=CallState.ENDED if answered else CallState.MISSED,
                at=end,
                direction=direction,
                phone=phone,
                line=line,
                extension=ext,
                duration=duration,
                payload=doc,
            )
        ]
    raise Refused(404, _("Unknown Mango Office event."))


def read(system: PhoneSystem, request, body: bytes, *, what: str = "", now=None):
    """The events in this request from ``system`` (verified), or ``Refused``."""
    now = now or timezone.now()
    if system.kind == PhoneSystemKind.GENERIC:
        return read_generic(system, request, body, now)
    if system.kind == PhoneSystemKind.ASTERISK:
        return read_asterisk(system, request, body, now)
    return read_mango(system, request, body, now, what=what)
