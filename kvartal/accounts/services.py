"""Writers for accounts: in-app notices."""

from kvartal.accounts.models import Notice, User


def notice_send(*, user: User | None, text: str, url: str = "") -> Notice | None:
    """Leave an in-app notice for ``user`` (nothing when there is no user to tell)."""
    if user is None:
        return None
    return Notice.objects.create(user=user, text=text[:300], url=url[:300])
