"""Clients (people and companies), agencies.

The clients issue extends this module (contacts, consent, leads, visits, tasks, needs); the
sales app refers to ``Client`` and ``Agency`` only.
"""

import datetime
import re
import secrets

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kvartal.accounts.notices import arg_date, arg_datetime
from kvartal.accounts.scoping import ScopedQuerySet

from .crypto import EncryptedTextField, is_unreadable, mask

USER = settings.AUTH_USER_MODEL
MONEY = {"max_digits": 14, "decimal_places": 2}


class ClientKind(models.TextChoices):
    PERSON = "person", _("Person")
    COMPANY = "company", _("Company")


class ClientQuerySet(ScopedQuerySet):
    # An agent sees the clients their agency fixed (the agencies app's ``Fixation``).
    agency_field = "agency_fixations__agency"

    def for_scope(self, scope):
        """Row scoping (``accounts.scoping``); clients merged into another are hidden."""
        return super().for_scope(scope).filter(merged_into__isnull=True)

    def live(self):
        return self.filter(merged_into__isnull=True)

    def in_use(self):
        """Clients one can pick for new work (a hold, a deal, a visit): not merged away,
        not erased."""
        return self.filter(merged_into__isnull=True, erased_at__isnull=True)


class Client(models.Model):
    """A buyer or prospect: a person, or a company with its contact people."""

    kind = models.CharField(_("kind"), max_length=16, choices=ClientKind, default=ClientKind.PERSON)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    middle_name = models.CharField(_("middle name"), max_length=100, blank=True)
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    inn = models.CharField(_("INN"), max_length=12, blank=True)
    kpp = models.CharField(_("KPP"), max_length=9, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="clients",
        verbose_name=_("manager"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    # Normalised copies for finding duplicates (written by the services only).
    phone_normalized = models.CharField(max_length=16, blank=True, editable=False)
    email_normalized = models.CharField(max_length=254, blank=True, editable=False)
    telegram = models.CharField(_("Telegram"), max_length=64, blank=True)
    whatsapp = models.CharField(_("WhatsApp"), max_length=32, blank=True)
    other_messenger = models.CharField(_("other messenger"), max_length=100, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    # Passport data: encrypted at rest, masked on screen for those without clients.personal.
    passport_number = EncryptedTextField(_("passport series and number"), blank=True)
    passport_issued_by = EncryptedTextField(_("passport issued by"), blank=True)
    passport_issued_on = EncryptedTextField(_("passport issued on"), blank=True)
    passport_code = EncryptedTextField(_("department code"), blank=True)
    registration_address = EncryptedTextField(_("registration address"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    merged_into = models.ForeignKey(
        "self",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_from",
        verbose_name=_("merged into"),
        editable=False,
    )
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True, editable=False)
    tags = models.ManyToManyField(
        "clients.Tag", blank=True, related_name="clients", verbose_name=_("tags")
    )

    objects = ClientQuerySet.as_manager()

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ["last_name", "first_name", "company_name", "pk"]
        indexes = [
            models.Index(fields=["last_name"], name="client_last_name"),
            models.Index(fields=["phone_normalized"], name="client_phone_norm"),
            models.Index(fields=["email_normalized"], name="client_email_norm"),
            models.Index(fields=["manager"], name="client_manager"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.kind == ClientKind.COMPANY:
            return self.company_name or _("Company #%(pk)s") % {"pk": self.pk}
        parts = [self.last_name, self.first_name, self.middle_name]
        return " ".join(p for p in parts if p) or _("Client #%(pk)s") % {"pk": self.pk}

    @property
    def is_company(self) -> bool:
        return self.kind == ClientKind.COMPANY

    @property
    def passport_masked(self) -> str:
        return mask(self.passport_number)

    @property
    def has_passport(self) -> bool:
        return bool(self.passport_number or self.passport_issued_by or self.passport_code)

    def clean(self):
        """Personal data a person can have: born not later than today and within 120 years,
        a passport issued between the birth and today, a department code of six digits, a
        series and number of at least six digits. A field the keys cannot read is left."""
        super().clean()
        errors = {}
        today = timezone.localdate()
        if self.birth_date is not None:
            if self.birth_date > today:
                errors["birth_date"] = _("The birth date cannot be later than today.")
            elif self.birth_date < today - datetime.timedelta(days=120 * 365):
                errors["birth_date"] = _("Check the birth date: it is over 120 years ago.")
        issued = _readable(self.passport_issued_on)
        if issued:
            day = _typed_date(issued)
            if day is None:
                errors["passport_issued_on"] = _("Enter the date of issue as DD.MM.YYYY.")
            elif day > today:
                errors["passport_issued_on"] = _("A passport cannot be issued later than today.")
            elif self.birth_date is not None and day < self.birth_date:
                errors["passport_issued_on"] = _(
                    "A passport cannot be issued before its holder was born."
                )
        code = _readable(self.passport_code)
        if code and not re.fullmatch(r"\d{3}-?\d{3}", code):
            errors["passport_code"] = _("A department code is six digits: 660-001.")
        number = _readable(self.passport_number)
        if number and sum(c.isdigit() for c in number) < 6:
            errors["passport_number"] = _(
                "Enter the series and number in full (a Russian passport: 4 + 6 digits)."
            )
        if errors:
            raise ValidationError(errors)


def _readable(value) -> str:
    """A stored text as typed, or "" for none and for one the keys cannot read."""
    return "" if not value or is_unreadable(value) else str(value).strip()


def _typed_date(text: str) -> datetime.date | None:
    """``01.02.2020`` or ``2020-02-01`` as a date; ``None`` for anything else."""
    for fmt in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


class Agency(models.Model):
    """A real-estate agency that brings buyers for a fee."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    inn = models.CharField(_("INN"), max_length=12, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    fee_percent = models.DecimalField(
        _("fee, %"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# --- contacts, company people -----------------------------------------------------------


class ContactKind(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")


class ClientRowQuerySet(ScopedQuerySet):
    """A client's rows (contacts, consents, history, visits …): scoped by the client's manager."""

    owner_field = "client__manager"


class ClientContact(models.Model):
    """A further phone or e-mail of a client (the main ones are on the client)."""

    client = models.ForeignKey(
        Client, models.CASCADE, related_name="contacts", verbose_name=_("client")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=ContactKind)
    value = models.CharField(_("value"), max_length=254)
    normalized = models.CharField(max_length=254, editable=False)
    note = models.CharField(_("note"), max_length=100, blank=True)

    objects = ClientRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["kind", "pk"]
        indexes = [models.Index(fields=["kind", "normalized"], name="contact_kind_norm")]

    def __str__(self) -> str:
        return self.value


class CompanyRowQuerySet(ScopedQuerySet):
    """A company's contact people: scoped by the company's manager."""

    owner_field = "company__manager"


class ContactPerson(models.Model):
    """A person who speaks for a company client; ``person``: that person's own client record,
    when they have one (a person acts for the companies they are linked to)."""

    company = models.ForeignKey(
        Client, models.CASCADE, related_name="people", verbose_name=_("company")
    )
    person = models.ForeignKey(
        Client,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="acts_for",
        verbose_name=_("the person's client record"),
    )
    name = models.CharField(_("name"), max_length=200)
    position = models.CharField(_("position"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)

    objects = CompanyRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact person")
        verbose_name_plural = _("contact people")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A label on clients (VIP, investor, from the exhibition …) that the client list filters
    by; the dictionary is kept in the administration."""

    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# --- consent, history, merges -----------------------------------------------------------


class ConsentChannel(models.TextChoices):
    PAPER = "paper", _("Signed on paper")
    SITE = "site", _("Form on the website")
    EMAIL = "email", _("By e-mail")
    APP = "app", _("In the sales office (electronic signature)")


class Consent(models.Model):
    """Consent to personal-data processing (a separate document under 152-ФЗ): when, which
    version of the text, how it was given; withdrawal is recorded, never deleted."""

    client = models.ForeignKey(
        Client, models.CASCADE, related_name="consents", verbose_name=_("client")
    )
    given_at = models.DateTimeField(_("given"), default=timezone.now)
    text_version = models.CharField(_("version of the text"), max_length=32)
    channel = models.CharField(_("channel"), max_length=8, choices=ConsentChannel)
    marketing = models.BooleanField(_("also agrees to advertising"), default=False)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        USER,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    objects = ClientRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-given_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.text_version} {self.given_at:%Y-%m-%d}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


class ClientEventKind(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Changed")
    REASSIGNED = "reassigned", _("Handed to another manager")
    MERGED = "merged", _("Merged with a duplicate")
    CONSENT = "consent", _("Consent recorded")
    CONSENT_WITHDRAWN = "consent_withdrawn", _("Consent withdrawn")
    EXPORTED = "exported", _("Personal data exported")
    ERASED = "erased", _("Personal data erased")


class ClientEvent(models.Model):
    """Append-only history of a client (and the audit log of exports and erasures).

    ``data`` never holds personal data: field names, ids and counts only.
    """

    client = models.ForeignKey(
        Client, models.CASCADE, related_name="events", verbose_name=_("client")
    )
    at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("who")
    )
    kind = models.CharField(_("event"), max_length=20, choices=ClientEventKind)
    data = models.JSONField(_("details"), default=dict, blank=True)

    objects = ClientRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("client event")
        verbose_name_plural = _("client events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class ClientMerge(models.Model):
    """A record of a merge: ``source`` (now empty, pointing to ``target``) went into
    ``target``; ``moved`` counts what was moved."""

    source = models.ForeignKey(
        Client, models.PROTECT, related_name="merges_out", verbose_name=_("duplicate")
    )
    target = models.ForeignKey(
        Client, models.PROTECT, related_name="merges_in", verbose_name=_("kept client")
    )
    at = models.DateTimeField(_("when"), default=timezone.now)
    by = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("who")
    )
    moved = models.JSONField(_("moved"), default=dict, blank=True)

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.source_id} → #{self.target_id}"


# --- leads ------------------------------------------------------------------------------


class Channel(models.Model):
    """Where a lead came from (site, call, walk-in, agency, Yandex, Avito …): a dictionary."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        ordering = ["order", "name"]

    def __str__(self) -> str:
        # Shipped names are marked for translation in the data migration.
        return gettext(self.name)


def new_api_key() -> str:
    return secrets.token_urlsafe(32)


class LeadSource(models.Model):
    """A website (or other sender) allowed to post leads to the API with its own key."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    channel = models.ForeignKey(
        Channel, models.PROTECT, related_name="+", verbose_name=_("channel")
    )
    key = models.CharField(_("API key"), max_length=64, unique=True, default=new_api_key)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("lead source")
        verbose_name_plural = _("lead sources")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    IN_WORK = "in_work", _("In work")
    QUALIFIED = "qualified", _("Qualified")
    CONVERTED = "converted", _("Converted")
    LOST = "lost", _("Lost")


# A lead's colour says how its sale goes (the stylesheet's ``outcome-*``, which deal stages
# share), never a unit status's: a converted lead is a success, not a unit sold.
LEAD_STATUS_CLASSES = {
    LeadStatus.NEW: "outcome-new",
    LeadStatus.IN_WORK: "outcome-work",
    LeadStatus.QUALIFIED: "outcome-work",
    LeadStatus.CONVERTED: "outcome-won",
    LeadStatus.LOST: "outcome-lost",
}
# Allowed moves; converting has its own service (it creates or links a client).
LEAD_TRANSITIONS: dict[str, frozenset[str]] = {
    LeadStatus.NEW: frozenset({LeadStatus.IN_WORK, LeadStatus.QUALIFIED, LeadStatus.LOST}),
    LeadStatus.IN_WORK: frozenset({LeadStatus.QUALIFIED, LeadStatus.LOST}),
    LeadStatus.QUALIFIED: frozenset({LeadStatus.IN_WORK, LeadStatus.LOST}),
    LeadStatus.LOST: frozenset({LeadStatus.IN_WORK}),
    LeadStatus.CONVERTED: frozenset(),
}
CONVERTIBLE = frozenset({LeadStatus.NEW, LeadStatus.IN_WORK, LeadStatus.QUALIFIED})


class LeadQuerySet(ScopedQuerySet):
    pass


class Lead(models.Model):
    """A request from a prospective buyer, before (or attached to) a client."""

    created_at = models.DateTimeField(_("received"), default=timezone.now)
    name = models.CharField(_("name"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    phone_normalized = models.CharField(max_length=16, blank=True, editable=False)
    email = models.EmailField(_("e-mail"), blank=True)
    email_normalized = models.CharField(max_length=254, blank=True, editable=False)
    message = models.TextField(_("message"), blank=True)
    unit = models.ForeignKey(
        "inventory.Unit",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("unit of interest"),
    )
    channel = models.ForeignKey(
        Channel, models.PROTECT, related_name="leads", verbose_name=_("channel")
    )
    source = models.ForeignKey(
        LeadSource,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        verbose_name=_("site"),
    )
    utm_source = models.CharField("utm_source", max_length=100, blank=True)
    utm_medium = models.CharField("utm_medium", max_length=100, blank=True)
    utm_campaign = models.CharField("utm_campaign", max_length=100, blank=True)
    utm_content = models.CharField("utm_content", max_length=100, blank=True)
    utm_term = models.CharField("utm_term", max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=LeadStatus, default=LeadStatus.NEW
    )
    lost_reason = models.CharField(_("reason of loss"), max_length=300, blank=True)
    manager = models.ForeignKey(
        USER,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        verbose_name=_("manager"),
    )
    client = models.ForeignKey(
        Client,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        verbose_name=_("client"),
    )
    is_repeat = models.BooleanField(_("repeat request of a known client"), default=False)
    created_by = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("created by")
    )

    objects = LeadQuerySet.as_manager()

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["manager", "status"], name="lead_manager_status"),
            models.Index(fields=["phone_normalized"], name="lead_phone_norm"),
            models.Index(fields=["email_normalized"], name="lead_email_norm"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="lost") | ~Q(lost_reason=""), name="lost_lead_has_reason"
            )
        ]

    def __str__(self) -> str:
        return self.name or self.phone or self.email or _("Lead #%(pk)s") % {"pk": self.pk}

    @property
    def status_class(self) -> str:
        """The badge class of the lead's status (``outcome-…``)."""
        return LEAD_STATUS_CLASSES[self.status]


class LeadEventKind(models.TextChoices):
    CREATED = "created", _("Received")
    ASSIGNED = "assigned", _("Assigned")
    STATUS = "status", _("Status changed")
    CONVERTED = "converted", _("Converted")
    ATTACHED = "attached", _("Attached to a known client")


class LeadRowQuerySet(ScopedQuerySet):
    """A lead's history: scoped by the lead's manager."""

    owner_field = "lead__manager"


class LeadEvent(models.Model):
    """Append-only history of a lead."""

    lead = models.ForeignKey(Lead, models.CASCADE, related_name="events", verbose_name=_("lead"))
    at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("who")
    )
    kind = models.CharField(_("event"), max_length=16, choices=LeadEventKind)
    old = models.CharField(_("was"), max_length=100, blank=True)
    new = models.CharField(_("became"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    objects = LeadRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("lead event")
        verbose_name_plural = _("lead events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class RoundRobin(models.Model):
    """The round-robin pointer: the manager who got the last lead. One row, locked while a
    lead is assigned so that two leads arriving together go to two managers."""

    last = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("last")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("round-robin pointer")
        verbose_name_plural = _("round-robin pointer")

    def __str__(self) -> str:
        return str(self.last or "—")


# --- visits, interactions, tasks --------------------------------------------------------


class Visit(models.Model):
    """A visit to the sales office, registered at the reception desk."""

    client = models.ForeignKey(
        Client, models.CASCADE, related_name="visits", verbose_name=_("client")
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    received_by = models.ForeignKey(
        USER, models.SET_NULL, null=True, related_name="+", verbose_name=_("received by")
    )
    asked_about = models.TextField(_("asked about"), blank=True)
    units_shown = models.ManyToManyField(
        "inventory.Unit", blank=True, related_name="+", verbose_name=_("units shown")
    )
    created_by = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("created by")
    )

    objects = ClientRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.client} {self.at:%Y-%m-%d %H:%M}"


class InteractionKind(models.TextChoices):
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    MESSAGE = "message", _("Message")
    NOTE = "note", _("Note")


class Interaction(models.Model):
    """A call, meeting, message or note on the client's timeline."""

    client = models.ForeignKey(
        Client, models.CASCADE, related_name="interactions", verbose_name=_("client")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=InteractionKind)
    at = models.DateTimeField(_("time"), default=timezone.now)
    text = models.TextField(_("text"))
    by = models.ForeignKey(
        USER, models.SET_NULL, null=True, related_name="+", verbose_name=_("who")
    )

    objects = ClientRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class TaskQuerySet(ScopedQuerySet):
    owner_field = "assignee"

    def open(self):
        return self.filter(done_at__isnull=True)

    def coming_due(self, now, ahead):
        """Open tasks to remind of at ``now``: due within ``ahead`` (or overdue), and an
        all-day task from the start of its day (not half an hour before its day ends)."""
        return self.open().filter(
            Q(due_at__lte=now + ahead) | Q(all_day=True, due_at__lte=self.model.day_end(now))
        )


class Task(models.Model):
    """A follow-up: what to do, for which client, by when, by whom."""

    title = models.CharField(_("what to do"), max_length=200)
    client = models.ForeignKey(
        Client,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("client"),
    )
    lead = models.ForeignKey(
        Lead, models.CASCADE, null=True, blank=True, related_name="tasks", verbose_name=_("lead")
    )
    due_at = models.DateTimeField(_("due"))
    # Due on a day, not at an hour: ``due_at`` is that day's last moment (see ``day_end``),
    # and the task is shown as the day alone.
    all_day = models.BooleanField(_("all day"), default=False)
    assignee = models.ForeignKey(
        USER, models.CASCADE, related_name="tasks", verbose_name=_("assignee")
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("created by")
    )
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True, editable=False)

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "pk"]
        indexes = [models.Index(fields=["assignee", "done_at", "due_at"], name="task_assignee_due")]

    def __str__(self) -> str:
        return self.title

    def is_overdue(self, now=None) -> bool:
        """Open past its due moment; an all-day task only once its day is over."""
        return self.done_at is None and self.due_at < (now or timezone.now())

    def due_arg(self) -> dict:
        """When the task is due, as a notice's argument: the day alone for an all-day task."""
        if self.all_day:
            return arg_date(timezone.localtime(self.due_at).date())
        return arg_datetime(self.due_at)

    @staticmethod
    def day_end(moment: datetime.datetime) -> datetime.datetime:
        """The last moment of ``moment``'s day in the current time zone: when an all-day task
        falls due. It stays within the day, so the task is on that day's list, and is overdue
        from the next midnight on."""
        day = timezone.localtime(moment).date()
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.max))


