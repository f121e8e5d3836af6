"""The call centre in the URL × role walk and the row-scoping test (accounts/tests).

Its pages are walked from their views' capability (``calls.panel``): no table here."""

PAGES: dict = {}


def build_objects(*, persona, unit) -> dict:
    return {}


def build_scoped_rows(*, owner, units) -> None:
    """Calls ``owner`` is responsible for: one of their client's, one of a caller known only
    as their lead; and nobody's: a call from a withheld number, one of a client without a
    manager (for accounts/tests/test_scoping.py)."""
    from kvartal.clients import services
    from kvartal.clients.models import Channel, Client

    from ..models import Call, PhoneSystem

    system, _ = PhoneSystem.objects.get_or_create(code="rows", defaults={"name": "Rows"})
    n = owner.pk
    client = services.client_create(by=owner, last_name=f"Звонков{n}", first_name="Иван")
    lead = services.lead_create(
        by=owner,
        channel=Channel.objects.get(code="call"),
        name="Звонящий",
        phone=f"+7 903 {n % 1000:03d}-{n // 1000 % 100:02d}-00",
        manager=owner,
    )
    Call.objects.create(system=system, external_id=f"client-{n}", client=client)
    Call.objects.create(system=system, external_id=f"lead-{n}", lead=lead, phone=lead.phone)
    Call.objects.create(system=system, external_id=f"withheld-{n}")
    # a client nobody is responsible for: their call is nobody's, whoever has their lead
    nobodys = services.client_create(by=owner, last_name=f"Ничейный{n}", first_name="Пётр")
    Client.objects.filter(pk=nobodys.pk).update(manager=None)
    Call.objects.create(system=system, external_id=f"nobody-{n}", client=nobodys, lead=lead)
