"""The call centre: phone systems and their events, calls, extensions, the callback queue,
speed-to-lead, call scripts with A/B variants, history summaries and the live event feed.

Calls are written only by ``services`` (the telephony adapters translate each PBX's form into
one ``CallEventData`` and hand it to ``call_event_apply``).
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kvartal.accounts.scoping import ScopedQuerySet

USER = settings.AUTH_USER_MODEL


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class PhoneSystemKind(models.TextChoices):
    GENERIC = "generic", _("Kvartal JSON (HMAC-signed)")
    ASTERISK = "asterisk", _("Asterisk / FreePBX (dialplan CURL)")
    MANGO = "mango", _("Mango Office (VPBX webhooks)")


class PhoneSystem(models.Model):
    """A PBX or cloud telephony account allowed to send call events, with its shared secret.

    The administrator creates one per PBX; its ``code`` is part of the endpoint's address
    (``/app/calls/telephony/<code>/``)."""

    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=32, unique=True)
    kind = models.CharField(
        _("kind"), max_length=16, choices=PhoneSystemKind, default=PhoneSystemKind.GENERIC
    )
    secret = models.CharField(
        _("shared secret"),
        max_length=128,
        default=new_secret,
        help_text=_("HMAC key (Kvartal JSON), dialplan key (Asterisk) or API salt (Mango)."),
    )
    api_key = models.CharField(
        _("API key"), max_length=128, blank=True, help_text=_("Mango Office: vpbx_api_key.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("phone system")
        verbose_name_plural = _("phone systems")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Extension(models.Model):
    """An operator's (or manager's) internal number on the PBX: calls to it pop up on their
    panel."""

    number = models.CharField(_("extension"), max_length=32, unique=True)
    user = models.ForeignKey(
        USER, models.CASCADE, related_name="extensions", verbose_name=_("user")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("extension")
        verbose_name_plural = _("extensions")
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number


class CallDirection(models.TextChoices):
    IN = "in", _("Incoming")
    OUT = "out", _("Outgoing")


class CallState(models.TextChoices):
    # A call's states agree with "call" (звонок: принят, завершён), hence their context.
    RINGING = "ringing", pgettext_lazy("call state", "Ringing")
    ANSWERED = "answered", pgettext_lazy("call state", "Answered")
    ENDED = "ended", pgettext_lazy("call state", "Ended")
    MISSED = "missed", pgettext_lazy("call state", "Missed")


# The order a call's states come in; an event for an earlier state than the call's is late.
STATE_RANK = {
    CallState.RINGING: 0,
    CallState.ANSWERED: 1,
    CallState.ENDED: 2,
    CallState.MISSED: 2,
}
CALL_STATE_COLOURS = {
    CallState.RINGING: "reserved",
    CallState.ANSWERED: "in_deal",
    CallState.ENDED: "available",
    CallState.MISSED: "sold",
}


class CallOutcome(models.TextChoices):
    VISIT = "visit", _("Visit booked")
    ORAL_HOLD = "oral_hold", _("Oral hold")
    REQUEST = "request", _("Request sent")
    CALLBACK = "callback", _("Call back later")
    LOST = "lost", _("Lost")


class CallQuerySet(ScopedQuerySet):
    """Row scoping of calls: a call is the responsibility of its client's manager (as the
    client is: nobody's when the client has no manager), or — for a caller known only as a
    lead — of the lead's manager. A call with neither (a withheld number) belongs to nobody:
    a sales head sees it, a manager does not. Operators have ``rows.all``: any operator sees
    every call (issue 15: operators are not owners). Agents see no call."""

    owner_field = "client__manager"

    def owner(self):
        return Case(
            When(client__isnull=False, then=F("client__manager_id")),
            default=F("lead__manager_id"),
        )

    def for_scope(self, scope):
        if scope.everything:
            return self.all()
        if scope.agency is not None:
            return self.none()
        return self.alias(scope_owner=self.owner()).filter(scope.q("scope_owner"))


class Call(models.Model):
    """One phone call, built from the PBX's events. Linked to the client or the lead its
    other party's phone matches; ``operator`` is whoever took (or was rung for) it."""

    system = models.ForeignKey(
        PhoneSystem, models.PROTECT, related_name="calls", verbose_name=_("phone system")
    )
    external_id = models.CharField(_("call id in the PBX"), max_length=128)
    direction = models.CharField(
        _("direction"), max_length=4, choices=CallDirection, default=CallDirection.IN
    )
    phone = models.CharField(_("client's phone"), max_length=32, blank=True)
    phone_normalized = models.CharField(max_length=16, blank=True, editable=False)
    line = models.CharField(_("our number"), max_length=32, blank=True)
    extension = models.CharField(_("extension"), max_length=32, blank=True)
    operator = models.ForeignKey(
        USER,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="calls",
        verbose_name=_("operator"),
    )
    client = models.ForeignKey(
        "clients.Client",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="calls",
        verbose_name=_("client"),
    )
    lead = models.ForeignKey(
        "clients.Lead",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="calls",
        verbose_name=_("lead"),
    )
    created_lead = models.BooleanField(_("the call created the lead"), default=False)
    state = models.CharField(
        _("state"), max_length=16, choices=CallState, default=CallState.RINGING
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    duration = models.PositiveIntegerField(_("talk, s"), default=0)
    recording_url = models.URLField(_("recording"), max_length=500, blank=True)
    # the callback queue: a missed incoming call waits here until someone calls back
    callback_done_at = models.DateTimeField(_("called back"), null=True, blank=True)
    callback_by = models.ForeignKey(
        USER,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("called back by"),
    )
    # scripts: the variant the call was assigned, the outcome the operator recorded
    variant = models.ForeignKey(
        "callcentre.ScriptVariant",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="calls",
        verbose_name=_("script variant"),
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=CallOutcome, blank=True)
    outcome_reason = models.CharField(_("reason"), max_length=300, blank=True)
    outcome_at = models.DateTimeField(_("outcome recorded"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = CallQuerySet.as_manager()

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["system", "external_id"], name="call_unique_per_pbx")
        ]
        indexes = [
            models.Index(fields=["phone_normalized", "started_at"], name="call_phone"),
            models.Index(fields=["operator", "started_at"], name="call_operator"),
            models.Index(
                fields=["state", "callback_done_at"],
                name="call_callback_queue",
                condition=Q(state="missed"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.phone or '—'} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def state_colour(self) -> str:
        return CALL_STATE_COLOURS[self.state]

    @property
    def waits_for_callback(self) -> bool:
        return self.state == CallState.MISSED and self.callback_done_at is None


class EventResult(models.TextChoices):
    APPLIED = "applied", _("Applied")
    LATE = "late", _("Arrived after a later state; kept, not applied")
    UNKNOWN_EXTENSION = "unknown_ext", _("Unknown extension; call kept without an operator")


class CallEvent(models.Model):
    """Every event a phone system sent, as received (append-only). ``(system, event_id)`` is
    unique: a replayed event is refused by the database as well as by the service."""

    system = models.ForeignKey(
        PhoneSystem, models.PROTECT, related_name="events", verbose_name=_("phone system")
    )
    event_id = models.CharField(_("event id"), max_length=200)
    call = models.ForeignKey(
        Call, models.CASCADE, related_name="events", null=True, verbose_name=_("call")
    )
    kind = models.CharField(_("event"), max_length=16, choices=CallState)
    at = models.DateTimeField(_("when (PBX clock)"))
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    result = models.CharField(_("result"), max_length=16, choices=EventResult)
    payload = models.JSONField(_("as received"), default=dict)

    class Meta:
        verbose_name = _("call event")
        verbose_name_plural = _("call events")
        ordering = ["received_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["system", "event_id"], name="call_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.kind}"


class FirstContact(models.Model):
    """Speed-to-lead: when a lead was first spoken to (an answered call with its phone), by
    whom, and how many seconds after it arrived. One row per lead, written once."""

    lead = models.OneToOneField(
        "clients.Lead", models.CASCADE, related_name="first_contact", verbose_name=_("lead")
    )
    at = models.DateTimeField(_("first contact"))
    by = models.ForeignKey(
        USER, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("who")
    )
    call = models.ForeignKey(
        Call, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("call")
    )
    seconds = models.PositiveIntegerField(_("seconds after the lead arrived"))

    class Meta:
        verbose_name = _("first contact")
        verbose_name_plural = _("first contacts")

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.seconds} s"


class LiveEvent(models.Model):
    """The live feed the panels read (server-sent events, or polling): a call ringing for a
    user's extension. Unit status changes are read straight from inventory's status history.
    Old rows are pruned by a job."""

    at = models.DateTimeField(_("when"), default=timezone.now)
    user = models.ForeignKey(USER, models.CASCADE, related_name="+", verbose_name=_("user"))
    kind = models.CharField(_("kind"), max_length=16)
    data = models.JSONField(_("data"), default=dict)

    class Meta:
        verbose_name = _("live event")
        verbose_name_plural = _("live events")
        indexes = [models.Index(fields=["user", "id"], name="live_user_id")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id}"


# --- scripts --------------------------------------------------------------------------------


class AssignBy(models.TextChoices):
    CALLER = "caller", _("By caller (the same caller always gets the same variant)")
    OPERATOR = "operator", _("By operator (a group of operators tries a variant)")


class Script(models.Model):
    """A call script: variants (A/B) with weights, each a set of steps."""

    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    assign_by = models.CharField(
        _("assign variants"), max_length=16, choices=AssignBy, default=AssignBy.CALLER
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("call script")
        verbose_name_plural = _("call scripts")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class ScriptVariant(models.Model):
    script = models.ForeignKey(
        Script, models.CASCADE, related_name="variants", verbose_name=_("script")
    )
    name = models.CharField(_("name"), max_length=50)
    weight = models.PositiveSmallIntegerField(_("weight"), default=1)

    class Meta:
        verbose_name = _("script variant")
        verbose_name_plural = _("script variants")
        ordering = ["script", "pk"]
        constraints = [models.UniqueConstraint(fields=["script", "name"], name="variant_name_once")]

    def __str__(self) -> str:
        return f"{self.script} · {self.name}"


class ScriptStep(models.Model):
    """A question of a variant. ``branches`` maps an answer (a choice, or a purchase purpose
    such as ``investment``) to the code of the next step; ``next`` is the default."""

    variant = models.ForeignKey(
        ScriptVariant, models.CASCADE, related_name="steps", verbose_name=_("variant")
    )
    code = models.SlugField(_("code"), max_length=32)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    text = models.TextField(_("what to say or ask"))
    choices = models.JSONField(_("answers to choose from"), default=list, blank=True)
    purpose_branch = models.BooleanField(
        _("branch by purchase purpose"),
        default=False,
        help_text=_("The answer is the client's purchase purpose (family, investment …)."),
    )
    branches = models.JSONField(_("next step by answer"), default=dict, blank=True)
    next = models.SlugField(_("next step"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("script step")
        verbose_name_plural = _("script steps")
        ordering = ["variant", "order", "pk"]
        constraints = [models.UniqueConstraint(fields=["variant", "code"], name="step_code_once")]

    def __str__(self) -> str:
        return self.code

    def next_code(self, answer: str) -> str:
        return self.branches.get(answer) or self.next


class CallAnswer(models.Model):
    """An answer given during a call to a step of its script."""

    call = models.ForeignKey(Call, models.CASCADE, related_name="answers", verbose_name=_("call"))
    step = models.ForeignKey(
        ScriptStep, models.PROTECT, related_name="answers", verbose_name=_("step")
    )
    answer = models.CharField(_("answer"), max_length=300)
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("script answer")
        verbose_name_plural = _("script answers")
        ordering = ["at", "pk"]
        constraints = [models.UniqueConstraint(fields=["call", "step"], name="answer_once")]

    def __str__(self) -> str:
        return f"{self.step}: {self.answer}"


# --- history summaries ----------------------------------------------------------------------


class HistorySummary(models.Model):
    """A client's history summarised: the facts (as data, shown in the reader's language),
    the most informative sentences of the notes (extracted in-house), and, when an
    administrator has switched the on-premises model on, its text per language. Recomputed by
    a job when the history changes."""

    client = models.OneToOneField(
        "clients.Client", models.CASCADE, related_name="summary", verbose_name=_("client")
    )
    facts = models.JSONField(_("facts"), default=list)
    sentences = models.JSONField(_("key sentences"), default=list)
    model_texts = models.JSONField(_("model's summary by language"), default=dict, blank=True)
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    class Meta:
        verbose_name = _("history summary")
        verbose_name_plural = _("history summaries")

    def __str__(self) -> str:
        return str(self.client)


class MaskedField(models.TextChoices):
    NAMES = "names", _("Names")
    PHONES = "phones", _("Phone numbers")
    EMAILS = "emails", _("E-mail addresses")
    PASSPORT = "passport", _("Passport data")
    ADDRESS = "address", _("Addresses")
    BIRTH_DATE = "birth_date", _("Birth date")


def default_masked() -> list:
    return [m.value for m in MaskedField]


class SummaryModel(models.Model):
    """The optional on-premises language model (llama.cpp server, vLLM, Ollama …) at an
    OpenAI-compatible URL inside the company's network. Off until an administrator switches
    it on; the personal-data fields marked here are masked before anything is sent."""

    enabled = models.BooleanField(_("use the model"), default=False)
    url = models.URLField(
        _("base URL"),
        blank=True,
        help_text=_("OpenAI-compatible, e.g. http://llm.local:8080/v1 (…/chat/completions)."),
    )
    model = models.CharField(_("model name"), max_length=100, blank=True)
    api_key = models.CharField(_("API key"), max_length=200, blank=True)
    timeout = models.PositiveSmallIntegerField(_("timeout, s"), default=20)
    masked = models.JSONField(
        _("masked personal data"),
        default=default_masked,
        blank=True,
        help_text=_("Names, phones, e-mails, passport, addresses, birth date."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("summary model")
        verbose_name_plural = _("summary model")

    def __str__(self) -> str:
        return self.url or str(_("off"))

    @classmethod
    def current(cls) -> "SummaryModel":
        return cls.objects.order_by("pk").first() or cls()


class ExchangeStatus(models.TextChoices):
    OK = "ok", _("Answered")
    TIMEOUT = "timeout", _("Timed out")
    ERROR = "error", _("Failed")
    GARBAGE = "garbage", _("Answered something unusable")


class ModelExchange(models.Model):
    """The audit of the summary model: what was sent (already masked) and what came back."""

    at = models.DateTimeField(_("when"), default=timezone.now)
    client = models.ForeignKey(
        "clients.Client",
        models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("client"),
    )
    url = models.CharField(_("URL"), max_length=300)
    sent = models.TextField(_("sent"))
    received = models.TextField(_("received"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ExchangeStatus)
    milliseconds = models.PositiveIntegerField(_("took, ms"), default=0)

    class Meta:
        verbose_name = _("summary model exchange")
        verbose_name_plural = _("summary model exchanges")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.status}"
