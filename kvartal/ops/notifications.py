"""Notifications: warnings before a hold ends, overdue payments, due tasks, deals waiting for a
sales head — in the app and by e-mail, as each user chooses, in the reader's language, sent
by periodic jobs and never twice.

``notify`` claims ``Delivery(user, key)`` first (a unique pair): whoever inserts it sends,
any other job, worker or server finds it and sends nothing. The in-app notice is written in
the same transaction; the e-mail goes by a job after the commit (retried with backoff, and
itself once only: ``emailed_at`` under a row lock).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from kvartal import audit
from kvartal.accounts.models import Role, User
from kvartal.accounts.notices import arg_date, arg_datetime, arg_money, arg_text, render_message
from kvartal.accounts.services import notice_send
from kvartal.core.jobs import enqueue_on_commit
from kvartal.ops.models import Delivery, NotificationKind, NotificationSettings

Kind = NotificationKind


def settings_for(user: User) -> NotificationSettings:
    return NotificationSettings.objects.filter(user=user).first() or NotificationSettings(user=user)


def language_of(user: User) -> str:
    return settings_for(user).language or settings.LANGUAGE_CODE


def notify(
    *, user: User | None, kind: str, key: str, message: str, args: dict, url: str = ""
) -> Delivery | None:
    """Tell ``user`` once about ``key``: in the app and/or by e-mail as they chose. Returns
    the delivery, or None when it was given before (or the user is gone or blocked)."""
    if user is None or not user.is_active:
        return None
    prefs = settings_for(user)
    in_app = prefs.wants(kind, "app")
    email = (
        user.email
        if prefs.wants(kind, "email") and user.email and getattr(settings, "KVARTAL_SMTP", False)
        else ""
    )
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                user=user,
                key=key[:200],
                kind=kind,
                in_app=in_app,
                email_to=email,
                message=message,
                args=args,
                url=url[:300],
            )
            if in_app:
                notice_send(user=user, message=message, args=args, url=url, kind=kind)
            if email:
                from kvartal.ops.tasks import notification_email

                enqueue_on_commit(notification_email, delivery.pk)
    except IntegrityError:
        return None  # given already
    return delivery


def notification_email_send(*, delivery_id: int) -> bool:
    """Send the e-mail of one delivery, once; False when there is nothing (left) to send."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .select_related("user")
            .filter(pk=delivery_id, emailed_at__isnull=True)
            .exclude(email_to="")
            .first()
        )
        if delivery is None:
            return False
        with translation.override(language_of(delivery.user)):
            body = render_message(delivery.message, delivery.args)
            kind = Kind(delivery.kind).label if delivery.kind in Kind.values else ""
            subject = gettext("Kvartal: %(kind)s") % {"kind": kind}
            if delivery.url and (site := settings.KVARTAL_PUBLIC_URL):
                body += "\n\n" + site.rstrip("/") + delivery.url
        # Sent inside the lock: a second worker waits, then finds emailed_at set. A failure
        # raises, rolls back, and the job is retried.
        send_mail(subject, body, None, [delivery.email_to], fail_silently=False)
        delivery.emailed_at = timezone.now()
        delivery.save(update_fields=["emailed_at"])
    return True


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


# --- warnings before a hold ends -------------------------------------------------------


def warning_offsets() -> list[timedelta]:
    """``KVARTAL_HOLD_WARNINGS``: hours before a hold's end, comma-separated (24,2)."""
    raw = getattr(settings, "KVARTAL_HOLD_WARNINGS", "24,2")
    hours = sorted({float(h) for h in raw.split(",") if h.strip()})
    return [timedelta(hours=h) for h in hours if h > 0]


