"""The "General information" sheet (общая справка по объекту) of a building or a project:
an HTML page and the same content as a branded PDF."""

import re

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import INVENTORY_VIEW, require
from kvartal.core.models import CompanyProfile
from kvartal.core.pdf import render_pdf

from .. import summaries
from ..models import Building, Project

HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?")
DEFAULT_COLOUR = "#1f4e79"


def _company() -> dict:
    """The branding of sheets; the colour goes into CSS, so only a hex colour is accepted."""
    profile = CompanyProfile.current()
    colour = profile.brand_color if HEX_COLOUR.fullmatch(profile.brand_color or "") else ""
    return {
        "name": profile.name or settings.KVARTAL_COMPANY_NAME,
        "legal_name": profile.legal_name,
        "phone": profile.phone,
        "website": profile.website,
        "logo_url": profile.logo.url if profile.logo else "",
        "colour": colour or DEFAULT_COLOUR,
    }


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
        "company": _company(),
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
        "company": _company(),
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
