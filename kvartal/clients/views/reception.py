"""The reception desk: register a visit."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import (
    CLIENTS_EDIT,
    require,
)
from kvartal.core.errors import DomainError
from kvartal.core.pages import refuse

from .. import services
from ..forms import (
    VisitForm,
)
from ..models import (
    Client,
    Visit,
)
from ..normalize import normalize_phone
from ..picker import search_pressed
from ..selectors import day_bounds
from .common import _data, _sees

# --- reception desk ---------------------------------------------------------------------


@require(CLIENTS_EDIT)
def reception(request):
    """Register a visit quickly: an existing client or a new one, who received them, what
    they asked about, which units they were shown. Today's visits below."""
    clients = Client.objects.for_user(request.user).filter(erased_at__isnull=True)
    form = VisitForm(
        _data(request),
        user=request.user,
        clients=clients,
        initial={"client": request.GET.get("client")},
    )
    duplicate = None
    if request.method == "POST" and not search_pressed(form) and form.is_valid():
        data = form.cleaned_data
        try:
            visit = _register_visit(request, data)
        except services.DuplicateClient as error:
            duplicate = error.client
            form.add_error("phone", str(error))
        except (ValidationError, DomainError) as error:
            refuse(form, error)
        else:
            if _sees(request, visit.client):
                text = _("Visit of %(name)s registered.") % {"name": visit.client.display_name}
            else:
                manager = visit.client.manager
                text = _("Visit of a client of %(manager)s registered; their manager was told.") % {
                    "manager": manager.short_name if manager else "—"
                }
            messages.success(request, text)
            return redirect("clients:reception")
    start, end = day_bounds()
    today = (
        Visit.objects.filter(client__in=clients, at__gte=start, at__lt=end)
        .select_related("client", "received_by")
        .prefetch_related("units_shown")
    )
    return render(
        request,
        "clients/reception.html",
        {
            "form": form,
            "today": today,
            "duplicate": duplicate,
            "duplicate_visible": duplicate is not None and _sees(request, duplicate),
            "nav": "reception",
            "crumbs": [(None, _("Reception desk"))],
        },
        status=400 if form.errors else 200,
    )


def _register_visit(request, data):
    """The chosen client, else ANY client with this exact phone (a walk-in of another
    manager's client is theirs: the visit goes to that client and its manager is told;
    the page names it only as "a client of <manager>"), else a new client."""
    from django.db import transaction

    with transaction.atomic():
        client = data["client"]
        if client is None and data["phone"]:
            try:
                phone = normalize_phone(data["phone"])
            except ValidationError as error:
                raise ValidationError({"phone": error.messages}) from None
            client = services.find_duplicates(phone=phone).first()
        if client is None:
            client = services.client_create(
                by=request.user,
                manager=data["received_by"],
                last_name=data["last_name"],
                first_name=data["first_name"],
                phone=data["phone"],
            )
        return services.visit_register(
            by=request.user,
            client=client,
            received_by=data["received_by"],
            at=data["at"],
            asked_about=data["asked_about"],
            units=data["unit_objects"],
        )
