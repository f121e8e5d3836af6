"""What the clients pages share: the scoped lookups, the crumbs, the safe next URL."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from kvartal.core.pages import form_page

from .. import services
from ..models import (
    Client,
)


def client_url(client) -> str:
    return reverse("sales:client-detail", args=[client.pk])


def _clients_root():
    return reverse("sales:client-list")


def _crumbs(*tail, client=None):
    crumbs = [(_clients_root(), _("Clients"))]
    if client is not None:
        crumbs.append((client_url(client), client.display_name))
    return [*crumbs, *tail]


def _form_page(request, form, **kw):
    """A clients form page (the kit's ``form_page``; the menu marks Clients unless told)."""
    kw.setdefault("nav", "clients")
    return form_page(request, form, **kw)


def _data(request):
    """The POST data on a POST (even an empty one), else ``None`` (an unbound form)."""
    return request.POST if request.method == "POST" else None


def _sees(request, client) -> bool:
    """The user may see ``client`` (so its name and link may be shown)."""
    return client is not None and services.may_use(client, request.user)


def _safe_next(request, default: str) -> str:
    """A ``next`` on this site (never elsewhere: an open redirect), else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    # a path on this site only ("foo" is no URL and no view name: it would be a 500)
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _visible_client(request, pk):
    return get_object_or_404(Client.objects.for_user(request.user).select_related("manager"), pk=pk)
