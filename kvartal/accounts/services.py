"""Writers for accounts: in-app notices."""

from django.conf import settings
from django.utils import timezone, translation

from kvartal.accounts.models import Notice, User
from kvartal.accounts.notices import render_message


def notice_send(
    *,
    user: User | None,
    text: str = "",
    url: str = "",
    message: str = "",
    args: dict | None = None,
    kind: str = "",
    at=None,
) -> Notice | None:
    """Leave an in-app notice for ``user`` (nothing when there is no user to tell).

    Pass ``message`` — the English text marked with ``gettext_noop`` — and its ``args`` so
    that each reader reads it in their own language; ``text`` (already rendered) is the old
    way and reads in the language it was written in."""
    if user is None:
        return None
    if message:
        with translation.override(settings.LANGUAGE_CODE):
            text = render_message(message, args or {})
    return Notice.objects.create(
        user=user,
        text=text[:300],
        url=url[:300],
        message=message,
        args=args or {},
        kind=kind,
        created_at=at or timezone.now(),
    )


def notices_mark_read(*, user: User, at=None) -> int:
    """Mark every unread notice of ``user`` read; the number marked."""
    from django.utils import timezone

    return Notice.objects.filter(user=user, read_at__isnull=True).update(
        read_at=at or timezone.now()
    )
