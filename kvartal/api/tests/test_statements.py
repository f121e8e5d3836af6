"""Bank statements: 1C exchange files and CSV matched to deals and recorded by the payment
service only when the cashier confirms, all or none."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kvartal.accounts.models import Role
from kvartal.api.models import StatementImport
from kvartal.api.statements import (
    StatementError,
    parse_1c,
    parse_csv,
    statement_apply,
    statement_load,
)
from kvartal.core.testing import make_user
from kvartal.sales.models import Payment
from kvartal.sales.services.deals import BuyerShare, deal_open
from kvartal.sales.services.payments import PaymentRefused
from kvartal.sales.tests.factories import default_scheme

pytestmark = pytest.mark.django_db


@pytest.fixture
def cashier(db):
    return make_user(Role.CASHIER)


@pytest.fixture
def deal(units, buyer, manager):
    return deal_open(
        unit=units[0],
        buyers=[BuyerShare(client=buyer)],
        manager=manager,
        by=manager,
        scheme=default_scheme(),
    )


def _1c(
    deal,
    amount="150000.00",
    purpose=None,
    payer="Петров Иван Сергеевич",
    encoding="cp1251",
    day=None,
):
    day = day or (timezone.localdate() - timedelta(days=1)).strftime("%d.%m.%Y")
    purpose = (
        purpose if purpose is not None else f"Оплата по договору № {deal.number} НДС не облагается"
    )
    text = (
        "1CClientBankExchange\r\nВерсияФормата=1.03\r\nКодировка=Windows\r\n"
        "СекцияДокумент=Платежное поручение\r\nНомер=512\r\n"
        f"Дата={day}\r\nСумма={amount}\r\nПлательщик={payer}\r\nДатаПоступило={day}\r\n"
        f"НазначениеПлатежа={purpose}\r\nКонецДокумента\r\n"
        "СекцияДокумент=Платежное поручение\r\nНомер=77\r\n"
        f"Дата={day}\r\nСумма=999.00\r\nПлательщик=ООО Ромашка\r\nДатаСписано={day}\r\n"
        "НазначениеПлатежа=Аренда офиса\r\nКонецДокумента\r\nКонецФайла\r\n"
    )
    return text.encode(encoding)


def test_a_1c_statement_is_matched_by_the_deal_number_and_recorded_on_confirmation(deal, cashier):
    statement = statement_load(data=_1c(deal), file_name="выписка.txt", by=cashier)
    first, second = statement.lines
    assert (first["state"], first["deal_id"], first["amount"]) == ("ready", deal.pk, "150000.00")
    assert second["state"] == "outgoing"
    assert not Payment.objects.exists()  # nothing until confirmed
    assert statement_apply(statement=statement, chosen=[0], by=cashier) == 1
    payment = Payment.objects.get()
    assert (payment.deal_id, payment.amount, payment.document) == (
        deal.pk,
        Decimal("150000.00"),
        "512",
    )
    again = statement_load(data=_1c(deal), file_name="выписка.txt", by=cashier)
    assert again.lines[0]["state"] == "duplicate"


def test_matched_by_the_buyer_when_the_purpose_has_no_number(deal, cashier):
    statement = statement_load(
        data=_1c(deal, purpose="Оплата за квартиру"), file_name="x.txt", by=cashier
    )
    assert statement.lines[0]["deal_id"] == deal.pk


def test_more_than_owed_is_marked_for_checking_and_the_service_refuses_it(deal, cashier):
    too_much = str(deal.total_due + 1)
    statement = statement_load(data=_1c(deal, amount=too_much), file_name="x.txt", by=cashier)
    assert statement.lines[0]["state"] == "check"
    with pytest.raises(PaymentRefused, match="outstanding|owed|more"):
        statement_apply(statement=statement, chosen=[0], by=cashier)
    assert not Payment.objects.exists()
    assert StatementImport.objects.get().applied_at is None


def test_an_unknown_payer_is_listed_unmatched(deal, cashier):
    statement = statement_load(
        data=_1c(deal, purpose="за что-то", payer="Сидоров"), file_name="x.txt", by=cashier
    )
    assert statement.lines[0]["state"] == "unmatched"
    with pytest.raises(StatementError):
        statement_apply(statement=statement, chosen=[0], by=cashier)


def test_csv_in_windows_1251_with_russian_headers(deal, cashier):
    day = (timezone.localdate() - timedelta(days=1)).strftime("%d.%m.%Y")
    data = (
        "Дата;Сумма;Плательщик;Назначение;Номер\n"
        f"{day};1000,50;Петров И.;по договору {deal.number};9\n"
    )
    (line,) = parse_csv(data.encode("cp1251"))
    assert (line.amount, line.number) == ("1000.50", "9")
    statement = statement_load(data=data.encode("cp1251"), file_name="x.csv", by=cashier)
    assert statement.lines[0]["deal_id"] == deal.pk


@pytest.mark.parametrize(
    "data, message",
    [
        (b"garbage", "Missing columns"),
        (
            (
                "1CClientBankExchange\nСекцияДокумент=Платежное поручение\n"
                "Сумма=abc\nДата=01.01.2026\nКонецДокумента\n"
            ).encode("cp1251"),
            "is not an amount",
        ),
        *(
            (
                (
                    "1CClientBankExchange\nСекцияДокумент=Платежное поручение\n"
                    f"Сумма={amount}\nДата=01.01.2026\nКонецДокумента\n"
                ).encode("cp1251"),
                "is not an amount",
            )
            for amount in ("NaN", "Infinity", "-Infinity", "1e999", "10000000000000", "0")
        ),
        ("1CClientBankExchange\nКонецФайла\n".encode("utf-16"), "encoding"),
        (b"1CClientBankExchange\nVersion=1\n", "no payment documents"),
        ("Дата;Сумма;Плательщик;Назначение\n32.13.2026;10;А;Б\n".encode(), "is not a date"),
    ],
)
def test_bad_files_are_refused_with_a_message_and_nothing_saved(cashier, data, message):
    with pytest.raises(StatementError, match=message):
        statement_load(data=data, file_name="bad", by=cashier)
    assert not StatementImport.objects.exists()


def test_a_1c_file_in_utf8_is_read_too(deal, cashier):
    (first, _second) = parse_1c(_1c(deal, encoding="utf-8"))
    assert first.payer.startswith("Петров")


def test_the_cashier_pages(client, deal, cashier, manager):
    client.force_login(manager)
    assert client.get(reverse("integrations:statement-upload")).status_code == 403
    client.force_login(cashier)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        reverse("integrations:statement-upload"), {"file": SimpleUploadedFile("в.txt", _1c(deal))}
    )
    statement = StatementImport.objects.get()
    assert response.status_code == 302
    page = client.get(reverse("integrations:statement", args=[statement.pk]))
    assert deal.number in page.content.decode()
    response = client.post(reverse("integrations:statement", args=[statement.pk]), {"line": ["0"]})
    assert response.status_code == 302 and Payment.objects.count() == 1
    bad = client.post(
        reverse("integrations:statement-upload"), {"file": SimpleUploadedFile("x.bin", b"\x00\x01")}
    )
    assert bad.status_code == 400
    assert StatementImport.objects.count() == 1  # the refused file left nothing
