from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from kvartal.accounts.models import Notice, Role, Team
from kvartal.clients.models import Task
from kvartal.ops.models import Delivery, NotificationKind
from kvartal.ops.notifications import (
    deals_approval_notify,
    holds_warn,
    payments_overdue_notify,
    preferences_save,
    tasks_due_notify,
)
from kvartal.ops.tasks import notification_email
from kvartal.sales.models import Payment, PaymentLine
from kvartal.sales.services.holds import hold_create, hold_extend
from kvartal.sales.tests.factories import make_client, make_deal, make_unit, opened, stage
from kvartal.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings):
    settings.KVARTAL_SMTP = True


def _hold(manager, hours: float):
    now = timezone.now()
    return hold_create(
        unit=make_unit(),
        client=make_client(manager=manager, last_name="Ивановa"),
        manager=manager,
        by=manager,
        expires_at=now + timedelta(hours=hours),
    )


def test_a_hold_is_warned_once_per_offset_and_again_after_an_extension(manager, settings):
    settings.KVARTAL_HOLD_WARNINGS = "24,2"
    hold = _hold(manager, 20)
    now = timezone.now()
    assert holds_warn(now) == 1
    assert holds_warn(now + timedelta(minutes=5)) == 0  # the next run: nothing new
    (notice,) = Notice.objects.filter(user=manager, kind=NotificationKind.HOLD_ENDING)
    assert "ends at" in notice.render()
    assert holds_warn(now + timedelta(hours=18, minutes=30)) == 1  # 1.5 h left: the 2 h one
    assert holds_warn(now + timedelta(hours=19)) == 0
    hold_extend(
        hold=hold, by=manager, expires_at=hold.expires_at + timedelta(days=1), reason="Просит"
    )
    assert holds_warn(now + timedelta(hours=21)) == 1  # 23 h before the new end: again
    assert Notice.objects.filter(user=manager, kind=NotificationKind.HOLD_ENDING).count() == 3


def test_a_hold_first_seen_close_to_its_end_gets_only_the_nearest_warning(manager):
    _hold(manager, 1)
    assert holds_warn() == 1
    assert Delivery.objects.get().key.split(":")[2] == "2h"


def test_two_jobs_at_once_send_one_notice(manager):
    _hold(manager, 5)
    now = timezone.now()
    assert holds_warn(now) + holds_warn(now) == 1
    assert Notice.objects.filter(user=manager).exclude(kind="").count() == 1


def test_each_user_chooses_app_and_email_per_kind_and_reads_in_their_language(
    manager, smtp, django_capture_on_commit_callbacks
):
    manager.email = "anna@example.ru"
    manager.save()
    choices = {k: {"app": True, "email": False} for k in NotificationKind.values}
    choices[NotificationKind.HOLD_ENDING] = {"app": False, "email": True}
    preferences_save(user=manager, choices=choices, language="ru")
    _hold(manager, 5)
    with django_capture_on_commit_callbacks(execute=True):
        assert holds_warn() == 1
    assert not Notice.objects.filter(kind=NotificationKind.HOLD_ENDING).exists()
    (message,) = mail.outbox
    assert message.to == ["anna@example.ru"]
    assert message.subject == "Kvartal: Моя бронь скоро закончится"
    assert "Бронь" in message.body and "Ивановa" in message.body
    delivery = Delivery.objects.get()
    assert delivery.emailed_at is not None
    # the job again (a retry, a second worker): no second e-mail
    assert notification_email.call(delivery.pk) is False
    assert len(mail.outbox) == 1


def test_an_emailed_notice_links_to_the_public_address(manager, smtp, settings):
    settings.KVARTAL_PUBLIC_URL = "https://crm.example.ru"
    manager.email = "anna@example.ru"
    manager.save()
    choices = {k: {"app": True, "email": False} for k in NotificationKind.values}
    choices[NotificationKind.HOLD_ENDING] = {"app": False, "email": True}
    preferences_save(user=manager, choices=choices, language="ru")
    _hold(manager, 5)
    holds_warn()
    delivery = Delivery.objects.get()
    assert delivery.url
    assert notification_email.call(delivery.pk) is True
    (message,) = mail.outbox
    assert message.body.endswith("\n\nhttps://crm.example.ru" + delivery.url)


def test_an_email_job_for_a_deleted_delivery_ends_cleanly():
    assert notification_email.call(987654) is False


def test_overdue_payments_go_to_the_manager_and_the_cashiers_once(manager):
    cashier = make_user(Role.CASHIER)
    make_user(Role.CASHIER, is_active=False)
    today = timezone.localdate()
    deal = make_deal(manager=manager, schedule=False, at=opened(days_ago=10))
    half = (deal.total_due / 2).quantize(1)
    late = PaymentLine.objects.create(
        deal=deal, due_date=today - timedelta(days=3), amount=half, kind="down_payment"
    )
    PaymentLine.objects.create(
        deal=deal,
        due_date=today + timedelta(days=30),
        amount=deal.total_due - half,
        kind="mortgage",
    )
    assert payments_overdue_notify(today) == 2
    assert payments_overdue_notify(today) == 0
    assert set(Notice.objects.values_list("user_id", flat=True)) == {manager.pk, cashier.pk}
    with translation.override("en"):
        text = Notice.objects.filter(user=cashier).get().render()
    assert deal.number in text and "has not been received" in text
    assert Delivery.objects.filter(key=f"payment-overdue:{late.pk}").count() == 2


