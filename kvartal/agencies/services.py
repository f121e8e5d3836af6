"""Writers of the partner programme: fixations (фиксация / 报备), their protection window,
disputes, an agent's hold request.

Keyword-only, atomic; a refusal raises a ``DomainError`` below (or ``ValidationError``) and
changes nothing. A fixation locks its project's partner terms row first, so two agencies
fixing one phone at once are serialised and the first one wins (the database's partial unique
constraint is the backstop).
"""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from kvartal import audit
from kvartal.accounts.models import Role
from kvartal.accounts.permissions import AGENCIES_MANAGE, SALES_APPROVE, has_capability
from kvartal.clients.models import Lead
from kvartal.clients.normalize import format_phone, normalize_phone
from kvartal.clients.services import client_create, find_duplicates
from kvartal.core.errors import DomainError
from kvartal.inventory.models import Project, Unit
from kvartal.sales.models import Hold, HoldKind
from kvartal.sales.services.holds import hold_create

from .models import (
    AgencySettings,
    AgencyStatus,
    Agent,
    Dispute,
    DisputeState,
    Fixation,
    FixationEvent,
    FixationEventKind,
    FixationState,
    PartnerProject,
)


class FixationRefused(DomainError):
    """The phone is protected for someone else, the project is closed, the agent unknown."""

    field = "phone"


class PhoneProtected(DomainError):
    """The developer's own lead from a phone an agency protects in that project."""

    field = "phone"


class DisputeRefused(DomainError):
    pass


class HoldRequestRefused(DomainError):
    pass


def _day(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "SHORT_DATE_FORMAT")


def agency_of(user) -> int | None:
    """The agency an agent works for (for ``accounts.scoping``); ``None`` for anyone else."""
    if user is None or not user.is_authenticated or user.role != Role.AGENCY_PARTNER:
        return None
    return Agent.objects.filter(user=user).values_list("agency_id", flat=True).first()


def _agency_for(agent):
    membership = Agent.objects.select_related("agency", "agency__profile").filter(user=agent)
    membership = membership.first() if agent is not None else None
    if membership is None or agent.role != Role.AGENCY_PARTNER or not agent.is_active:
        raise FixationRefused(_("Only an agent of an agency may fix clients."), field=None)
    agency = membership.agency
    profile = getattr(agency, "profile", None)
    if not agency.is_active or (profile is not None and profile.status != AgencyStatus.ACTIVE):
        raise FixationRefused(
            _("Your agency's contract is not in force: clients cannot be fixed."), field=None
        )
    return agency


def open_terms(project: Project, *, lock: bool = False) -> PartnerProject:
    """The partner terms of ``project`` if it is open to partners; else ``FixationRefused``."""
    terms = PartnerProject.objects.filter(project=project, is_open=True)
    if lock:
        terms = terms.select_for_update()
    found = terms.first()
    if found is None:
        # The project unquoted, as in every message here: its name carries its own quotes.
        raise FixationRefused(
            _("The project %(project)s is not open to partners.") % {"project": project},
            field="project",
        )
    return found


def _finalise_ran_out(project_id: int, phone: str, now: datetime) -> None:
    for old in Fixation.objects.filter(
        project_id=project_id,
        phone_normalized=phone,
        state=FixationState.ACTIVE,
        expires_at__lte=now,
    ):
        old.state = FixationState.EXPIRED
        old.save(update_fields=["state"])
        FixationEvent.objects.create(fixation=old, at=now, kind=FixationEventKind.EXPIRED)


def _live_fixation(project_id: int, phone: str, now: datetime) -> Fixation | None:
    return Fixation.objects.filter(
        project_id=project_id,
        phone_normalized=phone,
        state=FixationState.ACTIVE,
        expires_at__gt=now,
    ).first()


def _developer_claim_until(terms: PartnerProject, phone: str, now: datetime) -> datetime | None:
    """When the developer's own claim on ``phone`` in the project ends: its latest lead from
    that phone (naming a unit of the project, or none) within the protection window."""
    window = timedelta(days=terms.protection_days)
    lead = (
        Lead.objects.filter(phone_normalized=phone, created_at__gt=now - window)
        .filter(Q(unit__isnull=True) | Q(unit__building__project_id=terms.project_id))
        .order_by("-created_at")
        .first()
    )
    return lead.created_at + window if lead is not None else None


