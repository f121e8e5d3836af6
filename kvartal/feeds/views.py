"""Feed pages for the marketer (``feeds.manage``) and the two public doors portals use: the
feed file at its secret URL and the plan images it links to."""

from datetime import timedelta

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date, parse_etags
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kvartal.accounts.permissions import CLIENTS_VIEW, FEEDS_MANAGE, has_capability, require
from kvartal.clients.models import Lead
from kvartal.core.files import upload_response
from kvartal.core.forms import name_cells
from kvartal.inventory.models import Building, Project, Unit

from . import services
from .forms import BuildingFactsForm, FeedForm, FeedProjectForm
from .health import RULES
from .models import Feed, FeedBuilding, FeedFetch, FeedIssue, FeedProject, ListingBuilding
from .tasks import feed_build_job

ISSUES_PER_PAGE = 200
PORTAL_IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})  # what the portals take


def _feed(portal: str) -> Feed:
    services.feed_ensure_all()
    return get_object_or_404(Feed, portal=portal)


def _leads(feed: Feed):
    """Leads that came from this portal: its lead channel, or its code as utm_source."""
    q = Q(utm_source__iexact=feed.portal)
    if feed.channel_id:
        q |= Q(channel_id=feed.channel_id)
    return Lead.objects.filter(q)


def _feed_url(request, feed: Feed) -> str:
    return request.build_absolute_uri(reverse("feeds-public:file", args=[feed.token]))


@require(FEEDS_MANAGE)
def feed_list(request):
    feeds = services.feed_ensure_all()
    since = timezone.now() - timedelta(days=30)
    rows = []
    for feed in feeds:
        rows.append(
            {
                "feed": feed,
                "published": feed.published_build,
                "last": feed.builds.first(),
                "fetch": feed.fetches.first(),
                "leads": _leads(feed).filter(created_at__gte=since).count(),
            }
        )
    context = {"rows": rows, "nav": "feeds", "crumbs": [(None, _("Listing feeds"))]}
    return render(request, "feeds/feed_list.html", context)


def _issue_rows(build):
    if build is None:
        return []
    issues = build.issues.select_related("unit__building").order_by("severity", "rule", "unit_id")
    rows = []
    for issue in issues[:ISSUES_PER_PAGE]:
        rule = RULES[issue.rule]
        rows.append(
            {
                "issue": issue,
                "message": str(rule.message) % issue.params if issue.params else rule.message,
                "fix": rule.fix,
            }
        )
    return rows


def _rule_message(build, rule: str) -> str:
    """A rule's message for the summary, with the figures of its first issue."""
    message = RULES[rule].message
    example = build.issues.filter(rule=rule).exclude(params={}).first()
    return str(message) % example.params if example else str(message).replace("%%", "%")


def _detail_context(request, feed, *, form=None, building_forms=None):
    last = feed.builds.first()
    published = feed.published_build
    by_rule = (
        FeedIssue.objects.filter(build=last)
        .values("rule", "severity")
        .annotate(n=Count("pk"))
        .order_by("severity", "-n")
        if last
        else []
    )
    projects = list(Project.objects.order_by("name"))
    settings_by_project = {fp.project_id: fp for fp in feed.projects.all()}
    leads = _leads(feed)
    return {
        "feed": feed,
        "form": form or FeedForm(instance=feed),
        "url": _feed_url(request, feed),
        "last": last,
        "published": published,
        "issues": _issue_rows(last),
        "issue_total": (last.errors + last.warnings) if last else 0,
        "by_rule": [{**r, "message": _rule_message(last, r["rule"])} for r in by_rule],
        "projects": [(p, settings_by_project.get(p.pk)) for p in projects],
        "building_forms": building_forms or _building_forms(feed),
        "fetches": feed.fetches.all()[:20],
        "builds": feed.builds.all()[:10],
        "lead_count": leads.count(),
        "lead_rows": leads.for_user(request.user)
        .select_related("channel")
        .order_by("-created_at")[:10]
        if has_capability(request.user, CLIENTS_VIEW)
        else None,
        "nav": "feeds",
        "crumbs": [(reverse("feeds:list"), _("Listing feeds")), (None, feed.get_portal_display())],
    }


def _building_forms(feed, data=None):
    mapping = {fb.building_id: fb for fb in FeedBuilding.objects.filter(feed=feed)}
    facts = {lb.building_id: lb for lb in ListingBuilding.objects.all()}
    forms = []
    for building in Building.objects.select_related("project").order_by("project__name", "name"):
        fb, lb = mapping.get(building.pk), facts.get(building.pk)
        initial = {
            "external_id": fb.external_id if fb else "",
            "material": lb.material if lb else ListingBuilding._meta.get_field("material").default,
            "latitude": lb.latitude if lb else None,
            "longitude": lb.longitude if lb else None,
        }
        form = BuildingFactsForm(data, prefix=f"b{building.pk}", initial=initial)
        name_cells(form, f"{building.project.name}, {building.name}")  # a row of the table
        forms.append((building, form))
    return forms


@require(FEEDS_MANAGE)
@require_GET
def feed_detail(request, portal):
    feed = _feed(portal)
    return render(request, "feeds/feed_detail.html", _detail_context(request, feed))


