"""The marketer's settings and the experiments' report."""

import pytest
from django.urls import reverse

from kvartal.accounts.models import Role
from kvartal.core.testing import make_user
from kvartal.showcase import experiments
from kvartal.showcase.models import (
    Experiment,
    ExperimentKind,
    Exposure,
    MortgageProgramme,
    ProjectShowcase,
    RequestKind,
    Visitor,
    VisitorRequest,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(db):
    return make_user(Role.MARKETER, username="marketer")


def test_only_the_marketer_and_the_admin_manage_the_showcase(client, project, manager, marketer):
    url = reverse("showcase-office:home")
    client.force_login(manager)
    assert client.get(url).status_code == 403
    client.force_login(marketer)
    page = client.get(url)
    assert page.status_code == 200 and "ЖК Витрина" in page.text
    assert f'href="{url}"' in page.text  # the menu entry


def test_the_marketer_chooses_the_price_shown_and_the_booking_term(client, project, marketer):
    client.force_login(marketer)
    url = reverse("showcase-office:project", args=[project.pk])
    data = {
        "is_published": "on",
        "headline": "Рядом парк",
        "price_shown": "list",
        "show_taken": "on",
        "online_booking": "on",
        "booking_hours": "48",
        "full_payment_discount": "3",
        "mortgage_rate": "17.5",
    }
    assert client.post(url, data).status_code == 302
    showcase = ProjectShowcase.objects.get(project=project)
    assert (showcase.price_shown, showcase.booking_hours) == ("list", 48)
    before = ProjectShowcase.objects.values().get(pk=showcase.pk)
    response = client.post(url, {**data, "booking_hours": "500", "headline": "Другое"})
    assert response.status_code == 400
    assert ProjectShowcase.objects.values().get(pk=showcase.pk) == before


def test_a_programme_with_a_99_percent_rate_is_refused(client, project, marketer):
    client.force_login(marketer)
    response = client.post(
        reverse("showcase-office:programme-new"),
        {
            "name": "X",
            "bank": "Y",
            "kind": "state",
            "rate": "99",
            "months": "0",
            "min_down_payment": "20",
            "max_years": "30",
            "order": "0",
        },
    )
    assert response.status_code == 400
    assert not MortgageProgramme.objects.exists()


def test_the_split_is_stable_and_even():
    experiment = Experiment(pk=7, name="x", kind=ExperimentKind.UNIT_ORDER)
    tokens = [f"token-{n:04d}-abcdefghijkl" for n in range(2000)]
    first = [experiments.variant_for(t, experiment) for t in tokens]
    assert first == [experiments.variant_for(t, experiment) for t in tokens]
    share_b = first.count("B") / len(first)
    assert 0.45 < share_b < 0.55


def test_two_proportion_test_against_a_hand_computed_value():
    # 100/1000 against 150/1000: pooled 0.125, se = sqrt(.125·.875·.002) = 0.014790,
    # z = 0.05 / 0.014790 = 3.3806, p = erfc(3.3806/√2) = 0.000723
    z, p = experiments.two_proportion_test(100, 1000, 150, 1000)
    assert round(z, 3) == 3.381 and round(p, 5) == 0.00072
    assert experiments.two_proportion_test(0, 0, 1, 10) == (None, None)


def test_the_report_counts_visitors_requests_and_bookings_per_variant(project):
    from kvartal.clients.models import Channel, Lead

    experiment = Experiment.objects.create(name="Порядок", kind=ExperimentKind.UNIT_ORDER)
    channel = Channel.objects.get(code="site")
    made = {"A": 0, "B": 0}
    for n in range(40):
        visitor = Visitor.objects.create()
        variant = experiments.assign(visitor, ExperimentKind.UNIT_ORDER)
        assert experiments.assign(visitor, ExperimentKind.UNIT_ORDER) == variant
        if n % 4 == 0:
            lead = Lead.objects.create(channel=channel, phone=f"+7912{n:07d}")
            VisitorRequest.objects.create(
                visitor=visitor,
                lead=lead,
                kind=RequestKind.CALLBACK,
                consent_version="1",
                consent_sha256="0" * 64,
                consent_at=experiment.started_at,
            )
            made[variant] += 1
    report = experiments.report(experiment)
    assert sum(r.visitors for r in report.rows) == 40 == Exposure.objects.count()
    assert {r.variant: r.requests for r in report.rows} == made


def test_a_second_running_experiment_of_a_kind_is_refused(client, marketer):
    Experiment.objects.create(name="Первый", kind=ExperimentKind.TERMS_FIRST)
    client.force_login(marketer)
    response = client.post(
        reverse("showcase-office:experiment-new"),
        {"name": "Второй", "kind": ExperimentKind.TERMS_FIRST, "is_active": "on"},
    )
    assert response.status_code == 400 and "already running" in response.text
    assert Experiment.objects.count() == 1


def test_the_terms_experiment_puts_instalments_first_for_variant_b(client, project, unit):
    from kvartal.showcase.models import InstalmentPlan

    InstalmentPlan.objects.create(name="Рассрочка 12", down_payment=30, months=12)
    experiment = Experiment.objects.create(name="Условия", kind=ExperimentKind.TERMS_FIRST)
    seen = []
    while len(seen) < 200 and not (seen.count("A") >= 3 and seen.count("B") >= 3):
        client.cookies.clear()  # a new visitor, in the variant of their random token
        text = client.get(reverse("showcase:unit-detail", args=[unit.pk])).text
        visitor = Visitor.objects.order_by("-pk").first()
        variant = experiments.variant_for(visitor.token, experiment)
        instalments_first = text.index("Рассрочка 12") < text.index("Mortgage, equal payments")
        assert instalments_first == (variant == "B")
        seen.append(variant)
    assert seen.count("A") >= 3 and seen.count("B") >= 3


def test_a_first_time_visitors_first_catalogue_view_is_in_their_variant_and_counted(
    client, project
):
    from kvartal.showcase.visitors import COOKIE

    client.get("/")  # no experiment runs: nobody is made a visitor by a look at the list
    assert not Visitor.objects.exists()
    experiment = Experiment.objects.create(name="Порядок", kind=ExperimentKind.UNIT_ORDER)
    for _ in range(6):
        client.cookies.clear()
        response = client.get("/")
        visitor = Visitor.objects.get(token=response.cookies[COOKIE].value)
        exposure = Exposure.objects.get(experiment=experiment, visitor=visitor)
        assert exposure.variant == experiments.variant_for(visitor.token, experiment)
        client.get("/")  # their second view: the same visitor, counted once
        assert Exposure.objects.filter(visitor=visitor).count() == 1
    assert Visitor.objects.count() == 6 == Exposure.objects.count()


def test_the_online_booking_term_cannot_pass_the_longest_hold_of_a_manager(
    client, project, marketer
):
    from kvartal.sales.models import SalesSettings

    SalesSettings.objects.update_or_create(
        pk=SalesSettings.current().pk, defaults={"manager_max_hold_days": 2}
    )
    client.force_login(marketer)
    url = reverse("showcase-office:project", args=[project.pk])
    data = {
        "is_published": "on",
        "price_shown": "list",
        "show_taken": "on",
        "online_booking": "on",
        "booking_hours": "72",
        "full_payment_discount": "0",
        "mortgage_rate": "18",
    }
    before = ProjectShowcase.objects.values().get(project=project)
    response = client.post(url, data)
    assert response.status_code == 400
    assert "An online booking may last at most 48 hours" in response.text
    assert "at most 2 days" in response.text
    assert ProjectShowcase.objects.values().get(project=project) == before
    assert client.post(url, {**data, "booking_hours": "48"}).status_code == 302
    assert ProjectShowcase.objects.get(project=project).booking_hours == 48
