"""The inventory keeper's pages: create and edit projects, buildings, sections, units, prices.

Each view gets its object, validates a form, calls one service and redirects; a refused
action re-renders the form with the reason and changes nothing.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from kvartal.accounts.permissions import INVENTORY_EDIT, INVENTORY_PRICE, require
from kvartal.core.errors import DomainError
from kvartal.core.pages import form_page, refuse

from .. import extensions, services
from ..forms import (
    BuildingForm,
    BulkPriceForm,
    FloorForm,
    FloorUnitFormSet,
    ProjectForm,
    RiserFormSet,
    SectionForm,
    UnitCreateForm,
    UnitForm,
    UnitPriceForm,
    UnitStatusForm,
    section_plan,
)
from ..models import Building, Floor, Project, Unit
from ..search import CatalogueFilterForm, filter_units


def _form_page(request, form, *, title, crumbs, **context):
    """An inventory form page: the kit's ``form_page`` under Projects."""
    crumbs = [(reverse("inventory:home"), _("Projects")), *crumbs]
    return form_page(
        request,
        form,
        title=title,
        crumbs=crumbs,
        nav="projects",
        template="inventory/form_page.html",
        **context,
    )


def _project_crumbs(project: Project, *tail):
    return [(reverse("inventory:project-detail", args=[project.pk]), project.name), *tail]


def _building_crumbs(building: Building, *tail):
    url = reverse("inventory:building-chessboard", args=[building.pk])
    return _project_crumbs(building.project, (url, building.name), *tail)


def _unit_crumbs(unit: Unit, *tail):
    url = reverse("inventory:unit-detail", args=[unit.pk])
    return _building_crumbs(unit.building, (url, str(unit)), *tail)


@require(INVENTORY_EDIT)
def project_create(request):
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = services.project_save(project=form.instance, by=request.user)
        messages.success(request, _("Project created."))
        return redirect("inventory:project-detail", pk=project.pk)
    return _form_page(request, form, title=_("New project"), crumbs=[(None, _("New project"))])


@require(INVENTORY_EDIT)
def project_update(request, pk):
    project = get_object_or_404(Project, pk=pk)
    form = ProjectForm(request.POST or None, instance=project)
    if request.method == "POST" and form.is_valid():
        services.project_save(project=form.instance, by=request.user)
        messages.success(request, _("Project saved."))
        return redirect("inventory:project-detail", pk=project.pk)
    project.refresh_from_db()
    return _form_page(
        request,
        form,
        title=_("Edit project"),
        crumbs=_project_crumbs(project, (None, pgettext("breadcrumb", "Editing"))),
    )


@require(INVENTORY_EDIT)
def building_create(request, project_pk):
    project = get_object_or_404(Project, pk=project_pk)
    form = BuildingForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        building = services.building_save(building=form.instance, by=request.user)
        messages.success(request, _("Building created. Now generate its sections."))
        return redirect("inventory:section-generate", pk=building.pk)
    return _form_page(
        request,
        form,
        title=_("New building"),
        crumbs=_project_crumbs(project, (None, _("New building"))),
    )


@require(INVENTORY_EDIT)
def building_update(request, pk):
    building = get_object_or_404(Building.objects.select_related("project"), pk=pk)
    form = BuildingForm(request.POST or None, instance=building, project=building.project)
    if request.method == "POST" and form.is_valid():
        services.building_save(building=form.instance, by=request.user)
        messages.success(request, _("Building saved."))
        return redirect("inventory:building-chessboard", pk=building.pk)
    building.refresh_from_db()
    return _form_page(
        request,
        form,
        title=_("Edit building"),
        crumbs=_building_crumbs(building, (None, pgettext("breadcrumb", "Editing"))),
    )


