"""The public showcase: catalogue, buyer's chessboard, unit pages with every term, the
visitor's favourites, comparison and history, requests and online booking, the widget and
what search engines read. Server-rendered; every page works without JavaScript.
"""

import hashlib
import re
from decimal import Decimal

from csp.decorators import csp_replace
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kvartal.core.branding import company_context
from kvartal.core.errors import DomainError
from kvartal.core.ids import parse_id
from kvartal.core.pdf import render_pdf
from kvartal.inventory.models import Building, Project, Unit, UnitKind, UnitStatus
from kvartal.sales.availability import UnitNotAvailable, unit_is_available

from . import cache, experiments, selectors, services
from .forms import (
    SORTS,
    BookingCodeForm,
    BookingPhoneForm,
    CalculatorForm,
    CatalogueForm,
    RequestForm,
)
from .models import (
    Compared,
    ExperimentKind,
    Favourite,
    OnlineBooking,
    ProjectShowcase,
    RequestKind,
    SavedSearch,
    Viewed,
    Visitor,
)
from .terms import Terms, default_terms, payment_terms
from .visitors import form_stamp, over_rate, remember, spam_reason, visitor_of

PAGE_SIZE = 24
# Parameters that say where a visitor came from, not what the page shows: never part of a
# canonical address (utm_* by prefix, the ad networks' click ids by name)
TRACKING = frozenset({"gclid", "yclid", "fbclid", "msclkid", "dclid", "ysclid", "_openstat"})


def is_tracking(name: str) -> bool:
    return name.startswith("utm_") or name in TRACKING


def canonical_path(request) -> str:
    """The request's path and query without tracking parameters."""
    query = request.GET.copy()
    for name in [k for k in query if is_tracking(k)]:
        del query[name]
    encoded = query.urlencode()
    return f"{request.path}?{encoded}" if encoded else request.path


def absolute(request, path: str) -> str:
    """The canonical address of ``path``: the configured public origin, else the request's."""
    if settings.KVARTAL_PUBLIC_URL:
        return settings.KVARTAL_PUBLIC_URL.rstrip("/") + path
    return request.build_absolute_uri(path)


def _page(request, template: str, context: dict, status: int = 200):
    context.setdefault("canonical", absolute(request, request.path))
    return remember(request, render(request, template, context, status=status))


def _back(request, default: str) -> HttpResponseRedirect:
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = default
    return HttpResponseRedirect(target or default)


def _ids(visitor: Visitor | None, model) -> set[int]:
    if visitor is None:
        return set()
    return set(model.objects.filter(visitor=visitor).values_list("unit_id", flat=True))


def _cards(units: list[Unit], now=None) -> list[Unit]:
    """Units with what a card shows: the shown price and the public status (two queries
    for promotions, one for the settings, whatever the count)."""
    showcases = selectors.settings_of(u.building.project_id for u in units)
    prices = selectors.shown_prices(units, showcases, now)
    for unit in units:
        unit.shown = prices[unit.pk]
        unit.public_status = selectors.public_status(unit, now)
    return units


# --- the catalogue ---------------------------------------------------------------------------


def filtered_units(form: CatalogueForm, *, order: str = "price"):
    """Units on sale matching the buyer's valid filters, sorted (invalid fields are left out)."""
    data = (
        form.cleaned_data
        if form.is_valid()
        else {k: v for k, v in getattr(form, "cleaned_data", {}).items() if k not in form.errors}
    )
    units = selectors.with_buyer_price(
        selectors.available_units().select_related("building__project", "floor", "section"),
        per_m2=True,
    )
    if data.get("project"):
        units = units.filter(building__project=data["project"])
    if rooms := data.get("rooms"):
        wanted = Q(rooms__in=[int(r) for r in rooms if r != "4"])
        if "4" in rooms:
            wanted |= Q(rooms__gte=4)
        units = units.filter(wanted)
    for field, lookup in (
        ("price_min", "buyer_price__gte"),
        ("price_max", "buyer_price__lte"),
        ("area_min", "total_area__gte"),
        ("area_max", "total_area__lte"),
        ("floor_min", "floor__index__gte"),
        ("floor_max", "floor__index__lte"),
    ):
        if data.get(field) is not None:
            units = units.filter(**{lookup: data[field]})
    if data.get("completion_by"):
        units = units.filter(building__completion_date__year__lte=data["completion_by"])
    if data.get("finishing"):
        units = units.filter(finishing=data["finishing"])
    if data.get("monthly_max"):
        units = units.filter(selectors.monthly_payment_q(data["monthly_max"]))
    sort = data.get("sort") or order
    # the price a buyer pays, as the cards show it (not the list price), and per m²
    fields = [BUYER_PRICE.get(f, f) for f in SORTS.get(sort, SORTS["price"])]
    return units.order_by(*fields)


