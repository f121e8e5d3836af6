"""The start page (projects and their buildings) and a project's page."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from kvartal.accounts.permissions import INVENTORY_VIEW, has_capability, require
from kvartal.accounts.start import start_url

from .. import summaries
from ..models import Project, UnitStatus


@login_required
def home(request):
    """The projects. ``/app/`` is everyone's address of the back office: a role that may not
    read the projects (an agent) is sent on to its own start page rather than refused."""
    if not has_capability(request.user, INVENTORY_VIEW):
        target = start_url(request.user)
        if request.method not in ("GET", "HEAD") or target == request.path:
            raise PermissionDenied
        return redirect(target)
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