@require(INVENTORY_EDIT)
def section_generate(request, pk):
    """The section generator: general parameters, risers of the typical floors, other floors."""
    building = get_object_or_404(Building.objects.select_related("project"), pk=pk)
    data = request.POST or None
    initial_number = (
        building.sections.order_by("-number").values_list("number", flat=True).first() or 0
    ) + 1
    parking = building.is_parking
    form = SectionForm(
        data, initial={"number": request.GET.get("number", initial_number)}, parking=parking
    )
    risers = RiserFormSet(
        data,
        prefix="risers",
        initial=[] if data else _default_risers(building),
        form_kwargs={"parking": parking},
    )
    others = FloorUnitFormSet(data, prefix="other", form_kwargs={"parking": parking})
    plan_errors = {}
    if request.method == "POST" and form.is_valid() and risers.is_valid() and others.is_valid():
        try:
            section = services.section_generate(
                building=building, plan=section_plan(form, risers, others), by=request.user
            )
        except ValidationError as error:
            for name, msgs in error.message_dict.items():
                if name in form.fields:
                    form.add_error(name, msgs)
                else:
                    plan_errors[name] = msgs
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            count = section.units.count()
            messages.success(
                request,
                ngettext(
                    "Section %(number)s generated: %(count)s unit.",
                    "Section %(number)s generated: %(count)s units.",
                    count,
                )
                % {"number": section.number, "count": count},
            )
            return redirect("inventory:building-chessboard", pk=building.pk)
    invalid = request.method == "POST"
    context = {
        "building": building,
        "parking": parking,
        "form": form,
        "risers": risers,
        "others": others,
        "plan_errors": plan_errors,
        "sections": building.sections.all(),
        "crumbs": _building_crumbs(building, (None, _("Section generator"))),
        "nav": "projects",
    }
    return render(
        request, "inventory/section_generate.html", context, status=400 if invalid else 200
    )


def _default_risers(building: Building) -> list[dict]:
    if building.is_parking:
        return [{"position": p, "kind": "parking", "total_area": "13.25"} for p in range(1, 11)]
    shapes = [
        (1, "38.40", "17.80", "9.10"),
        (2, "56.20", "31.00", "10.50"),
        (0, "27.50", "14.10", "6.20"),
        (3, "78.90", "46.30", "12.40"),
    ]
    return [
        {
            "position": i + 1,
            "kind": "apartment",
            "rooms": r,
            "total_area": t,
            "living_area": lv,
            "kitchen_area": k,
        }
        for i, (r, t, lv, k) in enumerate(shapes)
    ]


@require(INVENTORY_EDIT)
def floor_update(request, pk):
    floor = get_object_or_404(Floor.objects.select_related("section__building__project"), pk=pk)
    form = FloorForm(request.POST or None, request.FILES or None, instance=floor)
    if request.method == "POST" and form.is_valid():
        services.floor_save(floor=form.instance, by=request.user)
        messages.success(request, _("Floor saved."))
        return redirect("inventory:building-chessboard", pk=floor.section.building_id)
    floor.refresh_from_db()
    title = _("Floor %(label)s, %(section)s") % {"label": floor.label, "section": floor.section}
    return _form_page(
        request,
        form,
        title=title,
        crumbs=_building_crumbs(floor.section.building, (None, title)),
        multipart=True,
        links=[(reverse("inventory:unit-create", args=[floor.pk]), _("Add a unit"))],
    )


@require(INVENTORY_EDIT)
def unit_create(request, pk):
    floor = get_object_or_404(Floor.objects.select_related("section__building__project"), pk=pk)
    form = UnitCreateForm(
        request.POST or None,
        request.FILES or None,
        section=floor.section,
        instance=Unit(floor=floor, section=floor.section, building=floor.section.building),
    )
    if request.method == "POST" and form.is_valid():
        try:
            unit = services.unit_create(floor=floor, by=request.user, data=form.cleaned_data)
        except ValidationError as error:
            refuse(form, error)
        else:
            messages.success(request, _("Unit added."))
            return redirect("inventory:unit-detail", pk=unit.pk)
    title = _("New unit on floor %(label)s") % {"label": floor.label}
    return _form_page(
        request,
        form,
        title=title,
        crumbs=_building_crumbs(floor.section.building, (None, title)),
        multipart=True,
    )


@require(INVENTORY_EDIT)
def unit_update(request, pk):
    unit = get_object_or_404(Unit.objects.with_place(), pk=pk)
    form = UnitForm(
        request.POST or None, request.FILES or None, instance=unit, section=unit.section
    )
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.unit_update(unit=unit, by=request.user, data=data)
        except ValidationError as error:
            refuse(form, error)
        else:
            messages.success(request, _("Unit saved."))
            return redirect("inventory:unit-detail", pk=unit.pk)
    unit = get_object_or_404(Unit.objects.with_place(), pk=pk)
    return _form_page(
        request,
        form,
        title=_("Edit %(unit)s") % {"unit": unit},
        crumbs=_unit_crumbs(unit, (None, pgettext("breadcrumb", "Editing"))),
        multipart=True,
    )