BUYER_PRICE = {
    "price": "buyer_price",
    "-price": "-buyer_price",
    "price_per_m2": "buyer_price_m2",
}


class _Counted:
    """A result whose size is known (from the cache): what ``Paginator`` needs of it."""

    def __init__(self, count: int):
        self._count = count

    def count(self) -> int:
        return self._count


def _catalogue_page(request, form: CatalogueForm, order: str):
    """The page of units the filters find, their count and (without filters) the project
    cards: from the cache, else queried and kept (``kvartal.showcase.cache``)."""
    wanted = sorted(
        (k, v) for k, values in request.GET.lists() if not is_tracking(k) for v in values
    )
    digest = hashlib.sha256(repr((get_language(), order, wanted)).encode()).hexdigest()
    key = cache.catalogue_key(digest)
    entry, generations = cache.read(key, cache.SETTINGS_GEN, cache.UNITS_GEN)
    if entry is None:
        page = Paginator(filtered_units(form, order=order), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        entry = {
            "count": page.paginator.count,
            "number": page.number,
            "units": _cards(list(page.object_list)),
            "projects": selectors.project_cards() if not request.GET else [],
        }
        cache.write(key, entry, generations)
    paginator = Paginator(_Counted(entry["count"]), PAGE_SIZE)
    page = Page(entry["units"], entry["number"], paginator)
    return page, entry["units"], entry["projects"]


@require_GET
def catalogue(request):
    """The catalogue. An anonymous visitor gets the kept page (``_kept_catalogue``); signed-in
    staff get it rendered (their menu is on it)."""
    # a first-time visitor gets their id (and its cookie) on this very view while an
    # experiment runs: their first view is in their variant and counted (else it is A, unseen)
    experiment = experiments.running(ExperimentKind.UNIT_ORDER)
    visitor = visitor_of(request, create=experiment is not None)
    order = "price"
    if experiments.assign_to(visitor, experiment) == "B":
        order = "price_m2"
    if not request.user.is_authenticated:
        return _kept_catalogue(request, visitor, order)
    form, page, units, projects = _catalogue_found(request, order)
    favourites, compared = selectors.visitor_unit_ids(visitor)
    context = _catalogue_context(request, form, page, units, projects)
    context.update(favourites=favourites, compared=compared)
    return _page(request, "showcase/catalogue.html", context)


def _catalogue_found(request, order: str):
    form = CatalogueForm(request.GET or None)
    if request.GET:
        form.is_valid()
    page, units, projects = _catalogue_page(request, form, order)
    return form, page, units, projects


def _catalogue_context(request, form, page, units, projects) -> dict:
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "form": form,
        "page": page,
        "units": units,
        "projects": projects,
        "query": query.urlencode(),
        "canonical": absolute(request, canonical_path(request)),
    }


ACTS_SLOT = re.compile(r"<!--kv:slot:acts:(\d+)-->")