@transaction.atomic
@audit.service
def fixation_create(
    *, agent, project: Project, name: str, phone: str, at: datetime | None = None
) -> Fixation:
    """Fix a client (name and phone) for ``agent``'s agency in ``project``.

    The first valid fixation of a normalised phone in a project wins for the project's
    protection window. Refused (``FixationRefused``, with the date the window ends and without
    saying who holds it) while another agency's fixation lives, or the developer's own lead
    from that phone is within its window; also when the project is not open to partners or
    the agency's contract is not in force. ``ValidationError``: no name, an unreadable phone.
    """
    now = at or timezone.now()
    agency = _agency_for(agent)
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = [_("Give the client's name.")]
    try:
        phone_n = normalize_phone(phone)
        if not phone_n:
            errors["phone"] = [_("Give the client's phone.")]
    except ValidationError as error:
        errors["phone"] = error.messages
    if errors:
        raise ValidationError(errors)
    terms = open_terms(project, lock=True)
    _finalise_ran_out(project.pk, phone_n, now)
    live = _live_fixation(project.pk, phone_n, now)
    if live is not None:
        if live.agency_id == agency.pk:
            raise FixationRefused(
                _("Your agency has already fixed this client here, protected until %(until)s.")
                % {"until": _day(live.expires_at)}
            )
        # The project unquoted: its name often carries its own quotes (ЖК «Городские истории»).
        raise FixationRefused(
            _(
                "This client is already fixed in %(project)s until %(until)s: a fixation is "
                "possible after that date, or raise a dispute with your evidence."
            )
            % {"project": project, "until": _day(live.expires_at)}
        )
    developer_until = _developer_claim_until(terms, phone_n, now)
    if developer_until is not None:
        raise FixationRefused(
            _(
                "This client has recently contacted the developer directly about %(project)s: "
                "a fixation is possible after %(until)s, or raise a dispute with your evidence."
            )
            % {"project": project, "until": _day(developer_until)}
        )
    client = find_duplicates(phone=phone_n).first()
    if client is None:
        last, _sep, first = name.partition(" ")
        client = client_create(
            by=agent,
            manager=getattr(getattr(agency, "profile", None), "curator", None) or agent,
            last_name=last[:100],
            first_name=first[:100],
            phone=phone,
        )
        if client.manager_id == agent.pk:  # no curator: the sales heads hand it out
            client.manager = None
            client.save(update_fields=["manager"])
    try:
        with transaction.atomic():
            fixation = Fixation.objects.create(
                agency=agency,
                agent=agent,
                project=project,
                client=client,
                name=name[:200],
                phone=format_phone(phone_n),
                phone_normalized=phone_n,
                created_at=now,
                expires_at=now + timedelta(days=terms.protection_days),
            )
    except IntegrityError as error:  # the backstop: one active fixation per phone and project
        raise FixationRefused(_("This client has just been fixed by someone else.")) from error
    FixationEvent.objects.create(
        fixation=fixation,
        at=now,
        actor=agent,
        kind=FixationEventKind.CREATED,
        new_expires_at=fixation.expires_at,
    )
    return fixation


@transaction.atomic
@audit.service
def fixation_extend(*, fixation: Fixation, by, reason: str, at: datetime | None = None) -> Fixation:
    """Extend a live fixation's window by the project's ``extension_days`` from now (a visit
    or a hold of the client); a window already ending later stays. ``FixationRefused`` when
    the fixation no longer lives."""
    now = at or timezone.now()
    fixation = Fixation.objects.select_for_update().get(pk=fixation.pk)
    if not fixation.is_live(now):
        raise FixationRefused(_("The fixation's window has ended: it cannot be extended."))
    terms = PartnerProject.objects.get(project_id=fixation.project_id)
    new_end = max(fixation.expires_at, now + timedelta(days=terms.extension_days))
    if new_end != fixation.expires_at:
        FixationEvent.objects.create(
            fixation=fixation,
            at=now,
            actor=by,
            kind=FixationEventKind.EXTENDED,
            old_expires_at=fixation.expires_at,
            new_expires_at=new_end,
            reason=reason[:500],
        )
        fixation.expires_at = new_end
        fixation.save(update_fields=["expires_at"])
    return fixation


