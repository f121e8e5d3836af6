"""The cabinet's pages: an agent reads only their agency's rows; a refusal is shown."""

from decimal import Decimal

import pytest
from django.urls import reverse

from kvartal.sales.tests.factories import make_unit

from ..models import Fixation
from ..services import fixation_create
from .factories import make_agency, make_agent, open_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting():
    unit = make_unit()
    open_project(unit.building.project, price_mode="partner", partner_discount_percent=2)
    agent, rival = make_agent(make_agency()), make_agent(make_agency())
    return unit, agent, rival


def test_an_agent_reading_another_agencys_client_by_url_gets_404(client, setting):
    unit, agent, rival = setting
    fixation = fixation_create(
        agent=agent, project=unit.building.project, name="Иванов", phone="+79001112233"
    )
    client.force_login(rival)
    response = client.get(reverse("agencies:fixation-detail", args=[fixation.pk]))
    assert response.status_code == 404
    response = client.get(reverse("agencies:cabinet"))
    assert "Иванов" not in response.content.decode()
    client.force_login(agent)
    assert "Иванов" in client.get(reverse("agencies:cabinet")).content.decode()


def test_a_refused_fixation_shows_the_reason_and_saves_nothing(client, setting):
    unit, agent, rival = setting
    fixation_create(agent=agent, project=unit.building.project, name="Иванов", phone="+79001112233")
    client.force_login(rival)
    response = client.post(
        reverse("agencies:fixation-create"),
        {"project": unit.building.project_id, "name": "Иванов", "phone": "8 900 111-22-33"},
    )
    assert response.status_code == 409
    assert "already fixed" in response.content.decode()
    assert Fixation.objects.count() == 1


def test_the_inventory_shows_partner_prices(client, setting):
    unit, agent, _rival = setting
    client.force_login(agent)
    response = client.get(reverse("agencies:inventory"))
    page = response.context["page"]
    shown = {u.pk: u.partner_price for u in page}
    # 2 % off the public price, to the kopeck
    assert shown[unit.pk] == unit.price - (unit.price * Decimal("0.02")).quantize(Decimal("0.01"))
    assert shown[unit.pk] < unit.price


def test_the_administrator_sets_managers_commissions_in_the_admin(client, admin_user):
    client.force_login(admin_user)
    url = reverse("admin:agencies_managercommissionrule_add")
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"percent": "1.00", "plan": "3000000.00", "percent_over_plan": "1.50"}
    )
    assert response.status_code == 302


def test_a_sales_head_sees_on_the_desk_the_agencies_of_their_team_and_nobodys(client):
    from kvartal.accounts.models import Role, Team
    from kvartal.testing import make_user

    from ..services import dispute_raise

    head = make_user(Role.SALES_HEAD)
    member = make_user(Role.SALES_MANAGER, team=Team.objects.create(name="Свой", head=head))
    stranger = make_user(Role.SALES_MANAGER)
    unit = make_unit()
    project = unit.building.project
    open_project(project)
    fixations = {}
    for name, curator in (("Свояков", member), ("Ничейный", None), ("Чужаков", stranger)):
        agent = make_agent(make_agency(curator=curator))
        phone = f"+7900{len(fixations):07d}"
        fixations[name] = fixation_create(agent=agent, project=project, name=name, phone=phone)
    rival = make_agent(make_agency(curator=stranger))
    dispute = dispute_raise(
        agent=rival, project=project, name="Свояков", phone="+79000000000", evidence="Показ"
    )
    client.force_login(head)
    desk = client.get(reverse("agencies:desk")).content.decode()
    assert "Свояков" in desk and "Ничейный" in desk and "Чужаков" not in desk
    stranger_fixation = fixations["Чужаков"]
    url = reverse("agencies:fixation-extend", args=[stranger_fixation.pk])
    assert client.get(url).status_code == 404
    assert client.get(reverse("agencies:dispute-decide", args=[dispute.pk])).status_code == 404
    assert Fixation.objects.for_user(make_user(Role.DIRECTOR)).count() == 3


def _hold_page(client, unit):
    from kvartal.accounts.models import Role
    from kvartal.testing import make_user

    agent = make_agent(make_agency(curator=make_user(Role.SALES_MANAGER)))
    fixation = fixation_create(
        agent=agent, project=unit.building.project, name="Иванов", phone="+79001112233"
    )
    client.force_login(agent)
    return reverse("agencies:fixation-detail", args=[fixation.pk])


def test_a_hold_request_for_a_unit_taken_meanwhile_gets_the_availability_rules_reason(
    client, setting
):
    from html import escape

    from kvartal.sales.availability import unit_blocker
    from kvartal.sales.models import Hold
    from kvartal.sales.tests.factories import make_deal

    unit = setting[0]
    url = _hold_page(client, unit)
    make_deal(unit=unit)  # taken while the agent's page was open
    unit.refresh_from_db()
    response = client.post(url, {"unit": unit.pk})
    assert response.status_code == 409
    assert escape(unit_blocker(unit)) in response.content.decode()
    assert not Hold.objects.exists()


def test_the_hold_request_lists_units_by_building_then_number_as_a_number(client, setting):
    from kvartal.testing import make_building, make_section

    unit = setting[0]
    project = unit.building.project
    unit.building.name = "Корпус 1"
    unit.building.save()
    second = make_section(make_building(project, name="Корпус 2"), floors=6, per_floor=2)
    tenth = make_section(make_building(project, name="Корпус 10"), floors=1, per_floor=2)
    url = _hold_page(client, unit)
    labels = [label for _pk, label in client.get(url).context["form"].fields["unit"].choices][1:]
    numbers = [u.number for u in second.units.all()]
    assert sorted(numbers, key=int) == [str(n) for n in range(1, 13)]

    def listed(building, numbers):
        units = {u.number: u for u in building.units.all()}
        return [f"{building.name} · {units[str(n)]}" for n in numbers]

    assert labels == [
        *listed(unit.building, [1, 2]),
        *listed(second.building, range(1, 13)),
        *listed(tenth.building, [1, 2]),
    ]


def test_the_inventory_shows_the_building_and_formatted_prices(client, setting):
    from kvartal.core.templatetags.kvartal import money

    unit, agent, _rival = setting
    client.force_login(agent)
    response = client.get(reverse("agencies:inventory"))
    html = response.content.decode()
    partner_price = {u.pk: u.partner_price for u in response.context["page"]}[unit.pk]
    assert f"<td>{unit.building.name}</td>" in html
    assert money(partner_price) in html and str(partner_price) not in html