def holds_warn(now: datetime | None = None) -> int:
    """Warn each live hold's manager when it comes within an offset of its end: once per
    offset and end (an extended hold is warned again before its new end). A hold first
    seen already inside several offsets gets the nearest one only."""
    from kvartal.sales.models import Hold, HoldState

    now = now or timezone.now()
    offsets = warning_offsets()
    if not offsets:
        return 0
    holds = Hold.objects.filter(
        state=HoldState.ACTIVE, expires_at__gt=now, expires_at__lte=now + offsets[-1]
    ).select_related("unit", "client", "manager")
    sent = 0
    for hold in holds:
        left = hold.expires_at - now
        offset = next(o for o in offsets if left <= o)
        hours = f"{offset.total_seconds() / 3600:g}"
        key = f"hold-ending:{hold.pk}:{hours}h:{int(hold.expires_at.timestamp())}"
        if notify(
            user=hold.manager,
            kind=Kind.HOLD_ENDING,
            key=key,
            message=gettext_noop("The hold of %(unit)s for %(client)s ends at %(when)s."),
            args={
                "unit": str(hold.unit),
                "client": str(hold.client),
                "when": arg_datetime(hold.expires_at),
            },
            url=_url("sales:hold-list"),
        ):
            sent += 1
    return sent


# --- overdue payments -------------------------------------------------------------------


@dataclass(frozen=True)
class Overdue:
    line_id: int
    deal_id: int
    number: str
    manager: User
    due: date
    missing: object


def overdue_lines(today: date, since: date) -> list[Overdue]:
    from kvartal.sales.models import Deal, PaymentLine
    from kvartal.sales.selectors.payments import payment_states

    deal_ids = set(
        PaymentLine.objects.filter(
            deal__is_active=True, due_date__lt=today, due_date__gte=since
        ).values_list("deal_id", flat=True)
    )
    deals = {d.pk: d for d in Deal.objects.filter(pk__in=deal_ids).select_related("manager")}
    states = payment_states({pk: d.total_due for pk, d in deals.items()}, today)
    found = []
    for pk, state in states.items():
        for line_state in state.lines:
            line = line_state.line
            if line_state.overdue and line.due_date >= since:
                found.append(
                    Overdue(
                        line_id=line.pk,
                        deal_id=pk,
                        number=deals[pk].number,
                        manager=deals[pk].manager,
                        due=line.due_date,
                        missing=line_state.remaining,
                    )
                )
    return sorted(found, key=lambda o: (o.due, o.line_id))


def payments_overdue_notify(today: date | None = None) -> int:
    """Tell the deal's manager and every cashier of each planned payment that became overdue
    (within ``KVARTAL_OVERDUE_LOOKBACK_DAYS``, so a first run does not flood them with
    history), once per payment."""
    today = today or timezone.localdate()
    since = today - timedelta(days=getattr(settings, "KVARTAL_OVERDUE_LOOKBACK_DAYS", 30))
    cashiers = list(User.objects.filter(role=Role.CASHIER, is_active=True))
    sent = 0
    for item in overdue_lines(today, since):
        args = {
            "amount": arg_money(item.missing),
            "deal": item.number,
            "due": arg_date(item.due),
        }
        url = _url("sales:deal-detail", item.deal_id)
        for user in {item.manager, *cashiers}:
            if notify(
                user=user,
                kind=Kind.PAYMENT_OVERDUE,
                key=f"payment-overdue:{item.line_id}",
                message=gettext_noop(
                    "Deal %(deal)s: %(amount)s ₽ due on %(due)s has not been received."
                ),
                args=args,
                url=url,
            ):
                sent += 1
    return sent


# --- due tasks --------------------------------------------------------------------------

TASK_AHEAD = timedelta(minutes=30)