# --- needs ------------------------------------------------------------------------------


class Purpose(models.TextChoices):
    FAMILY = "family", _("For the family")
    INVESTMENT = "investment", _("Investment")
    RELOCATION = "relocation", _("Relocation")
    UPGRADE = "upgrade", _("Better housing")


class NeedPayment(models.TextChoices):
    FULL = "full", _("Full payment")
    MORTGAGE = "mortgage", _("Mortgage")
    SUBSIDISED = "subsidised", _("Subsidised mortgage programme")
    INSTALMENTS = "instalments", _("Instalments")
    TRADE_IN = "trade_in", _("Trade-in")


class NeedStatus(models.TextChoices):
    ACTIVE = "active", _("Current")
    POSTPONED = "postponed", _("Postponed")
    SATISFIED = "satisfied", _("Satisfied")
    DROPPED = "dropped", _("No longer relevant")


# A need's colour says how it goes, as a lead's does (``outcome-*``), never a unit status's: a
# satisfied need is a success, not a unit sold. A postponed one is set aside, neither worked on
# nor given up: the quiet colour of a lead nobody has called yet.
NEED_STATUS_CLASSES = {
    NeedStatus.ACTIVE: "outcome-work",
    NeedStatus.POSTPONED: "outcome-new",
    NeedStatus.SATISFIED: "outcome-won",
    NeedStatus.DROPPED: "outcome-lost",
}


