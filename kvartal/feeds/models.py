"""Listing feeds: per portal, what is published, where, and every build and fetch.

One ``Feed`` per portal (Yandex Realty, Avito, CIAN, DomClick) with its secret URL; per
project the marketer's choices (``FeedProject``); per building the portal's own id
(``FeedBuilding``) and the facts portals ask for that the inventory does not keep
(``ListingBuilding``). Every build is a ``FeedBuild`` with its health issues; only a healthy
build is published, and the file of the last published one is what portals fetch.
"""

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kvartal.clients.models import Channel
from kvartal.inventory.models import Building, Project, Section, Unit, UnitKind


class Portal(models.TextChoices):
    YANDEX = "yandex", _("Yandex Realty")
    AVITO = "avito", _("Avito")
    CIAN = "cian", _("CIAN")
    DOMCLICK = "domclick", _("DomClick")


class PriceMode(models.TextChoices):
    LIST = "list", _("List price")
    PROMOTION = "promotion", _("Promotion price where a promotion runs")


class Material(models.TextChoices):
    MONOLITH = "monolith", _("Monolithic")
    MONOLITH_BRICK = "monolith_brick", _("Monolithic brick")
    BRICK = "brick", _("Brick")
    PANEL = "panel", _("Panel")
    BLOCK = "block", _("Block")


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Feed(models.Model):
    portal = models.CharField(_("portal"), max_length=16, choices=Portal, unique=True)
    is_published = models.BooleanField(
        _("published"), default=False, help_text=_("Portals can fetch the feed at its URL.")
    )
    token = models.CharField(_("secret"), max_length=64, unique=True, default=new_token)
    contact_phone = models.CharField(
        _("contact phone"), max_length=32, blank=True, help_text=_("+7 and ten digits.")
    )
    organization = models.CharField(_("organisation"), max_length=200, blank=True)
    max_error_share = models.DecimalField(
        _("largest share of offers with errors, %"),
        max_digits=5,
        decimal_places=2,
        default=5,
        help_text=_("A build with more offers in error is not published."),
    )
    channel = models.ForeignKey(
        Channel,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lead channel"),
        help_text=_("Leads of this channel (or with this portal as utm_source) came from it."),
    )
    published_build = models.ForeignKey(
        "FeedBuild", models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    built_marker = models.CharField(max_length=200, blank=True, editable=False)
    building_since = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("feed")
        verbose_name_plural = _("feeds")
        ordering = ["portal"]

    def __str__(self) -> str:
        return self.get_portal_display()


class FeedProject(models.Model):
    feed = models.ForeignKey(Feed, models.CASCADE, related_name="projects")
    project = models.ForeignKey(
        Project, models.CASCADE, related_name="+", verbose_name=_("project")
    )
    is_published = models.BooleanField(_("in the feed"), default=True)
    price_mode = models.CharField(
        _("price"), max_length=16, choices=PriceMode, default=PriceMode.PROMOTION
    )
    kinds = models.JSONField(_("unit kinds"), default=list, blank=True)
    complex_id = models.CharField(
        _("the portal's complex id"),
        max_length=64,
        blank=True,
        help_text=_("The id of the complex in the portal's own catalogue."),
    )
    contact_phone = models.CharField(
        _("contact phone"), max_length=32, blank=True, help_text=_("Empty: the feed's phone.")
    )
    description_template = models.TextField(
        _("description template"),
        blank=True,
        help_text=_(
            "Unit fields in braces, e.g. {rooms_text}, {area}, {floor}. Empty: the default."
        ),
    )
    excluded_sections = models.ManyToManyField(
        Section, blank=True, related_name="+", verbose_name=_("sections left out")
    )
    excluded_units = models.ManyToManyField(
        Unit, blank=True, related_name="+", verbose_name=_("units left out")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("project in a feed")
        verbose_name_plural = _("projects in feeds")
        constraints = [
            models.UniqueConstraint(fields=["feed", "project"], name="feed_project_unique")
        ]

    def __str__(self) -> str:
        return f"{self.feed} · {self.project}"

    @property
    def unit_kinds(self) -> list[str]:
        return self.kinds or [UnitKind.APARTMENT]


class FeedBuilding(models.Model):
    feed = models.ForeignKey(Feed, models.CASCADE, related_name="buildings")
    building = models.ForeignKey(Building, models.CASCADE, related_name="+")
    external_id = models.CharField(_("the portal's building id"), max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["feed", "building"], name="feed_building_unique")
        ]

    def __str__(self) -> str:
        return f"{self.feed} · {self.building_id}: {self.external_id}"


class ListingBuilding(models.Model):
    """What portals ask about a building that the inventory does not keep."""

    building = models.OneToOneField(Building, models.CASCADE, related_name="listing")
    material = models.CharField(
        _("walls"), max_length=16, choices=Material, default=Material.MONOLITH
    )
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return str(self.building_id)


class BuildState(models.TextChoices):
    BUILDING = "building", _("Being built")
    PUBLISHED = "published", _("Published")
    HELD_BACK = "held_back", pgettext_lazy("feed build", "Held back")  # not published
    FAILED = "failed", _("Failed")


BUILD_REASONS = {
    "sold_present": _(
        "%(count)s units were held or sold while the feed was being built; "
        "the last published file stays."
    ),
    "error_share": _(
        "%(share)s %% of offers have errors, more than the %(limit)s %% allowed; "
        "the last published file stays."
    ),
    "empty": _(
        "The build has no offers while the published feed has %(had)s; "
        "the last published file stays."
    ),
}


class FeedBuild(models.Model):
    feed = models.ForeignKey(Feed, models.CASCADE, related_name="builds")
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=BuildState, default=BuildState.BUILDING
    )
    # Why a build was held back: a reason code and its figures, worded in the reader's language.
    reason = models.CharField(_("why held back"), max_length=32, blank=True)
    reason_params = models.JSONField(default=dict, blank=True)
    offers = models.PositiveIntegerField(_("offers"), default=0)
    offers_with_errors = models.PositiveIntegerField(_("offers with errors"), default=0)
    errors = models.PositiveIntegerField(_("errors"), default=0)
    warnings = models.PositiveIntegerField(_("warnings"), default=0)
    file_name = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(_("bytes"), default=0)
    etag = models.CharField(max_length=64, blank=True)
    added = models.PositiveIntegerField(_("added"), default=0)
    removed = models.PositiveIntegerField(_("removed"), default=0)
    repriced = models.PositiveIntegerField(_("price changed"), default=0)
    diff = models.JSONField(default=dict, blank=True)
    marker = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("feed build")
        verbose_name_plural = _("feed builds")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.feed} @ {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def written(self) -> int:
        """Offers in the file: those without errors."""
        return self.offers - self.offers_with_errors

    @property
    def reason_text(self) -> str:
        """Why the build was held back, in the reader's language."""
        if not self.reason:
            return ""
        return str(BUILD_REASONS[self.reason]) % self.reason_params


class Severity(models.TextChoices):
    ERROR = "error", _("Error")
    WARNING = "warning", _("Warning")


class FeedIssue(models.Model):
    build = models.ForeignKey(FeedBuild, models.CASCADE, related_name="issues")
    unit = models.ForeignKey(Unit, models.SET_NULL, null=True, blank=True, related_name="+")
    severity = models.CharField(max_length=8, choices=Severity)
    rule = models.CharField(max_length=32)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["severity", "rule", "unit_id"]

    def __str__(self) -> str:
        return f"{self.rule} · {self.unit_id}"


class FeedFetch(models.Model):
    feed = models.ForeignKey(Feed, models.CASCADE, related_name="fetches")
    at = models.DateTimeField(_("when"), db_index=True)
    status = models.PositiveSmallIntegerField(_("status"))
    size = models.PositiveBigIntegerField(_("bytes"), default=0)
    user_agent = models.CharField(_("client"), max_length=300, blank=True)
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.feed} @ {self.at:%Y-%m-%d %H:%M} · {self.status}"