def tasks_due_notify(now: datetime | None = None, ahead: timedelta = TASK_AHEAD) -> int:
    """Remind each assignee of an open task due within ``ahead`` (or overdue) not yet
    reminded: the task's ``reminded_at`` is set in the same transaction as the notice."""
    from kvartal.clients.models import Task

    now = now or timezone.now()
    due = (
        Task.objects.coming_due(now, ahead)
        .filter(reminded_at__isnull=True)
        .select_related("assignee", "client")
    )
    sent = 0
    for task in due:
        with transaction.atomic():
            if not Task.objects.filter(pk=task.pk, reminded_at__isnull=True).update(
                reminded_at=now
            ):
                continue  # another worker reminded it
            if task.client:
                message = gettext_noop("Task due %(when)s: %(title)s — %(client)s")
            else:
                message = gettext_noop("Task due %(when)s: %(title)s")
            args = {"when": task.due_arg(), "title": task.title}
            if task.client:
                args["client"] = task.client.display_name
            if notify(
                user=task.assignee,
                kind=Kind.TASK_DUE,
                key=f"task-due:{task.pk}:{int(task.due_at.timestamp())}",
                message=message,
                args=args,
                url=_url("clients:my-tasks"),
            ):
                sent += 1
    return sent


# --- deals waiting for a sales head -----------------------------------------------------


def deals_approval_notify() -> int:
    """A deal waits for a sales head when the next step of its stage (not a termination) is
    one only a sales head may take (``Stage.needs_approval``). Its team's head — or, with no
    team head, every sales head — is told once per deal and stage."""
    from kvartal.sales.models import Deal, StageTransition

    waiting_stages = StageTransition.objects.filter(
        target__needs_approval=True, target__is_termination=False
    ).values("source_id")
    deals = Deal.objects.filter(is_active=True, stage_id__in=waiting_stages).select_related(
        "manager__team__head", "stage"
    )
    heads = list(User.objects.filter(role=Role.SALES_HEAD, is_active=True))
    sent = 0
    for deal in deals:
        head = deal.manager.team.head if deal.manager.team_id else None
        for user in [head] if head is not None and head.is_active else heads:
            if notify(
                user=user,
                kind=Kind.DEAL_APPROVAL,
                key=f"deal-approval:{deal.pk}:{deal.stage_id}",
                message=gettext_noop(
                    "Deal %(deal)s (%(manager)s) waits for a sales head at “%(stage)s”."
                ),
                args={
                    "deal": deal.number,
                    "manager": deal.manager.short_name,
                    "stage": arg_text(deal.stage.name),
                },
                url=_url("sales:deal-detail", deal.pk),
            ):
                sent += 1
    return sent


def preferences_save(*, user: User, choices: dict, language: str) -> NotificationSettings:
    """Write ``user``'s choices ({kind: {"app": bool, "email": bool}}) and e-mail language."""
    languages = {code for code, _name in settings.LANGUAGES}
    clean = {}
    for kind in Kind.values:
        chosen = choices.get(kind, {})
        clean[kind] = {"app": bool(chosen.get("app")), "email": bool(chosen.get("email"))}
    prefs, _created = NotificationSettings.objects.update_or_create(
        user=user,
        defaults={"choices": clean, "language": language if language in languages else ""},
    )
    return prefs


# --- erasing a client's personal data ----------------------------------------------------


def erase_client_deliveries(
    clients, names, label: str, phones=frozenset(), tasks=frozenset()
) -> dict[str, int]:
    """The notifications' side of erasing a client's personal data (an erase handler of
    ``clients.client_erase``): a hold's warning names the client, a task's reminder names
    the client and the task's title (``tasks``: the client service's, its leads' tasks
    included). Their message becomes the neutral one about erased data, with no arguments;
    who was told, of what kind and when stay. (The notice shown in the app is the client
    service's to erase.)"""
    from kvartal.clients.services.privacy import ERASED_NOTICE

    about = Q(args__client__in=sorted(names)) if names else Q(pk__in=[])
    for pk in sorted(tasks):
        about |= Q(key__startswith=f"task-due:{pk}:")
    found = list(Delivery.objects.filter(about).values_list("pk", flat=True))
    return {
        "notifications": audit.update(
            Delivery.objects.filter(pk__in=found),
            where={"ids": found},
            message=ERASED_NOTICE,
            args={},
        )
    }
