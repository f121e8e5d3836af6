"""Shared links: created from a report page, listed with their openings, revoked; and the
public read-only page behind them."""

from django.contrib import messages
from django.db.models import Count, Prefetch
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kvartal.accounts.permissions import (
    ANALYTICS_CONFIGURE,
    ANALYTICS_VIEW,
    has_capability,
    may_open_report_template,
    require,
)

from ..access import report_for
from ..base import REPORTS, Params
from ..models import SharedLink, SharedLinkOpen
from ..sharing import MAX_DAYS, LinkRefused, link_create, link_open, link_revoke, sign
from .common import crumbs
from .reports import export_response

ASK_AGAIN = gettext_lazy("Ask whoever shared it for a new link.")
REFUSALS = {
    "damaged": (
        400,
        gettext_lazy("This link is damaged"),
        gettext_lazy("The address was changed or cut short."),
    ),
    "unknown": (404, gettext_lazy("There is no such link"), gettext_lazy("The link was deleted.")),
    "expired": (
        410,
        gettext_lazy("This link has expired"),
        gettext_lazy("Links to reports work for a limited time."),
    ),
    "revoked": (
        410,
        gettext_lazy("This link was withdrawn"),
        gettext_lazy("Whoever shared it has withdrawn it."),
    ),
}


def _days(value) -> int | None:
    try:
        days = int(value)
    except (TypeError, ValueError):
        return None
    return days if 1 <= days <= MAX_DAYS else None


@require(ANALYTICS_VIEW)
def link_new(request, key):
    report = report_for(request.user, key)
    if report is None:
        raise Http404
    if request.method != "POST":
        context = {
            "report": report,
            "query": request.GET.urlencode(),
            "max_days": MAX_DAYS,
            "nav": "reports",
            "crumbs": crumbs(
                (reverse("analytics:report", args=[key]), report.title), (None, _("Share a link"))
            ),
        }
        return render(request, "analytics/share.html", context)
    query = request.POST.get("query", "")
    back = reverse("analytics:report", args=[key]) + (f"?{query}" if query else "")
    days = _days(request.POST.get("days"))
    form = report.form(QueryDict(query))
    if days is None:
        messages.error(request, _("A link lives from 1 to %(n)s days.") % {"n": MAX_DAYS})
        return redirect(back)
    if not form.is_valid():
        messages.error(request, _("Correct the filters before sharing the report."))
        return redirect(back)
    params = Params.from_form(form)
    title = f"{report.title} · {params.describe(report.fields)}"
    link = link_create(report=key, query=query, title=title, days=days, by=request.user)
    messages.success(request, _("The link is ready: copy it below."))
    return redirect(reverse("analytics:links") + f"#link-{link.pk}")


@require(ANALYTICS_VIEW)
def link_list(request):
    # The count and the last opening of each link, not every opening of 200 links.
    last = SharedLinkOpen.objects.order_by("-at", "-pk")[:1]
    links = (
        SharedLink.objects.select_related("created_by")
        .annotate(open_count=Count("opens"))
        .prefetch_related(Prefetch("opens", queryset=last, to_attr="last_opens"))
    )
    if not has_capability(request.user, ANALYTICS_CONFIGURE):
        links = links.filter(created_by=request.user)
    rows = [
        (link, request.build_absolute_uri(reverse("shared:report", args=[sign(link)])))
        for link in links[:200]
    ]
    context = {"rows": rows, "nav": "reports", "crumbs": crumbs((None, _("Shared links")))}
    return render(request, "analytics/links.html", context)


@require(ANALYTICS_VIEW)
def link_withdraw(request, pk):
    links = SharedLink.objects.all()
    if not has_capability(request.user, ANALYTICS_CONFIGURE):
        links = links.filter(created_by=request.user)
    link = get_object_or_404(links, pk=pk)
    if request.method != "POST":
        context = {
            "link": link,
            "nav": "reports",
            "crumbs": crumbs(
                (reverse("analytics:links"), _("Shared links")), (None, _("Withdraw the link"))
            ),
        }
        return render(request, "analytics/link_withdraw.html", context)
    link_revoke(link)
    messages.success(request, _("The link is withdrawn: it opens nothing from now on."))
    return redirect("analytics:links")


def _creator_may_show(link) -> bool:
    """A link shows only what its author may still see: an author deactivated, or a report
    taken away from them, ends their links."""
    author = link.created_by
    if not author.is_active:
        return False
    if link.template_id:
        return may_open_report_template(author, link.template)
    return report_for(author, link.report) is not None


def _client_address(request):
    return request.META.get("REMOTE_ADDR") or None


def shared(request, signed, fmt=None):
    """The public page of a shared link: the live report with the filters it was shared with."""
    if fmt not in (None, "xlsx", "pdf"):
        raise Http404
    try:
        link = link_open(
            signed,
            address=_client_address(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            user=request.user,
        )
    except LinkRefused as refused:
        status, title, text = REFUSALS[refused.reason]
        return render(
            request, "analytics/shared_refused.html", {"title": title, "text": text}, status=status
        )
    if not _creator_may_show(link):
        status, title, text = REFUSALS["revoked"]
        context = {"title": title, "text": text, "hint": ASK_AGAIN}
        return render(request, "analytics/shared_refused.html", context, status=status)
    if link.template_id:
        from ..builder import TemplateBroken, run_template

        try:
            result = run_template(link.template, link.created_by)
        except TemplateBroken as broken:
            context = {"title": _("This report cannot be built"), "text": str(broken)}
            return render(request, "analytics/shared_refused.html", context, status=409)
        key = "builder"
    else:
        report = REPORTS.get(link.report)
        form = report.form(QueryDict(link.query)) if report else None
        if form is None or not form.is_valid():
            context = {
                "title": _("This report cannot be built"),
                "text": _(
                    "Its filters are no longer valid (a project or building may have been deleted)."
                ),
            }
            return render(request, "analytics/shared_refused.html", context, status=409)
        result = report.result(Params.from_form(form).for_viewer(link.created_by))
        result.landscape = report.landscape
        key = report.key
    if fmt:
        return export_response(result, key, fmt, request)
    context = {"link": link, "signed": signed, "result": result}
    return render(request, "analytics/shared.html", context)
