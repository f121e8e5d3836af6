"""The report pages: the list, one report with its filters, its Excel and PDF, and the
choice of reports per director login."""

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from kvartal.accounts.models import Role, User
from kvartal.accounts.permissions import ANALYTICS_CONFIGURE, ANALYTICS_VIEW, require

from ..access import report_for, reports_choose, visible_reports
from ..base import GROUPS, REPORTS, Params
from ..exports import export_filename, result_to_pdf, result_to_xlsx
from ..models import ReportAccess
from ..sharing import MAX_DAYS
from .common import crumbs, templates_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@require(ANALYTICS_VIEW)
def report_index(request):
    reports = visible_reports(request.user)
    groups = [(label, [r for r in reports if r.group == key]) for key, label in GROUPS]
    context = {
        "groups": [(label, items) for label, items in groups if items],
        "templates": templates_for(request.user),
        "nav": "reports",
        "crumbs": crumbs(),
    }
    return render(request, "analytics/index.html", context)


def _report(request, key):
    report = report_for(request.user, key)
    if report is None:
        raise Http404
    return report


def _computed(report, request):
    """The form and, when it is valid, the result."""
    form = report.form(request.GET)
    if not form.is_valid():
        return form, None
    return form, report.result(Params.from_form(form).for_viewer(request.user))


@require(ANALYTICS_VIEW)
def report_detail(request, key):
    report = _report(request, key)
    form, result = _computed(report, request)
    context = {
        "report": report,
        "form": form,
        "result": result,
        "query": request.GET.urlencode(),
        "max_days": MAX_DAYS,
        "nav": "reports",
        "crumbs": crumbs((None, report.title)),
    }
    return render(request, "analytics/report.html", context, status=200 if result else 400)


def export_response(result, key: str, fmt: str, request) -> HttpResponse:
    if fmt == "xlsx":
        body, content_type = result_to_xlsx(result), XLSX
    else:
        body, content_type = result_to_pdf(result, request=request), "application/pdf"
    response = HttpResponse(body, content_type=content_type)
    disposition = "attachment" if fmt == "xlsx" else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{export_filename(key, fmt)}"'
    return response


@require(ANALYTICS_VIEW)
def report_export(request, key, fmt):
    if fmt not in ("xlsx", "pdf"):
        raise Http404
    report = _report(request, key)
    form, result = _computed(report, request)
    if result is None:
        context = {
            "report": report,
            "form": form,
            "result": None,
            "nav": "reports",
            "crumbs": crumbs((None, report.title)),
        }
        return render(request, "analytics/report.html", context, status=400)
    result.landscape = report.landscape
    return export_response(result, report.key, fmt, request)


@require(ANALYTICS_CONFIGURE)
def report_access(request):
    """An administrator chooses which reports each director login sees."""
    directors = list(User.objects.filter(role=Role.DIRECTOR, is_active=True).order_by("username"))
    if request.method == "POST":
        with transaction.atomic():  # every director's choice, or none
            for user in directors:
                limited = request.POST.get(f"limit-{user.pk}")
                keys = request.POST.getlist(f"reports-{user.pk}") if limited else None
                reports_choose(user, keys)
        messages.success(request, _("The directors' reports are saved."))
        return redirect(reverse("analytics:access"))
    chosen = {a.user_id: set(a.reports) for a in ReportAccess.objects.filter(user__in=directors)}
    rows = [(u, u.pk in chosen, chosen.get(u.pk, set())) for u in directors]
    context = {
        "rows": rows,
        "reports": list(REPORTS.values()),
        "nav": "reports",
        "crumbs": crumbs((None, _("Reports of the directors"))),
    }
    return render(request, "analytics/access.html", context)