def _kept_catalogue(request, visitor: Visitor | None, order: str) -> HttpResponse:
    """The catalogue page of an anonymous visitor: rendered whole once per query string (the
    full one: the page's own links carry it), language, host and A/B order, and kept
    (``cache.catalogue_page_key``), read against the units and settings generations: a unit
    held in the office leaves "available" on the next view. The CSRF token and each card's
    favourite/compare buttons (rendered at keeping for both states of each mark) are the
    visitor's own and go into their slots on each view."""
    origin = f"{request.scheme}://{request.get_host()}"
    wanted = (get_language(), order, origin, request.get_full_path())
    key = cache.catalogue_page_key(hashlib.sha256(repr(wanted).encode()).hexdigest())
    kept, generations = cache.read(key, cache.SETTINGS_GEN, cache.UNITS_GEN)
    if kept is None:
        form, page, units, projects = _catalogue_found(request, order)
        context = _catalogue_context(request, form, page, units, projects)
        context.update(csrf_token=CSRF_SLOT, acts_slot=True)
        acts = {}
        for unit in units:
            if unit.public_status != selectors.PublicStatus.AVAILABLE:
                continue
            acts[unit.pk] = {
                (favourite, compared): render_to_string(
                    "showcase/_unit_acts.html",
                    {
                        "unit": unit,
                        "favourites": {unit.pk} if favourite else (),
                        "compared": {unit.pk} if compared else (),
                        "csrf_token": CSRF_SLOT,
                    },
                    request=request,
                )
                for favourite in (False, True)
                for compared in (False, True)
            }
        html = render_to_string("showcase/catalogue.html", context, request=request)
        kept = {"html": html, "acts": acts}
        cache.write(key, kept, generations)
    favourites, compared = selectors.visitor_unit_ids(visitor)

    def fill(match) -> str:
        pk = int(match[1])
        return kept["acts"].get(pk, {}).get((pk in favourites, pk in compared), "")

    html = ACTS_SLOT.sub(fill, kept["html"]).replace(CSRF_SLOT, get_token(request))
    return remember(request, HttpResponse(html))


def _published(project_id) -> Project:
    return get_object_or_404(
        selectors.published_projects().select_related("showcase"), pk=project_id
    )


@require_GET
def project_detail(request, project_id: int):
    project = _published(project_id)
    buildings = list(project.buildings.order_by("completion_date", "name"))
    counts = dict(
        selectors.available_units()
        .filter(building__project=project)
        .values_list("building_id")
        .annotate(n=Count("pk"))
        .values_list("building_id", "n")
    )
    for building in buildings:
        building.on_sale = counts.get(building.pk, 0)
    return _page(request, "showcase/project.html", {"project": project, "buildings": buildings})


@require_GET
def building_board(request, building_id: int):
    building = get_object_or_404(
        Building.objects.select_related("project").filter(project__showcase__is_published=True),
        pk=building_id,
    )
    return _page(
        request,
        "showcase/building.html",
        {
            "building": building,
            "project": building.project,
            "sections": selectors.buyer_chessboard(building),
        },
    )


# --- the unit page -------------------------------------------------------------------------


def _public_unit(unit_id: int) -> Unit:
    """A public unit (a booking's steps: a unit taken meanwhile is refused in words)."""
    return get_object_or_404(
        selectors.public_units().select_related("building__project", "section", "floor"),
        pk=unit_id,
    )


def _shown_unit(unit_id: int, now=None) -> Unit:
    """A unit whose page the showcase serves: 404 for one the marketer hides (booked or sold
    while "show taken" is off), as for one not on the showcase at all."""
    return get_object_or_404(
        selectors.shown_units(now).select_related("building__project", "section", "floor"),
        pk=unit_id,
    )


def unit_terms(request, unit: Unit, price: Decimal, showcase):
    """The calculator form (bound when the visitor sent terms) and every option computed
    with its terms (the defaults while it is unbound or invalid)."""
    data = request.GET if "rate" in request.GET else None
    defaults = default_terms(price, showcase)
    form = CalculatorForm(
        data,
        price=price,
        initial={
            "down_payment": defaults.down_payment,
            "years": defaults.years,
            "rate": defaults.rate,
            "method": "annuity",
        },
    )
    terms = defaults
    if data is not None and form.is_valid():
        c = form.cleaned_data
        terms = Terms(c["down_payment"], c["years"], c["rate"], c.get("method") or "annuity")
    options = payment_terms(
        price=price, project_id=unit.building.project_id, showcase=showcase, terms=terms
    )
    if data is not None and not form.is_valid():
        options.mortgage = None
    return form, options


# schema.org's type of a unit on the showcase: a commercial premise is no apartment (the
# generic ``Accommodation`` keeps ``floorSize`` and ``numberOfRooms`` valid on it)
SCHEMA_TYPES = {UnitKind.APARTMENT: "Apartment", UnitKind.COMMERCIAL: "Accommodation"}


