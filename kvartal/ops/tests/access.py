"""The operations pages in the URL × role table (collected by accounts/tests/test_access.py).
The others (backups, jobs) are walked from the capability their views require."""

from kvartal.accounts.models import Role

EVERYONE = frozenset(r.value for r in Role)

PAGES: dict = {
    # the area's address: the jobs for administrators, the notification channels for others
    "ops:home": (EVERYONE, None, "redirect"),
    # each user's own choice of notification channels
    "ops:notification-settings": (EVERYONE, None),
}


def build_objects(*, persona, unit) -> dict:
    return {}
