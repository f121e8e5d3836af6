import pytest
from django.core.exceptions import ValidationError

from kvartal.clients.normalize import format_phone, normalize_email, normalize_phone


@pytest.mark.parametrize(
    "raw",
    [
        "8 (912) 345-67-89",
        "+7 912 345 67 89",
        "79123456789",
        "9123456789",
        "+7(912)345-67-89",
        " 8-912-345-67-89 ",
        "8 912 345-67-89 доб. 12",
    ],
)
def test_russian_phones_in_any_spelling_become_e164(raw):
    assert normalize_phone(raw) == "+79123456789"


def test_foreign_phone_needs_its_plus():
    assert normalize_phone("+86 138 0013 8000") == "+8613800138000"
    with pytest.raises(ValidationError):
        normalize_phone("86 138 0013 8000")


@pytest.mark.parametrize("raw", ["12345", "+7 912 345", "phone me", "8 (912) 345-67-89-00", "+1"])
def test_malformed_phones_are_refused_with_a_message(raw):
    with pytest.raises(ValidationError) as error:
        normalize_phone(raw)
    assert raw in error.value.messages[0]


def test_empty_stays_empty():
    assert normalize_phone("  ") == ""
    assert normalize_email("") == ""


def test_emails_are_trimmed_and_lower_cased_and_bad_ones_refused():
    assert normalize_email("  Anna.Petrova@Mail.RU ") == "anna.petrova@mail.ru"
    for bad in ("anna@", "anna at mail.ru", "@mail.ru"):
        with pytest.raises(ValidationError):
            normalize_email(bad)


def test_display_format():
    assert format_phone("+79123456789") == "+7 912 345-67-89"
    assert format_phone("+8613800138000") == "+8613800138000"