def schema_type(unit: Unit) -> str:
    return SCHEMA_TYPES.get(unit.kind, "Accommodation")


def unit_context(request, unit: Unit, *, now=None) -> dict:
    now = now or timezone.now()
    showcase = ProjectShowcase.objects.filter(project_id=unit.building.project_id).first()
    _cards([unit], now)
    available = unit.public_status == selectors.PublicStatus.AVAILABLE and unit_is_available(
        unit, now=now
    )
    form, options = unit_terms(request, unit, unit.shown.price, showcase)
    return {
        "unit": unit,
        "building": unit.building,
        "project": unit.building.project,
        "showcase": showcase,
        "available": available,
        "calc": form,
        "options": options,
        "plan_rect": _plan_rect(unit),
        "schema_type": schema_type(unit),
    }


def _plan_rect(unit: Unit) -> list[str] | None:
    """The unit's place on the floor plan (x, y, width, height in %) for an SVG overlay."""
    try:
        parts = [f"{float(p):g}" for p in unit.plan_region.split(",")]
    except ValueError:
        return None
    return parts if len(parts) == 4 else None


def _unit_entry(request, unit_id: int, now) -> dict:
    """What the unit page shows every visitor: from the cache, else read, computed, rendered
    and kept (``kvartal.showcase.cache``). Raises 404 for a unit not on the showcase."""
    language = get_language()
    key = cache.unit_key(unit_id, language)
    entry, generations = cache.read(key, cache.SETTINGS_GEN, cache.unit_gen(unit_id))
    if entry is not None:
        return entry
    unit = _shown_unit(unit_id, now)
    context = unit_context(request, unit, now=now)
    experiment = experiments.running(ExperimentKind.TERMS_FIRST)
    action = reverse("showcase:unit-detail", args=[unit.pk])
    terms = {}
    for variant in experiments.VARIANTS if experiment else ("A",):
        terms[variant] = render_to_string(
            "showcase/_terms.html", {**context, "terms_first": variant, "action": action}
        )
    entry = {
        "unit": unit,
        "showcase": context["showcase"],
        "available": context["available"],
        "plan_rect": context["plan_rect"],
        "terms": terms,
        "experiment": experiment,
    }
    # the hold runs out: the unit reads available at once
    cache.write(key, entry, generations, valid_until=_hold_ends(unit, now))
    return entry


def _hold_ends(unit: Unit, now):
    """When a held unit reads "available" again by itself (its hold runs out), else None."""
    if unit.status == UnitStatus.RESERVED and unit.hold_until and unit.hold_until > now:
        return unit.hold_until
    return None


def _unit_page_context(request, unit_id: int, now) -> dict:
    """What the unit page shows every visitor at the default terms (from the unit's cache
    entry), without the visitor's own parts."""
    entry = _unit_entry(request, unit_id, now)
    unit = entry["unit"]
    return {
        "unit": unit,
        "building": unit.building,
        "project": unit.building.project,
        "showcase": entry["showcase"],
        "available": entry["available"],
        "plan_rect": entry["plan_rect"],
        "schema_type": schema_type(unit),
        "terms_by_variant": entry["terms"],
        "experiment": entry["experiment"],
        "canonical": absolute(request, reverse("showcase:unit-detail", args=[unit.pk])),
        "consent": services.consent_text(),
    }


# The visitor's parts of a kept unit page: filled in on each view (never kept).
CSRF_SLOT = "kvslotcsrf7Qm2"
STAMP_SLOT = "kvslotstamp7Qm2"
MARKS_SLOT = "<!--kv:slot:marks-->"


