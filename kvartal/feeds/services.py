"""Feed services: build (check, write, publish or hold back), refresh when inventory changed,
renew the secret, save the marketer's settings.

A build streams the offers through the portal's health rules into a temporary file; only a
healthy build replaces the published file (``os.replace``: a portal fetching meanwhile gets the
last complete file, never half of one). Rebuilds follow changes: ``feeds_refresh`` compares a
cheap marker of everything a feed reads (the newest status, price and data history rows, the
running promotions, the feed settings, the date) with the one of the last build.
"""

import gzip
import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext_noop
from lxml import etree

from kvartal import audit
from kvartal.accounts.models import Role, User
from kvartal.accounts.services import notice_send
from kvartal.core.errors import DomainError
from kvartal.inventory.models import PriceChange, StatusChange, UnitChange, UnitStatus
from kvartal.sales.models import Promotion

from .health import Checker, Issue
from .models import (
    BuildState,
    Feed,
    FeedBuild,
    FeedBuilding,
    FeedIssue,
    FeedProject,
    ListingBuilding,
    Portal,
    Severity,
)
from .offers import feed_scope, offers, public_origin, template_unknown_fields
from .portals import SPECS

log = logging.getLogger(__name__)

DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
# Issues kept per build on the page; the counts are always complete.
ISSUES_KEPT = 5000


class FeedError(DomainError):
    code = "feed_error"


