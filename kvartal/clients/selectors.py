"""Reads of the clients app: matching units for a need, tasks for a page, duplicates."""

from contextlib import suppress
from datetime import datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from kvartal.accounts.scoping import RowScope, row_scope
from kvartal.core.statements import Statement
from kvartal.inventory.models import Unit, UnitKind

from .models import Client, Need, Task


def matching_units(need: Need | None, *, now=None, limit: int = 20):
    """Units on sale now that fit the need (rooms, budget, area, projects), cheapest first.
    Always computed: nothing is stored, so the list is current."""
    if need is None:
        return Unit.objects.none()
    units = Unit.objects.on_sale(now).filter(kind=UnitKind.APARTMENT).with_place()
    if need.rooms:
        units = units.filter(rooms__in=need.rooms)
    if need.budget_min is not None:
        units = units.filter(price__gte=need.budget_min)
    if need.budget_max is not None:
        units = units.filter(price__lte=need.budget_max)
    if need.area_min is not None:
        units = units.filter(total_area__gte=need.area_min)
    if need.area_max is not None:
        units = units.filter(total_area__lte=need.area_max)
    project_ids = [p.pk for p in need.projects.all()]
    if project_ids:
        units = units.filter(building__project_id__in=project_ids)
    units = units.filter(price__gt=0).order_by("price", "pk")
    return units[:limit] if limit else units


def day_bounds(now=None) -> tuple[datetime, datetime]:
    """Start and end of today in the current time zone."""
    now = timezone.localtime(now or timezone.now())
    start = timezone.make_aware(datetime.combine(now.date(), time.min), now.tzinfo)
    return start, start + timedelta(days=1)


def my_tasks(user, now=None) -> dict:
    """The “my tasks” page: overdue, today, upcoming (open tasks assigned to ``user``) and
    the ones done today."""
    now = now or timezone.now()
    start, end = day_bounds(now)
    base = Task.objects.filter(assignee=user).select_related("client", "lead")
    open_ = base.filter(done_at__isnull=True)
    return {
        "overdue": list(open_.filter(due_at__lt=now)),
        "today": list(open_.filter(due_at__gte=now, due_at__lt=end)),
        "upcoming": list(open_.filter(due_at__gte=end)[:50]),
        "done_today": list(base.filter(done_at__gte=start).order_by("-done_at")[:20]),
    }


def search_clients(queryset, q: str):
    """Filter by name, company, INN, phone or e-mail (a phone in any spelling)."""
    from .normalize import normalize_phone

    q = (q or "").strip()
    if not q:
        return queryset
    cond = Q(email_normalized__icontains=q.lower()) | Q(inn=q)
    # SQLite folds the case of ASCII letters only: try the usual spellings of a Cyrillic name.
    for variant in {q, q.lower(), q.capitalize(), q.upper()}:
        cond |= (
            Q(last_name__icontains=variant)
            | Q(first_name__icontains=variant)
            | Q(company_name__icontains=variant)
        )
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 4:
        cond |= Q(phone_normalized__contains=digits[-10:])
        with suppress(ValidationError):  # not a whole phone: the partial match stands
            cond |= Q(phone_normalized=normalize_phone(q))
    words = q.split()
    if len(words) > 1:
        cond |= Q(last_name__icontains=words[0], first_name__icontains=words[1])
    return queryset.filter(cond)


def pickable(user):
    """The clients ``user`` may pick for new work (a hold, a deal, the queue): the ones they
    see (``for_user``), not merged away, not erased."""
    return Client.objects.for_user(user).in_use()


# ``pickable_client``'s query for the scopes whose SQL is the same for every user of the kind
# (every row; one person's own rows), built once per process from ``for_scope``.
_PICK_ANY = Statement(
    lambda pk: (
        Client.objects.for_scope(RowScope(everything=True)).in_use().filter(pk=pk).order_by()
    ),
    samples=(-1, -2),
)
_PICK_OWN = Statement(
    lambda owner, pk: (
        Client.objects.for_scope(RowScope(owners=frozenset({owner})))
        .in_use()
        .filter(pk=pk)
        .order_by()
    ),
    samples=((-1, -2), (-3, -4)),
    arity=2,
)


def pickable_client(user, pk: int | None) -> Client | None:
    """The client ``pk`` if ``user`` may pick them (``pickable``), else ``None``: one query,
    prebuilt for a manager and for those who see every row."""
    if pk is None:
        return None
    scope = row_scope(user)
    if scope.everything:
        found = _PICK_ANY.objects(pk)
    elif scope.agency is None and not scope.unassigned and len(scope.owners) == 1:
        found = _PICK_OWN.objects(*scope.owners, pk)
    else:
        found = list(Client.objects.for_scope(scope).in_use().filter(pk=pk))
    return found[0] if found else None