def _kept_unit_page(request, unit_id: int, now) -> HttpResponse:
    """The unit page of an anonymous visitor without terms of their own: rendered whole once
    per unit, language and host for every A/B variant and kept (``cache.page_key``, read
    against the unit's own generation: a hold or a sale shows on the next view) with its
    favourite/compare marks rendered each way they can be; the CSRF token, the form's stamp
    and the visitor's own marks go into its slots.
    A returning visitor costs two queries: themselves with their marks, the view counted."""
    language = get_language()
    origin = f"{request.scheme}://{request.get_host()}"
    key = cache.page_key(unit_id, language, origin)
    kept, generations = cache.read(key, cache.SETTINGS_GEN, cache.unit_gen(unit_id))
    if kept is None:
        context = _unit_page_context(request, unit_id, now)
        terms_by_variant = context.pop("terms_by_variant")
        context.update(
            csrf_token=CSRF_SLOT,
            marks_slot=mark_safe(MARKS_SLOT),  # noqa: S308 (our constant)
            request_form=RequestForm(initial={"kind": RequestKind.QUESTION, "started": STAMP_SLOT}),
        )
        pages = {}
        for variant, terms_html in terms_by_variant.items():
            pages[variant] = render_to_string(
                "showcase/unit.html",
                {**context, "terms_first": variant, "terms_html": mark_safe(terms_html)},  # noqa: S308 (rendered by us)
                request=request,
            )
        unit = context["unit"]
        marks = {  # the visitor's marks, each way they can be (its CSRF token a slot too)
            (favourite, compared): render_to_string(
                "showcase/_unit_marks.html",
                {
                    "unit": unit,
                    "is_favourite": favourite,
                    "is_compared": compared,
                    "next": request.path,
                    "csrf_token": CSRF_SLOT,
                },
            )
            for favourite in (False, True)
            for compared in (False, True)
        }
        kept = {
            "unit_id": unit.pk,
            "experiment": context["experiment"],
            "pages": pages,
            "marks": marks,
        }
        cache.write(key, kept, generations, valid_until=_hold_ends(unit, now))
    visitor, marks = selectors.visitor_and_marks(request, kept["unit_id"])
    services.view_record(visitor=visitor, unit=Unit(pk=kept["unit_id"]))
    variant = experiments.assign_to(visitor, kept["experiment"])
    page = kept["pages"].get(variant) or kept["pages"]["A"]
    html = (
        page.replace(MARKS_SLOT, kept["marks"][marks.favourite, marks.compared])
        .replace(CSRF_SLOT, get_token(request))
        .replace(STAMP_SLOT, form_stamp())
    )
    return remember(request, HttpResponse(html))


@require_GET
def unit_detail(request, unit_id: int):
    """The unit page. Without the visitor's own calculator terms, what every visitor sees
    comes from the cache (for an anonymous visitor the whole page, ``_kept_unit_page``); the
    visitor's own (their view counted, favourite and comparison marks, the request form) is
    added on each view."""
    now = timezone.now()
    if not request.user.is_authenticated and all(is_tracking(k) for k in request.GET):
        return _kept_unit_page(request, unit_id, now)  # an ad's tags change nothing shown
    if "rate" in request.GET:  # the visitor's own terms: computed for them
        unit = _shown_unit(unit_id, now)
        context = unit_context(request, unit, now=now)
        experiment = experiments.running(ExperimentKind.TERMS_FIRST)
        terms_html = None
    else:
        context = _unit_page_context(request, unit_id, now)
        unit, experiment = context["unit"], context.pop("experiment")
        terms_html = context.pop("terms_by_variant")
    visitor = visitor_of(request, create=True)
    services.view_record(visitor=visitor, unit=unit)
    variant = experiments.assign_to(visitor, experiment)
    marks = selectors.visitor_marks(visitor=visitor, unit_id=unit.pk)
    if terms_html is not None:
        context["terms_html"] = mark_safe(terms_html.get(variant) or terms_html["A"])  # noqa: S308 (rendered by us)
    context.update(
        terms_first=variant,
        is_favourite=marks.favourite,
        is_compared=marks.compared,
        request_form=RequestForm(initial={"kind": RequestKind.QUESTION, "started": form_stamp()}),
        canonical=absolute(request, reverse("showcase:unit-detail", args=[unit.pk])),
        consent=services.consent_text(),
    )
    return _page(request, "showcase/unit.html", context)


@require_GET
def unit_offer(request, unit_id: int):
    """The one-page offer (коммерческое предложение) as a branded PDF, with the terms the
    visitor chose; the company's contacts."""
    unit = _shown_unit(unit_id)
    return offer_response(request, unit, contact=None)


