"""The settings read from the environment."""

import pytest

from kvartal.settings import public_url_from_env

NAMES = ("KVARTAL_PUBLIC_URL", "KVARTAL_SITE_URL", "KVARTAL_SHOWCASE_URL")


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, ""),
        ({"KVARTAL_PUBLIC_URL": "https://crm.example.ru/"}, "https://crm.example.ru"),
        ({"KVARTAL_SITE_URL": "https://old.example.ru"}, "https://old.example.ru"),
        ({"KVARTAL_SHOWCASE_URL": "https://flats.example.ru/"}, "https://flats.example.ru"),
        (
            {"KVARTAL_PUBLIC_URL": "https://crm.example.ru", "KVARTAL_SITE_URL": "https://x.ru"},
            "https://crm.example.ru",
        ),
    ],
)
def test_one_public_address_with_the_old_names_as_aliases(monkeypatch, env, expected):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert public_url_from_env() == expected
