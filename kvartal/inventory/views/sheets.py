"""The "General information" sheet (общая справка по объекту) of a building or a project:
an HTML page and the same content as a branded PDF."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import INVENTORY_VIEW, require
from kvartal.core.branding import company_context
from kvartal.core.pdf import render_pdf

from .. import summaries
from ..models import Building, Project


def _pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _building_context(request, pk: int) -> dict:
    building = get_object_or_404(Building.objects.select_related("project", "serves"), pk=pk)
    project = building.project
    return {
        "sheet": summaries.building_sheet(building),
        "building": building,
        "project": project,
        "company": company_context(),
        "generated_at": timezone.localtime(),
        "crumbs": [
            (reverse("inventory:project-detail", args=[project.pk]), project.name),
            (reverse("inventory:building-chessboard", args=[building.pk]), building.name),
            ("", _("General information")),
        ],
        "nav": "projects",
    }


def _project_context(request, pk: int) -> dict:
    project = get_object_or_404(Project, pk=pk)
    return {
        "sheet": summaries.project_sheet(project),
        "project": project,
        "company": company_context(),
        "generated_at": timezone.localtime(),
        "crumbs": [
            (reverse("inventory:project-detail", args=[project.pk]), project.name),
            ("", _("General information")),
        ],
        "nav": "projects",
    }


@require(INVENTORY_VIEW)
def building_sheet(request, pk: int):
    return render(request, "inventory/sheet.html", _building_context(request, pk))


@require(INVENTORY_VIEW)
def building_sheet_pdf(request, pk: int):
    context = _building_context(request, pk)
    content = render_pdf("pdf/sheet.html", context, request)
    return _pdf_response(content, f"spravka-{pk}.pdf")


@require(INVENTORY_VIEW)
def project_sheet(request, pk: int):
    return render(request, "inventory/sheet.html", _project_context(request, pk))


@require(INVENTORY_VIEW)
def project_sheet_pdf(request, pk: int):
    context = _project_context(request, pk)
    content = render_pdf("pdf/sheet.html", context, request)
    return _pdf_response(content, f"spravka-project-{pk}.pdf")