def conditional_offers(unit: Unit) -> list[dict]:
    """The running promotions with a condition that cover ``unit`` (parking with an
    apartment, a second unit, full payment): what the deal would take off when it holds."""
    from kvartal.sales.selectors import promotions_for_units

    found = promotions_for_units([unit.pk], timezone.localdate(), on_sale_only=True)
    return [
        {
            "name": p.name,
            "condition": p.get_condition_display(),
            "discount": p.discount_for(price=unit.price, area=unit.total_area),
        }
        for p in found.get(unit.pk, [])
        if p.condition and unit.price
    ]


def offer_response(request, unit: Unit, *, contact) -> HttpResponse:
    context = unit_context(request, unit)
    context.update(company=company_context(), generated_at=timezone.now(), contact=contact)
    context["conditional_offers"] = conditional_offers(unit)
    pdf = render_pdf("showcase/offer_pdf.html", context, request=request)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="offer-{unit.code}.pdf"'
    return response


# --- favourites, comparison, history ---------------------------------------------------------


@require_POST
def favourite_toggle(request, unit_id: int):
    visitor = visitor_of(request, create=True)
    try:
        services.favourite_toggle(visitor=visitor, unit_id=unit_id)
    except DomainError as refusal:
        return _refused(request, str(refusal))
    return remember(request, _back(request, reverse("showcase:favourites")))


@require_POST
def compare_toggle(request, unit_id: int):
    visitor = visitor_of(request, create=True)
    try:
        services.compare_toggle(visitor=visitor, unit_id=unit_id)
    except DomainError as refusal:
        return _refused(request, str(refusal))
    return remember(request, _back(request, reverse("showcase:compare")))


def _refused(request, message: str):
    return _page(request, "showcase/refused.html", {"message": message}, status=400)


def _units_of(rows) -> list[Unit]:
    return _cards([row.unit for row in rows])


def _rows(visitor, model, limit=100):
    if visitor is None:
        return []
    return list(
        model.objects.filter(visitor=visitor).select_related(
            "unit__building__project", "unit__floor", "unit__section"
        )[:limit]
    )


@require_GET
def favourites(request):
    visitor = visitor_of(request)
    units = _units_of(_rows(visitor, Favourite))
    share = (
        absolute(request, reverse("showcase:shared", args=[visitor.share_token]))
        if visitor and units
        else ""
    )
    return _page(
        request,
        "showcase/favourites.html",
        {
            "units": units,
            "share": share,
            "favourites": {u.pk for u in units},
            "compared": _ids(visitor, Compared),
        },
    )


@require_GET
def shared(request, token: str):
    owner = Visitor.objects.filter(share_token=token).first()
    if owner is None:
        raise Http404
    units = _units_of(_rows(owner, Favourite))
    return _page(request, "showcase/shared.html", {"units": units})


@require_GET
def compare(request):
    visitor = visitor_of(request)
    units = _units_of(_rows(visitor, Compared, services.MAX_COMPARED))
    # per m² of the price the buyer pays (the promotion price where shown), as the cards
    per_m2 = selectors.buyer_prices_m2(u.pk for u in units)
    for unit in units:
        unit.shown_price_m2 = per_m2.get(unit.pk, unit.price_per_m2)
    return _page(request, "showcase/compare.html", {"units": units})


@require_GET
def history(request):
    visitor = visitor_of(request)
    viewed = _rows(visitor, Viewed, 20)
    _units_of(viewed)
    searches = list(SavedSearch.objects.filter(visitor=visitor)) if visitor else []
    return _page(request, "showcase/history.html", {"viewed": viewed, "searches": searches})


@require_POST
def search_save(request):
    visitor = visitor_of(request, create=True)
    form = CatalogueForm(request.POST)
    form.is_valid()
    query = request.POST.get("query", "")
    try:
        services.search_save(visitor=visitor, query=query, title=_search_title(query))
    except DomainError as refusal:
        return _refused(request, str(refusal))
    return remember(request, HttpResponseRedirect(reverse("showcase:history")))