@require(FEEDS_MANAGE)
@require_POST
def feed_settings(request, portal):
    feed = _feed(portal)
    form = FeedForm(request.POST, instance=feed)
    if not form.is_valid():
        context = _detail_context(request, feed, form=form)
        return render(request, "feeds/feed_detail.html", context, status=400)
    form.save()
    messages.success(request, _("Feed settings saved."))
    return redirect("feeds:detail", portal=portal)


@require(FEEDS_MANAGE)
@require_POST
def feed_buildings(request, portal):
    feed = _feed(portal)
    forms = _building_forms(feed, request.POST)
    if not all(form.is_valid() for _, form in forms):
        context = _detail_context(request, feed, building_forms=forms)
        return render(request, "feeds/feed_detail.html", context, status=400)
    with transaction.atomic():
        for building, form in forms:
            data = form.cleaned_data
            FeedBuilding.objects.update_or_create(
                feed=feed, building=building, defaults={"external_id": data["external_id"].strip()}
            )
            ListingBuilding.objects.update_or_create(
                building=building,
                defaults={
                    "material": data["material"],
                    "latitude": data["latitude"],
                    "longitude": data["longitude"],
                },
            )
    messages.success(request, _("Building ids and facts saved."))
    return redirect("feeds:detail", portal=portal)


@require(FEEDS_MANAGE)
def feed_project(request, portal, project_id):
    feed = _feed(portal)
    project = get_object_or_404(Project, pk=project_id)
    instance = FeedProject.objects.filter(feed=feed, project=project).first() or FeedProject(
        feed=feed, project=project
    )
    form = FeedProjectForm(request.POST or None, instance=instance, project=project)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            fp = services.feed_project_save(feed_project=form.save(commit=False), by=request.user)
            fp.excluded_sections.set(form.cleaned_data["excluded_sections"])
            fp.excluded_units.set(form.cleaned_data["excluded_codes"])
        messages.success(request, _("Project settings saved."))
        return redirect("feeds:detail", portal=portal)
    title = _("%(project)s in %(portal)s") % {
        "project": project.name,
        "portal": feed.get_portal_display(),
    }
    context = {
        "form": form,
        "title": title,
        "feed": feed,
        "nav": "feeds",
        "crumbs": [
            (reverse("feeds:list"), _("Listing feeds")),
            (reverse("feeds:detail", args=[portal]), feed.get_portal_display()),
            (None, project.name),
        ],
    }
    return render(request, "feeds/feed_project.html", context, status=400 if form.errors else 200)


@require(FEEDS_MANAGE)
@require_POST
def feed_build_now(request, portal):
    feed = _feed(portal)
    feed_build_job.enqueue(feed.pk)
    messages.success(request, _("The feed is being built; reload the page in a moment."))
    return redirect("feeds:detail", portal=portal)


@require(FEEDS_MANAGE)
@require_POST
def feed_renew(request, portal):
    feed = _feed(portal)
    services.feed_renew_token(feed=feed, by=request.user)
    messages.success(
        request, _("New feed URL: give it to the portal; the old one no longer works.")
    )
    return redirect("feeds:detail", portal=portal)


def _client_address(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@require_GET
def feed_file(request, token):
    """The published file at the feed's secret URL: gzip when accepted, ETag and
    Last-Modified, 304 for a portal that already has it. Every fetch is logged."""
    feed = (
        Feed.objects.select_related("published_build")
        .filter(token=token, is_published=True)
        .first()
    )
    if feed is None or feed.published_build is None:
        raise Http404
    build = feed.published_build
    etag = f'"{build.etag}"'
    log = FeedFetch(
        feed=feed,
        at=timezone.now(),
        status=200,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        address=_client_address(request),
    )
    matches = parse_etags(request.META.get("HTTP_IF_NONE_MATCH", ""))
    if etag in matches or "*" in matches:
        log.status = 304
        log.save()
        response = HttpResponseNotModified()
        response["ETag"] = etag
        return response
    gz = "gzip" in request.META.get("HTTP_ACCEPT_ENCODING", "")
    path = services.feed_path(build, gz=gz)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    except OSError:
        raise Http404 from None
    response = FileResponse(handle, content_type="application/xml; charset=utf-8")
    if gz:
        response["Content-Encoding"] = "gzip"
    response["ETag"] = etag
    response["Last-Modified"] = http_date(build.finished_at.timestamp())
    response["Vary"] = "Accept-Encoding"
    response["Cache-Control"] = "no-cache"
    log.size = path.stat().st_size
    log.save()
    return response


@require_GET
def plan_file(request, token, unit_id, which):
    """A unit's layout or floor plan for the portals, only for a unit of a project in the
    feed and only when the file is a PNG or JPEG (``kvartal.core.files``: by content, ETag,
    Last-Modified, nosniff)."""
    feed = Feed.objects.filter(token=token, is_published=True).first()
    if feed is None or which not in ("unit", "floor"):
        raise Http404
    unit = (
        Unit.objects.select_related("floor")
        .filter(
            pk=unit_id,
            building__project__in=feed.projects.filter(is_published=True).values("project"),
        )
        .first()
    )
    name = (unit.layout.name if which == "unit" else unit.floor.plan.name) if unit else ""
    if not name:
        raise Http404
    return upload_response(
        request,
        name,
        types=PORTAL_IMAGE_TYPES,
        cache_control="public, max-age=86400",
        cross_origin="cross-origin",
    )