def check_lead_phone(phone: str, unit, at: datetime) -> None:
    """``clients.extensions.lead_checks``: the developer's own lead from a phone an agency
    protects in the lead's project (any project, when the lead names no unit) is refused
    with the date the window ends; who holds it is not said."""
    live = Fixation.objects.filter(
        phone_normalized=phone, state=FixationState.ACTIVE, expires_at__gt=at
    )
    if unit is not None:
        live = live.filter(project_id=unit.building.project_id)
    fixation = live.order_by("-expires_at").first()
    if fixation is not None:
        raise PhoneProtected(
            _(
                "This phone is fixed by a partner agency in %(project)s until %(until)s: it "
                "cannot be registered as the developer's own lead before then."
            )
            % {"project": fixation.project, "until": _day(fixation.expires_at)}
        )


# --- disputes -------------------------------------------------------------------------------


@transaction.atomic
@audit.service
def dispute_raise(
    *, agent, project: Project, name: str, phone: str, evidence: str, at: datetime | None = None
) -> Dispute:
    """An agency claims a client protected for someone else, with evidence (a text: the
    dates of calls, the showing …). ``DisputeRefused`` when the phone is not protected by
    anyone else (then it can simply be fixed) or the evidence is empty."""
    now = at or timezone.now()
    agency = _agency_for(agent)
    evidence = (evidence or "").strip()
    if not evidence:
        raise DisputeRefused(_("Describe your evidence."), field="evidence")
    try:
        phone_n = normalize_phone(phone)
    except ValidationError as error:
        raise ValidationError({"phone": error.messages}) from None
    if not phone_n:
        raise ValidationError({"phone": [_("Give the client's phone.")]})
    terms = open_terms(project, lock=True)
    live = _live_fixation(project.pk, phone_n, now)
    if live is not None and live.agency_id == agency.pk:
        raise DisputeRefused(_("This client is already fixed by your agency."))
    if live is None and _developer_claim_until(terms, phone_n, now) is None:
        raise DisputeRefused(_("Nobody holds this client: fix it instead."))
    dispute = Dispute.objects.create(
        claimant=agency,
        project=project,
        phone_normalized=phone_n,
        name=(name or "")[:200],
        fixation=live,
        evidence=evidence,
        raised_by=agent,
        raised_at=now,
    )
    if live is not None:
        FixationEvent.objects.create(
            fixation=live,
            at=now,
            actor=agent,
            kind=FixationEventKind.DISPUTED,
            reason=_("Dispute #%(id)s") % {"id": dispute.pk},
        )
    return dispute


@transaction.atomic
@audit.service
def dispute_decide(
    *, dispute: Dispute, by, upheld: bool, decision: str, at: datetime | None = None
) -> Dispute:
    """The sales head decides a dispute (reason required). Upheld: the disputed fixation is
    lost and the claimant's agent gets a fresh one with a full window. Rejected: nothing moves
    but the trail. ``DisputeRefused``: not a sales head, no reason, already decided."""
    now = at or timezone.now()
    if not (has_capability(by, SALES_APPROVE) and has_capability(by, AGENCIES_MANAGE)):
        raise DisputeRefused(_("Only a sales head decides disputes."))
    decision = (decision or "").strip()
    if not decision:
        raise DisputeRefused(_("Give the reason for the decision."), field="decision")
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if dispute.state != DisputeState.OPEN:
        raise DisputeRefused(_("This dispute has already been decided."))
    terms = PartnerProject.objects.select_for_update().get(project_id=dispute.project_id)
    old = dispute.fixation
    if old is not None:
        old = Fixation.objects.select_for_update().get(pk=old.pk)
    if upheld:
        if old is not None and old.state == FixationState.ACTIVE:
            old.state = FixationState.LOST
            old.save(update_fields=["state"])
            FixationEvent.objects.create(
                fixation=old, at=now, actor=by, kind=FixationEventKind.LOST, reason=decision
            )
        _finalise_ran_out(dispute.project_id, dispute.phone_normalized, now)
        client = (old.client if old is not None else None) or find_duplicates(
            phone=dispute.phone_normalized
        ).first()
        if client is None:
            client = client_create(
                by=by, manager=None, last_name=dispute.name[:100], phone=dispute.phone_normalized
            )
        result = Fixation.objects.create(
            agency=dispute.claimant,
            agent=dispute.raised_by,
            project_id=dispute.project_id,
            client=client,
            name=dispute.name or str(client),
            phone=format_phone(dispute.phone_normalized),
            phone_normalized=dispute.phone_normalized,
            created_at=now,
            expires_at=now + timedelta(days=terms.protection_days),
        )
        FixationEvent.objects.create(
            fixation=result,
            at=now,
            actor=by,
            kind=FixationEventKind.UPHELD,
            new_expires_at=result.expires_at,
            reason=decision[:500],
        )
        dispute.result = result
        dispute.state = DisputeState.UPHELD
    else:
        if old is not None:
            FixationEvent.objects.create(
                fixation=old,
                at=now,
                actor=by,
                kind=FixationEventKind.REJECTED,
                reason=decision[:500],
            )
        dispute.state = DisputeState.REJECTED
    dispute.decided_by, dispute.decided_at, dispute.decision = by, now, decision[:500]
    dispute.save(update_fields=["state", "decided_by", "decided_at", "decision", "result"])
    return dispute


