"""The clients pages in the URL × role table (collected by accounts/tests/test_access.py)."""

from kvartal.accounts.models import Role

ALL = frozenset(r.value for r in Role)

PAGES: dict = {}


def build_objects(*, persona, unit) -> dict:
    return {}