def _search_title(query: str) -> str:
    from django.http import QueryDict

    data = QueryDict(query)
    form = CatalogueForm(data)
    if not form.is_valid():
        return query[:300]
    parts = []
    for name, field in form.fields.items():
        value = form.cleaned_data.get(name)
        if value in (None, "", []) or name == "sort":
            continue
        if isinstance(value, list):
            labels = dict(field.choices)
            value = ", ".join(str(labels.get(v, v)) for v in value)
        parts.append(f"{field.label}: {value}")
    return "; ".join(parts)[:300] or _("All units")


@require_POST
def search_delete(request, search_id: int):
    visitor = visitor_of(request)
    try:
        if visitor is None:
            raise services.ShowcaseRefused(_("There is no such saved search."))
        services.search_delete(visitor=visitor, search_id=search_id)
    except DomainError as refusal:
        return _refused(request, str(refusal))
    return HttpResponseRedirect(reverse("showcase:history"))


# --- requests and online booking ---------------------------------------------------------------


def _utm(request) -> dict:
    return services.utm_tags(request.POST if request.method == "POST" else request.GET)


@require_http_methods(["GET", "POST"])
def request_form(request):
    """Call me back, book a visit, ask about a unit: a lead through the lead service."""
    unit = None
    unit_id = request.POST.get("unit") or request.GET.get("unit")
    if unit_id:
        unit = selectors.public_units().filter(pk=parse_id(unit_id) or 0).first()
    visitor = visitor_of(request)
    if request.method == "POST":
        form = RequestForm(request.POST)
        reason = spam_reason(request, request.POST)
        if reason:
            form.is_valid()
            form.add_error(None, reason)
        elif form.is_valid():
            visitor = visitor_of(request, create=True)
            try:
                services.request_create(
                    visitor=visitor,
                    kind=form.cleaned_data["kind"],
                    name=form.cleaned_data["name"],
                    phone=form.cleaned_data["phone"],
                    message=form.cleaned_data["message"],
                    unit_id=request.POST.get("unit") or None,
                    consent=form.cleaned_data["consent"],
                    utm=_utm(request),
                    variants=experiments.variants_of(visitor),
                )
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, messages)
            except DomainError as refusal:
                form.add_error(None, str(refusal))
            else:
                return remember(request, HttpResponseRedirect(reverse("showcase:request-sent")))
        status = 400
    else:
        initial = {"started": form_stamp()}
        if request.GET.get("kind") in RequestKind.values:
            initial["kind"] = request.GET["kind"]
        form = RequestForm(initial=initial)
        status = 200
    if request.method == "POST":
        form.data = form.data.copy()
        form.data["started"] = form_stamp()
    return _page(
        request,
        "showcase/request.html",
        {"form": form, "unit": unit, "utm": _utm(request), "consent": services.consent_text()},
        status=status,
    )


@require_GET
def request_sent(request):
    return _page(request, "showcase/request_sent.html", {})


# What a buyer is told when the one availability rule refuses a booking, at either step (the
# office's message names the hold's end and the unit's inner status: not for the public).
TAKEN = gettext_lazy("Sorry, this unit has just been taken by someone else. Choose another one.")


@require_http_methods(["GET", "POST"])
def book(request, unit_id: int):
    """Online booking, step one: name, phone and consent; a one-time code goes to the phone."""
    unit = _public_unit(unit_id)
    context = unit_context(request, unit)
    if not context["available"]:
        # Nothing to fill in: one refusal and the way back; a POST (a page left open) sends
        # no code and reads as the second step's refusal does.
        if request.method == "POST":
            context["refusal"], status = TAKEN, 400
        else:
            context["refusal"], status = _("This flat cannot be booked now."), 200
        return _page(request, "showcase/book.html", context, status=status)
    form = BookingPhoneForm(initial={"started": form_stamp()})
    status = 200
    if request.method == "POST":
        form = BookingPhoneForm(request.POST)
        reason = spam_reason(request, request.POST)
        if reason:
            form.is_valid()
            form.add_error(None, reason)
        elif form.is_valid():
            visitor = visitor_of(request, create=True)
            try:
                services.phone_code_send(
                    visitor=visitor, unit_id=unit.pk, phone=form.cleaned_data["phone"]
                )
            except UnitNotAvailable:
                form.add_error(None, TAKEN)  # the office's wording (who, until when) stays in
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, messages)
            except DomainError as refusal:
                form.add_error(None, str(refusal))
            else:
                request.session["showcase_booking"] = {
                    "unit": unit.pk,
                    "name": form.cleaned_data["name"],
                }
                return remember(
                    request, HttpResponseRedirect(reverse("showcase:book-confirm", args=[unit.pk]))
                )
        status = 400
        form.data = form.data.copy()
        form.data["started"] = form_stamp()
    context.update(form=form, consent=services.consent_text())
    return _page(request, "showcase/book.html", context, status=status)