def test_paid_and_long_past_lines_are_not_told(manager, settings):
    settings.KVARTAL_OVERDUE_LOOKBACK_DAYS = 30
    today = timezone.localdate()
    paid = make_deal(manager=manager, schedule=False, at=opened(days_ago=10))
    line = PaymentLine.objects.create(
        deal=paid, due_date=today - timedelta(days=2), amount=paid.total_due, kind="lump_sum"
    )
    Payment.objects.create(deal=paid, line=line, received_on=today, amount=paid.total_due)
    old = make_deal(manager=manager, schedule=False, at=opened(days_ago=100))
    PaymentLine.objects.create(
        deal=old, due_date=today - timedelta(days=90), amount=old.total_due, kind="lump_sum"
    )
    assert payments_overdue_notify(today) == 0
    assert not Notice.objects.exists()


def test_due_tasks_are_reminded_once(manager):
    client = make_client(manager=manager, last_name="Петрова", first_name="Анна")
    task = Task.objects.create(
        title="Перезвонить",
        due_at=timezone.now() + timedelta(minutes=10),
        assignee=manager,
        client=client,
        created_by=manager,
    )
    Task.objects.create(title="Потом", due_at=timezone.now() + timedelta(days=2), assignee=manager)
    assert tasks_due_notify() == 1
    assert tasks_due_notify() == 0
    task.refresh_from_db()
    assert task.reminded_at is not None
    with translation.override("en"):
        assert Notice.objects.get().render().startswith("Task due ")


def test_a_deal_waiting_for_a_sales_head_tells_the_team_head_once(manager, sales_head):
    team = Team.objects.create(name="Первая", head=sales_head)
    manager.team = team
    manager.save()
    other_head = make_user(Role.SALES_HEAD)
    deal = make_deal(manager=manager)
    signed = stage("signed", deal.scheme)
    signed.needs_approval = True
    signed.save()
    assert deals_approval_notify() == 1
    assert deals_approval_notify() == 0
    (notice,) = Notice.objects.all()
    assert notice.user == sales_head and notice.user != other_head
    assert deal.number in notice.render()


def test_the_settings_page_saves_choices(client, manager):
    client.force_login(manager)
    page = client.get(reverse("ops:notification-settings")).content.decode()
    assert 'name="hold_ending-app"' in page
    response = client.post(
        reverse("ops:notification-settings"), {"task_due-email": "on", "language": "en"}
    )
    assert response.status_code == 302
    prefs = manager.notification_settings
    assert prefs.language == "en"
    assert prefs.wants("task_due", "email") and not prefs.wants("task_due", "app")
    assert not prefs.wants("hold_ending", "app")


def test_erasing_a_client_erases_the_notifications_about_them(manager):
    """A hold's warning and a task's reminder keep the client's name (and the task's title)
    in their delivery's arguments, which the e-mail is written from: erasing the client's
    data leaves neither, and someone else's notifications as they were."""
    from kvartal.clients.services import client_erase

    hold = _hold(manager, 1)
    Task.objects.create(
        title="Перезвонить Ивановой",
        due_at=timezone.now() + timedelta(minutes=10),
        assignee=manager,
        client=hold.client,
        created_by=manager,
    )
    other = make_client(manager=manager, last_name="Петрова", first_name="Анна")
    Task.objects.create(
        title="Перезвонить Петровой",
        due_at=timezone.now() + timedelta(minutes=10),
        assignee=manager,
        client=other,
        created_by=manager,
    )
    assert holds_warn() == 1 and tasks_due_notify() == 2
    client_erase(client=hold.client, by=manager)
    kept = Delivery.objects.get(args__client="Петрова Анна")
    assert kept.args["title"] == "Перезвонить Петровой"
    erased = Delivery.objects.exclude(pk=kept.pk)
    assert erased.count() == 2
    assert {(d.message, str(d.args)) for d in erased} == {
        ("A notice about a client whose personal data was erased.", "{}")
    }


def test_erasing_a_client_erases_the_reminders_of_tasks_on_leads_from_their_phone(manager):
    """A lead sent from the client's phone before the client was entered is never linked to
    them, yet the erasure blanks it (``client_erase`` finds it by the phone); the reminder of
    a task on that lead, with its title, goes with it."""
    from kvartal.clients.models import Channel
    from kvartal.clients.services import client_create, client_erase, lead_create

    call = Channel.objects.get(code="call")
    lead = lead_create(by=None, channel=call, name="Мария", phone="+79120000042")
    person = client_create(
        by=manager, last_name="Иванова", first_name="Мария", phone="+79120000042"
    )
    assert lead.client_id is None
    Task.objects.create(
        title="Перезвонить Ивановой",
        due_at=timezone.now() + timedelta(minutes=10),
        assignee=manager,
        lead=lead,
        created_by=manager,
    )
    assert tasks_due_notify() == 1
    client_erase(client=person, by=manager)
    (delivery,) = Delivery.objects.all()
    assert (delivery.message, delivery.args) == (
        "A notice about a client whose personal data was erased.",
        {},
    )
