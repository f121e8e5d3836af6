"""The start page (projects and their buildings) and a project's page."""

from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from kvartal.accounts.permissions import INVENTORY_VIEW, require

from .. import summaries
from ..models import Project, UnitStatus


@require(INVENTORY_VIEW)
def home(request):
    projects = summaries.projects_overview()
    totals = summaries.UnitCounts()
    for project in projects:
        totals.add(project.counts)
    return render(
        request,
        "inventory/home.html",
        {
            "projects": projects,
            "totals": totals,
            "building_count": sum(len(p.building_list) for p in projects),
            "nav": "projects",
        },
    )


@require(INVENTORY_VIEW)
def project_detail(request, pk: int):
    project = get_object_or_404(Project, pk=pk)
    buildings = summaries.project_buildings(project)
    totals = summaries.UnitCounts()
    for building in buildings:
        totals.add(building.counts)
    return render(
        request,
        "inventory/project_detail.html",
        {
            "project": project,
            "buildings": buildings,
            "totals": totals,
            "statuses": [(s.value, s.label) for s in summaries.STATUS_ORDER],
            "available": UnitStatus.AVAILABLE.value,
            "crumbs": [(reverse("inventory:project-detail", args=[project.pk]), project.name)],
            "nav": "projects",
        },
    )