class Need(models.Model):
    """One interest of the client (a flat for the family now, an investment later): a client
    has a list of them, each with its own status. The client card lists the units that match
    the current ones. Every change is kept in ``NeedChange`` with its old and new value."""

    client = models.ForeignKey(
        Client, models.CASCADE, related_name="needs", verbose_name=_("client")
    )
    title = models.CharField(_("title"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=NeedStatus, default=NeedStatus.ACTIVE
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    rooms = models.JSONField(
        _("rooms"), default=list, blank=True, help_text=_("Room counts, 0 = studio; empty = any.")
    )
    budget_min = models.DecimalField(_("budget from, ₽"), **MONEY, null=True, blank=True)
    budget_max = models.DecimalField(_("budget up to, ₽"), **MONEY, null=True, blank=True)
    area_min = models.DecimalField(
        _("area from, m²"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    area_max = models.DecimalField(
        _("area up to, m²"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    projects = models.ManyToManyField(
        "inventory.Project", blank=True, related_name="+", verbose_name=_("projects of interest")
    )
    payment_method = models.CharField(
        _("payment method"), max_length=16, choices=NeedPayment, blank=True
    )
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose, blank=True)
    deadline = models.DateField(_("wants to buy by"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ClientRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        ordering = ["client", "created_at", "pk"]

    def __str__(self) -> str:
        return self.title or str(self.client)

    @property
    def status_class(self) -> str:
        """The badge class of the need's status (``outcome-…``)."""
        return NEED_STATUS_CLASSES[self.status]


class NeedChange(models.Model):
    """Append-only history of a need: one row per changed field, its old and new value as
    shown to people (choices by their label, projects by name)."""

    need = models.ForeignKey(Need, models.CASCADE, related_name="changes", verbose_name=_("need"))
    at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("who")
    )
    field = models.CharField(_("field"), max_length=32)
    old = models.TextField(_("was"), blank=True)
    new = models.TextField(_("became"), blank=True)

    class Meta:
        verbose_name = _("need change")
        verbose_name_plural = _("need changes")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.field}: {self.old} → {self.new}"

    @property
    def field_label(self) -> str:
        try:
            return str(Need._meta.get_field(self.field).verbose_name)
        except FieldDoesNotExist:  # a field since removed: its name
            return self.field