@require_http_methods(["GET", "POST"])
def book_confirm(request, unit_id: int):
    """Online booking, step two: the code. The hold service decides who wins the unit."""
    unit = _public_unit(unit_id)
    pending = request.session.get("showcase_booking") or {}
    visitor = visitor_of(request)
    if pending.get("unit") != unit.pk or visitor is None:
        return HttpResponseRedirect(reverse("showcase:book", args=[unit.pk]))
    form = BookingCodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if over_rate(request, "code"):
            form.add_error(None, _("Too many attempts from your address: try again later."))
        elif form.is_valid():
            try:
                services.code_check(
                    visitor=visitor, unit_id=unit.pk, code=form.cleaned_data["code"]
                )
                booking = services.online_booking_create(
                    visitor=visitor,
                    unit_id=unit.pk,
                    code=form.cleaned_data["code"],
                    name=pending.get("name", ""),
                    variants=experiments.variants_of(visitor),
                )
            except UnitNotAvailable:
                form.add_error(None, TAKEN)
            except ValidationError as error:
                form.add_error(None, error.messages)
            except DomainError as refusal:
                form.add_error(None, str(refusal))
            else:
                request.session.pop("showcase_booking", None)
                return HttpResponseRedirect(reverse("showcase:booked", args=[booking.pk]))
    context = unit_context(request, unit)
    context["form"] = form
    return _page(request, "showcase/book_confirm.html", context, status=status)


@require_GET
def booked(request, booking_id: int):
    visitor = visitor_of(request)
    if visitor is None:  # no cookie: not a visitor's own booking (nor one whose visitor is gone)
        raise Http404
    booking = get_object_or_404(
        OnlineBooking.objects.select_related("hold__unit__building__project"),
        pk=booking_id,
        visitor=visitor,
    )
    return _page(request, "showcase/booked.html", {"booking": booking, "hold": booking.hold})


# --- the widget and search engines -------------------------------------------------------------


@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})  # any site may embed the widget: it shows public data
@require_GET
def embed(request, project_id: int):
    """One project's catalogue for an iframe on the developer's own site."""
    project = _published(project_id)
    units = (
        selectors.with_buyer_price(selectors.available_units())
        .filter(building__project=project)
        .select_related("building__project", "floor", "section")
        .order_by("buyer_price", "pk")  # the price a buyer pays, as the catalogue sorts
    )
    page = Paginator(units, 12).get_page(request.GET.get("page"))
    return render(
        request,
        "showcase/embed.html",
        {"project": project, "page": page, "units": _cards(list(page.object_list))},
    )


@require_GET
def embed_script(request):
    return render(
        request,
        "showcase/embed.js",
        {"origin": absolute(request, "/").rstrip("/")},
        content_type="text/javascript; charset=utf-8",
    )


@require_GET
def sitemap(request):
    units = selectors.shown_units().values_list("pk", flat=True).order_by("pk")[:45000]
    projects = selectors.published_projects().values_list("pk", flat=True)
    buildings = Building.objects.filter(project__showcase__is_published=True).values_list(
        "pk", flat=True
    )
    urls = [absolute(request, reverse("showcase:catalogue"))]
    urls += [absolute(request, reverse("showcase:project", args=[pk])) for pk in projects]
    urls += [absolute(request, reverse("showcase:building", args=[pk])) for pk in buildings]
    urls += [absolute(request, reverse("showcase:unit-detail", args=[pk])) for pk in units]
    return render(request, "showcase/sitemap.xml", {"urls": urls}, content_type="application/xml")


@require_GET
def robots(request):
    return render(
        request,
        "showcase/robots.txt",
        {"sitemap": absolute(request, reverse("showcase:sitemap"))},
        content_type="text/plain",
    )
