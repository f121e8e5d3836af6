"""A person's data must be data a person can have: the service refuses the impossible (a
birth tomorrow, a passport issued in the future, a department code of letters, a series and
number of two digits) field by field, through every door, and changes nothing."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from kvartal.clients import services
from kvartal.clients.models import Client

pytestmark = pytest.mark.django_db


def _days(n: int) -> str:
    return (timezone.localdate() + timedelta(days=n)).strftime("%d.%m.%Y")


IMPOSSIBLE = [
    ("birth_date", timezone.localdate() + timedelta(days=1)),
    ("birth_date", timezone.localdate() - timedelta(days=121 * 366)),
    ("passport_issued_on", "tomorrow"),
    ("passport_code", "abc-xyz"),
    ("passport_code", "12-3456"),
    ("passport_number", "12"),
]


@pytest.mark.parametrize(("field", "value"), IMPOSSIBLE)
def test_the_service_refuses_the_impossible_and_keeps_the_client(manager, field, value):
    client = services.client_create(by=manager, last_name="Данных", first_name="Анна")
    with pytest.raises(ValidationError) as refused:
        services.client_update(client=client, by=manager, **{field: value})
    assert list(refused.value.message_dict) == [field]
    assert getattr(Client.objects.get(pk=client.pk), field) in (None, "")
    with pytest.raises(ValidationError):
        services.client_create(by=manager, last_name="Другая", first_name="Анна", **{field: value})
    assert Client.objects.count() == 1


def test_a_passport_is_issued_between_the_birth_and_today(manager):
    born = timezone.localdate() - timedelta(days=30 * 365)
    client = services.client_create(by=manager, first_name="Анна", birth_date=born)
    for issued in (_days(1), (born - timedelta(days=1)).strftime("%d.%m.%Y")):
        with pytest.raises(ValidationError) as refused:
            services.client_update(client=client, by=manager, passport_issued_on=issued)
        assert list(refused.value.message_dict) == ["passport_issued_on"]
    good = (born + timedelta(days=20 * 365)).strftime("%d.%m.%Y")
    services.client_update(
        client=client,
        by=manager,
        passport_issued_on=good,
        passport_code="660001",
        passport_number="6510 123456",
    )
    assert Client.objects.get(pk=client.pk).passport_issued_on == good


def test_the_edit_page_tells_each_field_and_keeps_what_was_typed(client, manager):
    target = services.client_create(by=manager, last_name="Данных", first_name="Анна")
    client.force_login(manager)
    response = client.post(
        reverse("clients:client-update", args=[target.pk]),
        {
            "last_name": "Данных",
            "first_name": "Анна",
            "birth_date": _days(1),
            "passport_issued_on": _days(1),
            "passport_code": "abc-xyz",
        },
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"birth_date", "passport_issued_on", "passport_code"}
    assert "Дата рождения не может быть позже сегодняшнего дня." in errors["birth_date"]
    assert "abc-xyz" in response.content.decode()  # what was typed is shown back
    assert Client.objects.get(pk=target.pk).passport_code == ""