def feeds_dir() -> Path:
    path = Path(settings.KVARTAL_FEEDS_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def feed_path(build: FeedBuild, gz: bool = False) -> Path:
    return feeds_dir() / (build.file_name + (".gz" if gz else ""))


def feed_ensure_all() -> list[Feed]:
    """One feed per portal (unpublished until the marketer publishes it)."""
    existing = {f.portal: f for f in Feed.objects.all()}
    for portal in Portal.values:
        if portal not in existing:
            existing[portal] = Feed.objects.create(portal=portal)
    return [existing[p] for p in Portal.values]


def change_marker(now: datetime) -> str:
    """Changes whenever anything a feed shows may have changed."""
    status = StatusChange.objects.aggregate(m=Max("pk"))["m"]
    price = PriceChange.objects.aggregate(m=Max("pk"))["m"]
    data = UnitChange.objects.aggregate(m=Max("pk"))["m"]
    today = timezone.localdate(now)
    promotions = hashlib.sha1(
        repr(
            list(
                Promotion.objects.filter(ends_on__gte=today - timedelta(days=1))
                .order_by("pk")
                .values_list("pk", "is_active", "starts_on", "ends_on", "value", "discount_kind")
            )
        ).encode()
    ).hexdigest()[:12]
    setup = max(
        (
            m
            for m in (
                FeedProject.objects.aggregate(m=Max("updated_at"))["m"],
                FeedBuilding.objects.aggregate(m=Max("updated_at"))["m"],
                ListingBuilding.objects.aggregate(m=Max("updated_at"))["m"],
            )
            if m
        ),
        default=None,
    )
    setup_text = setup.isoformat() if setup else "-"
    return f"{status}:{price}:{data}:{promotions}:{setup_text}:{today}"


class _Hashing:
    """A file wrapper that counts bytes and hashes them as they are written."""

    def __init__(self, f):
        self.f = f
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.sha.update(data)
        self.size += len(data)
        return self.f.write(data)


@dataclass
class _Tally:
    offers: int = 0
    offers_with_errors: int = 0
    errors: int = 0
    warnings: int = 0


def _claim(feed: Feed, now: datetime) -> bool:
    """Take the feed for building (one builder at a time, on every database): a claim older
    than 30 minutes counts as abandoned."""
    stale = now - timedelta(minutes=30)
    return bool(
        Feed.objects.filter(pk=feed.pk)
        .filter(Q(building_since__isnull=True) | Q(building_since__lt=stale))
        .update(building_since=now)
    )


def _snapshot_path(build: FeedBuild) -> Path:
    return feeds_dir() / f"{build.file_name}.prices.json.gz"


def _read_snapshot(build: FeedBuild | None) -> dict[str, str] | None:
    if build is None or not build.file_name:
        return None
    try:
        with gzip.open(_snapshot_path(build), "rt", encoding="utf-8") as f:
            return json.load(f)
    except OSError:
        return None


def _diff(old: dict | None, new: dict[str, str]) -> tuple[int, int, int, dict]:
    if old is None:
        return len(new), 0, 0, {"added": list(new)[:50], "removed": [], "repriced": []}
    added = [k for k in new if k not in old]
    removed = [k for k in old if k not in new]
    repriced = [[k, old[k], new[k]] for k in new if k in old and old[k] != new[k]]
    sample = {"added": added[:50], "removed": removed[:50], "repriced": repriced[:50]}
    return len(added), len(removed), len(repriced), sample


def _sold_meanwhile(written: set[int], since: datetime) -> list[int]:
    """Units written into the file whose status moved off "available" since the build read
    them: such a file would list a held or sold unit."""
    moved = (
        StatusChange.objects.filter(at__gte=since)
        .exclude(new_status=UnitStatus.AVAILABLE)
        .values_list("unit_id", flat=True)
    )
    return sorted({u for u in moved if u in written})


def _notify_held_back(feed: Feed, build: FeedBuild) -> None:
    from django.urls import reverse

    from kvartal.accounts.notices import arg_text

    from .models import BUILD_REASONS

    url = reverse("feeds:detail", args=[feed.portal])
    args = {
        "feed": arg_text(feed.get_portal_display()),
        "reason": arg_text(BUILD_REASONS[build.reason], **build.reason_params),
    }
    for user in User.objects.filter(is_active=True).filter(
        Q(role=Role.MARKETER) | Q(is_superuser=True)
    ):
        notice_send(user=user, message=gettext_noop("%(feed)s: %(reason)s"), args=args, url=url)


def feed_build(
    *, feed: Feed, now: datetime | None = None, limit: int | None = None
) -> FeedBuild | None:
    """Build ``feed`` now: check every offer, write the file, publish it if healthy.

    Returns the build, or ``None`` when another builder holds the feed. An offer with an error
    is left out of the file (the portal would refuse it); the build is held back — the last
    published file stays — when a unit was held or sold while it was written, when more than
    ``feed.max_error_share`` % of offers have errors, or when it would empty a feed that had
    offers. The marketers are told when a build is held back for a new reason.
    """
    now = now or timezone.now()
    if not _claim(feed, now):
        return None
    spec = SPECS[feed.portal]
    previous = feed.published_build
    build = FeedBuild.objects.create(feed=feed, started_at=now, marker=change_marker(now))
    build.file_name = f"{feed.portal}-{build.pk}.xml"
    tmp = feeds_dir() / f"{build.file_name}.tmp"
    issues: list[Issue] = []
    tally = _Tally()
    snapshot: dict[str, str] = {}
    written: set[int] = set()
    try:
        scope = feed_scope(feed)
        checker = Checker(spec)
        context = {
            "now": now,
            "organization": feed.organization or settings.KVARTAL_COMPANY_NAME,
            "phone": feed.contact_phone,
            "timezone": "GMT " + now.astimezone(timezone.get_current_timezone()).strftime("%z"),
            "projects": {fp.project_id: fp.project for fp in scope},
        }

        def healthy():
            for offer in offers(feed, now=now, limit=limit, scope=scope):
                if offer.kind not in spec.kinds:
                    continue
                found = checker.check(offer)
                bad = any(i.severity == Severity.ERROR for i in found)
                tally.offers += 1
                tally.errors += sum(i.severity == Severity.ERROR for i in found)
                tally.warnings += sum(i.severity == Severity.WARNING for i in found)
                if len(issues) < ISSUES_KEPT:
                    issues.extend(found)
                if bad:
                    tally.offers_with_errors += 1
                    continue
                snapshot[offer.external_id] = f"{offer.price:f}"
                written.add(offer.unit_id)
                yield offer

        with open(tmp, "wb") as raw:
            out = _Hashing(raw)
            out.write(DECLARATION)
            with etree.xmlfile(out, encoding="utf-8") as xf:
                spec.write(xf, healthy(), context)
            raw.flush()
            os.fsync(raw.fileno())
        public = public_origin()
        if "127.0.0.1" in public or "localhost" in public:
            issues.append(Issue("public_url_local", Severity.WARNING, None, {"url": public}))
            tally.warnings += 1
        sold = _sold_meanwhile(written, now)
        for unit_id in sold:
            issues.append(Issue("sold_present", Severity.ERROR, unit_id, {}))
        tally.errors += len(sold)
        share = (
            Decimal(tally.offers_with_errors * 100) / tally.offers if tally.offers else Decimal(0)
        )
        had = previous.offers - previous.offers_with_errors if previous else 0
        reason, params = "", {}
        if sold:
            reason, params = "sold_present", {"count": len(sold)}
        elif share > feed.max_error_share:
            reason, params = (
                "error_share",
                {
                    "share": f"{share:.1f}",
                    "limit": f"{feed.max_error_share:f}".rstrip("0").rstrip("."),
                },
            )
        elif not written and had:
            reason, params = "empty", {"had": had}
        build.offers = tally.offers
        build.offers_with_errors = tally.offers_with_errors
        build.errors, build.warnings = tally.errors, tally.warnings
        build.size, build.etag = out.size, out.sha.hexdigest()[:32]
        build.reason, build.reason_params = reason, params
        if reason:
            tmp.unlink(missing_ok=True)
            build.state = BuildState.HELD_BACK
        else:
            _publish(build, tmp, snapshot, previous)
        build.finished_at = timezone.now()
        with transaction.atomic():
            build.save()
            FeedIssue.objects.bulk_create(
                FeedIssue(
                    build=build,
                    unit_id=i.unit_id,
                    severity=i.severity,
                    rule=i.rule,
                    params=i.params,
                )
                for i in issues
            )
            _forget_old(feed, keep=[build.pk, *([previous.pk] if previous else [])])
            updates = {"built_marker": build.marker, "building_since": None}
            if build.state == BuildState.PUBLISHED:
                updates["published_build"] = build
            Feed.objects.filter(pk=feed.pk).update(**updates)
        last_held = feed.builds.exclude(pk=build.pk).exclude(state=BuildState.BUILDING).first()
        if build.state == BuildState.HELD_BACK and not (
            last_held and last_held.state == BuildState.HELD_BACK and last_held.reason == reason
        ):
            _notify_held_back(feed, build)
        feed.refresh_from_db()
        return build
    except Exception:
        log.exception("feed build %s failed", build.pk)
        tmp.unlink(missing_ok=True)
        FeedBuild.objects.filter(pk=build.pk).update(
            state=BuildState.FAILED, finished_at=timezone.now()
        )
        Feed.objects.filter(pk=feed.pk).update(building_since=None)
        raise


def _publish(build: FeedBuild, tmp: Path, snapshot: dict, previous: FeedBuild | None) -> None:
    final = feed_path(build)
    with open(tmp, "rb") as src, gzip.open(f"{final}.gz.tmp", "wb", compresslevel=6) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    with gzip.open(_snapshot_path(build), "wt", encoding="utf-8") as f:
        json.dump(snapshot, f)
    build.added, build.removed, build.repriced, build.diff = _diff(
        _read_snapshot(previous), snapshot
    )
    os.replace(f"{final}.gz.tmp", f"{final}.gz")
    os.replace(tmp, final)
    build.state = BuildState.PUBLISHED


def _forget_old(feed: Feed, *, keep: list[int]) -> None:
    """Keep the files of the published and the newest build, and the last 50 builds' rows."""
    old = feed.builds.exclude(pk__in=keep)
    for build in old.exclude(file_name=""):
        for path in (feed_path(build), feed_path(build, gz=True), _snapshot_path(build)):
            path.unlink(missing_ok=True)
    FeedIssue.objects.filter(build__feed=feed).exclude(build_id__in=keep).delete()
    stale = list(feed.builds.exclude(pk__in=keep).values_list("pk", flat=True)[50:])
    FeedBuild.objects.filter(pk__in=stale).delete()


def feeds_refresh(*, now: datetime | None = None) -> list[FeedBuild]:
    """Rebuild every published feed whose inputs changed since its last build (at most once a
    ``KVARTAL_FEEDS_DEBOUNCE`` seconds) or whose last build is older than
    ``KVARTAL_FEEDS_MAX_AGE`` seconds. Safe to run from several workers at once."""
    now = now or timezone.now()
    marker = change_marker(now)
    debounce = timedelta(seconds=settings.KVARTAL_FEEDS_DEBOUNCE)
    max_age = timedelta(seconds=settings.KVARTAL_FEEDS_MAX_AGE)
    built = []
    for feed in Feed.objects.filter(is_published=True).select_related("published_build"):
        last = feed.builds.order_by("-started_at").first()
        changed = feed.built_marker != marker
        if last is not None and changed and now - last.started_at < debounce:
            continue
        if last is not None and not changed and now - last.started_at < max_age:
            continue
        build = feed_build(feed=feed, now=now)
        if build is not None:
            built.append(build)
    return built


@audit.service
def feed_renew_token(*, feed: Feed, by) -> Feed:
    """A new secret URL; the old one answers 404 at once."""
    from .models import new_token

    feed.token = new_token()
    feed.save(update_fields=["token", "updated_at"])
    return feed


@audit.service
def feed_project_save(*, feed_project: FeedProject, by) -> FeedProject:
    """Save the marketer's settings of one project in one feed; refuses a description
    template with a field that does not exist."""
    unknown = template_unknown_fields(feed_project.description_template or "")
    if unknown:
        from django.utils.translation import gettext as _

        raise FeedError(
            _("Unknown field in the template: %(names)s.") % {"names": ", ".join(unknown)},
            field="description_template",
        )
    feed_project.save()
    return feed_project
