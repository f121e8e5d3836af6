"""The telephony endpoint: ``POST /app/calls/telephony/<code>/`` (and Mango Office's
``…/<code>/events/<what>``). Cheap checks first (the phone system, the body's size), then the
adapter verifies the signature and freshness, then one transaction per event."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from kvartal.core.errors import DomainError

from .. import conf, telephony
from ..models import PhoneSystem
from ..services import EventReplayed, call_event_apply


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
@require_POST
def telephony_event(request, code: str, what: str = ""):
    system = get_object_or_404(PhoneSystem, code=code, is_active=True)
    limit = conf.max_body()
    too_large = _("The body is larger than %(limit)s bytes.") % {"limit": limit}
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:  # refused before it is read
        return _error(413, too_large)
    body = request.body
    if len(body) > limit:  # a body without (or beyond) its Content-Length
        return _error(413, too_large)
    try:
        events = telephony.read(system, request, body, what=what)
    except telephony.Refused as refused:
        return _error(refused.status, refused.message)
    done = []
    for data in events:
        try:
            event = _apply(data)
        except EventReplayed as error:
            return _error(409, str(error))
        except (DomainError, ValidationError) as error:
            return _error(400, "; ".join(getattr(error, "messages", [str(error)])))
        done.append({"call": event.call_id, "result": event.result})
    return JsonResponse({"events": done})


def _apply(data):
    """One event in its transaction; two first events of one call racing: the loser's
    transaction is refused by the unique call id and tried once more (it then finds the call)."""
    try:
        with transaction.atomic():
            return call_event_apply(data=data)
    except IntegrityError:
        with transaction.atomic():
            return call_event_apply(data=data)