@require(INVENTORY_PRICE)
def unit_price(request, pk):
    unit = get_object_or_404(Unit.objects.with_place(), pk=pk)
    form = UnitPriceForm(request.POST or None, initial={"price": unit.price})
    if request.method == "POST" and form.is_valid():
        try:
            services.unit_set_price(
                unit=unit,
                price=form.cleaned_data["price"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except (ValidationError, DomainError) as error:
            refuse(form, error)
        else:
            messages.success(request, _("Price changed."))
            return redirect("inventory:unit-detail", pk=unit.pk)
    return _form_page(
        request,
        form,
        title=_("Price of %(unit)s") % {"unit": unit},
        crumbs=_unit_crumbs(unit, (None, _("Price"))),
        submit=_("Change price"),
        unit=unit,
    )


@require(INVENTORY_EDIT)
def unit_status(request, pk):
    unit = get_object_or_404(Unit.objects.with_place(), pk=pk)
    form = UnitStatusForm(request.POST or None, unit=unit)
    if request.method == "POST" and form.is_valid():
        try:
            services.unit_set_status(
                unit=unit,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except (ValidationError, DomainError) as error:
            refuse(form, error)
        else:
            messages.success(request, _("Status changed."))
            return redirect("inventory:unit-detail", pk=unit.pk)
    return _form_page(
        request,
        form,
        title=_("Status of %(unit)s") % {"unit": unit},
        crumbs=_unit_crumbs(unit, (None, _("Status"))),
        submit=_("Change status"),
        unit=unit,
    )


def _skipped_by_reason(units) -> list[tuple[str, int]]:
    """(reason, count) of the units a bulk change leaves, each with its true reason."""
    counts: dict[str, int] = {}
    for unit in units:
        key = services.price_skip_reason(unit, relative=True)
        counts[key] = counts.get(key, 0) + 1
    return [(str(services.SKIP_REASONS[key]), n) for key, n in counts.items()]


@require(INVENTORY_PRICE)
def price_bulk(request):
    """Bulk price change for a selection of units: preview first, then apply."""
    selection = CatalogueFilterForm(request.GET)
    chosen = bool(request.GET) and selection.is_valid()
    units = filter_units(selection.cleaned_data, Unit.objects.with_place()) if chosen else None
    form = BulkPriceForm(request.POST or None)
    preview = skipped = None
    if request.method == "POST" and chosen and form.is_valid():
        try:
            if "apply" in request.POST and extensions.bulk_price_proposers:
                with_place = Unit.objects.with_place().filter(pk__in=units.values("pk"))
                changes, _skipped = services.units_price_preview(units=with_place, **form.change())
                propose = extensions.bulk_price_proposers[0]
                return redirect(propose(request, changes, form.cleaned_data["reason"]))
            if "apply" in request.POST:
                batch = services.units_bulk_set_price(
                    units=units,
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                    **form.change(),
                )
                messages.success(
                    request,
                    ngettext(
                        "Price changed for %(count)s unit.",
                        "Prices changed for %(count)s units.",
                        batch.units_count,
                    )
                    % {"count": batch.units_count},
                )
                return redirect(reverse("inventory:price-bulk") + "?" + request.GET.urlencode())
            preview, skipped = services.units_price_preview(units=units, **form.change())
        except ValidationError as error:
            refuse(form, error)
    context = {
        "selection": selection,
        "form": form,
        "preview": preview[:200] if preview else preview,
        "preview_count": len(preview) if preview is not None else None,
        "skipped": len(skipped) if skipped is not None else None,
        "skipped_by_reason": _skipped_by_reason(skipped or []),
        "selected": units.count() if chosen else None,
        "needs_approval": bool(extensions.bulk_price_proposers),
        "crumbs": [(None, _("Bulk price change"))],
        "nav": "prices",
    }
    return render(request, "inventory/price_bulk.html", context)
