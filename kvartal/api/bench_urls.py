"""The URLs of ``bench_api``'s server: the site's, plus the floors — bare Django views doing the
API's work without the API: the same unit rows serialized the same way, the same hold made by
the same service, with no token, scope, rate limit, schema, idempotency record, ETag or audit
row; and the floor of the hold page: a bare view doing the writes of a hold (lock the unit,
insert the hold and its event, update the unit, insert its history row) with no session,
form, rule or template. Never mounted in production (only ``kvartal.api.bench_settings``
points here)."""

import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from kvartal.accounts.models import User
from kvartal.clients.models import Client
from kvartal.core.errors import DomainError
from kvartal.inventory.models import StatusChange, Unit, UnitStatus
from kvartal.sales.models import Hold, HoldEvent, HoldEventKind
from kvartal.sales.services.holds import hold_create
from kvartal.urls import urlpatterns as site

from .v1 import _hold, _unit

MANAGER = "bench-api"


def floor_units(request):
    limit = int(request.GET.get("limit", 100))
    rows = Unit.objects.select_related("building").on_sale()  # the API's status=available
    return JsonResponse({"items": [_unit(u) for u in rows.order_by("pk")[:limit]]})


@csrf_exempt
def floor_hold(request):
    data = json.loads(request.body)
    manager = User.objects.get(username=MANAGER)
    unit = Unit.objects.filter(pk=data["unit"]).first()
    client = Client.objects.filter(pk=data["client"]).first()
    try:
        hold = hold_create(unit=unit, client=client, manager=manager, by=manager, days=data["days"])
    except DomainError as error:
        return JsonResponse({"detail": str(error)}, status=409)
    return JsonResponse(_hold(hold), status=201)


@csrf_exempt
def floor_hold_writes(request, pk: int):
    """The floor of the hold page's POST: the rows a hold writes, written bare in one
    transaction — the unit locked and read (price, status), the hold and its ``created``
    event inserted, the unit reserved, its status history row inserted; then the page's
    redirect. The client, manager, kind and basis come from the form data unchecked."""
    now = timezone.now()
    end = now + timedelta(days=1)
    manager_id = int(request.POST["manager"])
    try:
        with transaction.atomic():
            price, status = (
                Unit.objects.select_for_update().filter(pk=pk).values_list("price", "status").get()
            )
            hold = Hold.objects.create(
                unit_id=pk,
                client_id=int(request.POST["client"]),
                manager_id=manager_id,
                kind=request.POST["kind"],
                basis=request.POST["basis"],
                price=price,
                starts_at=now,
                expires_at=end,
                created_by_id=manager_id,
            )
            HoldEvent.objects.create(
                hold=hold,
                at=now,
                actor_id=manager_id,
                kind=HoldEventKind.CREATED,
                new_expires_at=end,
            )
            Unit.objects.filter(pk=pk).update(
                status=UnitStatus.RESERVED, status_changed_at=now, hold_until=end
            )
            StatusChange.objects.create(
                unit_id=pk,
                at=now,
                actor_id=manager_id,
                reason="Held",
                old_status=status,
                new_status=UnitStatus.RESERVED,
                price=price,
            )
    except IntegrityError:  # held already: the database's one active hold per unit
        return HttpResponse(status=409)
    return HttpResponseRedirect(f"/app/units/{pk}/")


urlpatterns = [
    path("bench-floor/units/", floor_units),
    path("bench-floor/holds/", floor_hold),
    path("bench-floor/units/<int:pk>/hold/", floor_hold_writes),
    *site,
]