# --- an agent's hold request ----------------------------------------------------------------


@transaction.atomic
@audit.service
def agent_hold_request(
    *, agent, fixation: Fixation, unit: Unit, at: datetime | None = None
) -> Hold:
    """Hold ``unit`` for the client of ``fixation`` through the sales hold service, for the
    partner programme's ``hold_days`` (shorter than a manager's), in the name of the agency's
    curator; the fixation's window is extended. Refused (``HoldRequestRefused``) for another
    agency's or an ended fixation, a unit of another project or one not open to partners, an
    agency without a curator; ``UnitNotAvailable`` by the one availability rule."""
    now = at or timezone.now()
    agency = _agency_for(agent)
    if fixation.agency_id != agency.pk or not fixation.is_live(now):
        raise HoldRequestRefused(_("Only a client your agency has fixed now can be held."))
    if unit.building.project_id != fixation.project_id:
        raise HoldRequestRefused(
            _("The client is fixed in %(project)s: hold a unit of that project.")
            % {"project": fixation.project},
            field="unit",
        )
    open_terms(fixation.project)
    profile = getattr(agency, "profile", None)
    curator = profile.curator if profile is not None else None
    if curator is None or not curator.is_active:
        raise HoldRequestRefused(
            _("Your agency has no curator at the developer yet: ask the sales office.")
        )
    hold = hold_create(
        unit=unit,
        client=fixation.client,
        manager=curator,
        by=agent,
        kind=HoldKind.ORAL,
        days=AgencySettings.current().hold_days,
        comment=_("Requested by the agency %(agency)s") % {"agency": agency},
        at=now,
        agency=agency,
    )
    fixation_extend(
        fixation=fixation, by=agent, reason=_("Hold of %(unit)s") % {"unit": unit}, at=now
    )
    return hold


# --- clients merged and erased (``clients.extensions``; registered in apps.py) ----------


def merge_client_fixations(source, target) -> dict[str, int]:
    """A merged duplicate's fixations go to the kept client (the agency keeps its claim)."""
    fixations = Fixation.objects.filter(client=source)
    return {"fixations": audit.update(fixations, where={"client": source.pk}, client=target)}


def erase_client_fixations(
    clients, names, label: str, phones=frozenset(), tasks=frozenset()
) -> dict[str, int]:
    """The agencies' side of erasing a client's personal data: the fixations of the client
    (and the records merged into it) or of its numbers keep their agency, project and dates
    but lose the name (``label`` instead), the phone and the reasons in their history. The
    number the protection was keyed on becomes the row's own mark (so no phone stays
    protected and two erased fixations never collide). Disputes over the client or its
    numbers lose the name, the number, the evidence and the decision's text the same way; who
    raised and decided them, when and with what result stay."""
    from django.db.models import CharField, Value
    from django.db.models.functions import Cast, Concat

    ids = [c.pk for c in clients]
    numbers = {p for p in phones if p}
    fixations = Fixation.objects.filter(Q(client_id__in=ids) | Q(phone_normalized__in=numbers))
    fixation_ids = list(fixations.values_list("pk", flat=True))
    return {
        "fixations": audit.update(
            Fixation.objects.filter(pk__in=fixation_ids),
            where={"ids": fixation_ids},
            name=label,
            phone="",
            phone_normalized=Concat(Value("#"), Cast("pk", CharField())),
        ),
        "fixation_events": audit.update(
            FixationEvent.objects.filter(fixation_id__in=fixation_ids).exclude(reason=""),
            where={"fixation": fixation_ids},
            reason="",
        ),
        "disputes": audit.update(
            Dispute.objects.filter(
                Q(fixation_id__in=fixation_ids)
                | Q(result_id__in=fixation_ids)
                | Q(phone_normalized__in=numbers)
            ),
            where={"fixations": fixation_ids},
            name=label,
            phone_normalized=Concat(Value("#"), Cast("pk", CharField())),
            evidence="",
            decision="",
        ),
    }
