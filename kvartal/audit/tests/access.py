"""The audit pages in the URL × role table (collected by accounts/tests/test_access.py)."""

from kvartal.accounts.models import Role

ADMINS = frozenset({Role.ADMIN})  # audit.view

PAGES: dict = {
    "audit:event-list": (ADMINS, None),
    "audit:event-export": (ADMINS, None),
    "audit:lockout-list": (ADMINS, None),
    "audit:lockout-lift": (ADMINS, None),
}


def build_objects(*, persona, unit) -> dict:
    return {}
