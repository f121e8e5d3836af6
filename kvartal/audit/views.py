import csv
import functools
import json

from django.apps import apps
from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import AUDIT_VIEW, require
from kvartal.core.exports import csv_text

from . import record
from .forms import AuditFilterForm
from .models import AuditEvent, Kind


@functools.cache
def _model(object_type: str):
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def type_label(object_type: str) -> str:
    """What an object type ("inventory.unit") is called in the reader's language ("Помещение");
    the type itself when no model has that name any more."""
    model = _model(object_type)
    return capfirst(model._meta.verbose_name) if model is not None else object_type


def field_label(object_type: str, name: str) -> str:
    """What a changed field is called in the reader's language; its name if unknown."""
    model = _model(object_type)
    try:
        field = model._meta.get_field(name) if model is not None else None
    except FieldDoesNotExist:
        field = None
    label = getattr(field, "verbose_name", None)
    return capfirst(label) if label else name


def _rows(request):
    form = AuditFilterForm(request.GET or None)
    rows = AuditEvent.objects.all()
    if request.GET:
        rows = form.filter(rows)
    return form, rows


@require(AUDIT_VIEW)
def event_list(request):
    form, rows = _rows(request)
    object_types = (
        AuditEvent.objects.exclude(object_type="")
        .order_by("object_type")
        .values_list("object_type", flat=True)
        .distinct()
    )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    for row in page.object_list:  # names in the reader's language (the type's code as a tip)
        row.type_label = type_label(row.object_type)
        row.change_rows = [
            (field_label(row.object_type, name), *pair) for name, pair in row.changes.items()
        ]
    types = sorted(((t, type_label(t)) for t in object_types), key=lambda t: str(t[1]))
    return render(
        request,
        "audit/event_list.html",
        {"form": form, "page": page, "object_types": types, "nav": "audit"},
    )


class _Echo:
    def write(self, value):
        return value


@require(AUDIT_VIEW)
def event_export(request):
    """The filtered log as CSV (UTF-8 with BOM, so Excel reads Cyrillic). The export itself is
    logged, with its filters."""
    form, rows = _rows(request)
    if request.GET and not form.is_valid():
        return HttpResponse(status=400)
    record("audit_export", kind=Kind.EXPORT, object_type="audit.auditevent", data=request.GET)
    writer = csv.writer(_Echo())
    head = ["id", "at", "user", "address", "kind", "action", "object_type", "object_id"]
    head += ["object", "changes", "details", "door"]

    def lines():
        yield "\ufeff" + writer.writerow(head)
        for row in rows.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    row.pk,
                    timezone.localtime(row.at).isoformat(),
                    csv_text(row.actor_name),
                    row.address or "",
                    row.kind,
                    row.action,
                    row.object_type,
                    row.object_id,
                    csv_text(row.object_repr),
                    csv_text(json.dumps(row.changes, ensure_ascii=False)),
                    csv_text(json.dumps(row.data, ensure_ascii=False)),
                    row.door,
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response


@require(AUDIT_VIEW)
def lockout_list(request):
    from .lockouts import locked

    return render(
        request,
        "audit/lockouts.html",
        {"logins": locked("username"), "addresses": locked("ip_address"), "nav": "audit"},
    )


@require(AUDIT_VIEW)
def lockout_lift(request):
    """POST lifts a lock; a GET shows the list it would lift from."""
    from .lockouts import lockout_lift as lift

    if request.method != "POST":
        return lockout_list(request)
    username = request.POST.get("username", "")[:150]
    address = request.POST.get("address", "")[:45]
    if lift(by=request.user, username=username, address=address):
        who = username or address
        messages.success(
            request, _("The lock is lifted: %(who)s may sign in again.") % {"who": who}
        )
    else:
        messages.error(request, _("There was no such lock (it may have expired)."))
    return redirect("audit:lockout-list")
