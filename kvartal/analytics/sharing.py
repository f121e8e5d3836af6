"""Links to a live report: signed, expiring, read-only; every opening is logged.

The address carries the link's random token signed with the site's secret
(``django.core.signing``): an address changed by hand fails the signature and is refused
before the database is asked. The expiry and revocation live on the row, so an
administrator can end a link early.
"""

from datetime import timedelta

from django.core import signing
from django.utils import timezone

from .models import SharedLink, SharedLinkOpen

SALT = "kvartal.analytics.share"
MAX_DAYS = 90


class LinkRefused(Exception):
    """Why a shared address shows no report: ``reason`` is damaged, unknown, expired, revoked."""

    def __init__(self, reason: str, link: SharedLink | None = None):
        super().__init__(reason)
        self.reason = reason
        self.link = link


def sign(link: SharedLink) -> str:
    return signing.Signer(salt=SALT).sign(link.token)


def link_create(*, report: str, query: str, title: str, days: int, by, template=None) -> SharedLink:
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(days)
    return SharedLink.objects.create(
        report=report,
        template=template,
        query=query[:2000],
        title=title[:300],
        created_by=by,
        expires_at=timezone.now() + timedelta(days=days),
    )


def link_revoke(link: SharedLink) -> None:
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])


def link_open(signed: str, *, address=None, user_agent: str = "", user=None) -> SharedLink:
    """The link behind a signed address, logging the opening; ``LinkRefused`` when it
    cannot be shown (the opening of a known link is logged with the refusal too)."""
    try:
        token = signing.Signer(salt=SALT).unsign(signed)
    except signing.BadSignature:
        raise LinkRefused("damaged") from None
    link = SharedLink.objects.filter(token=token).first()
    if link is None:
        raise LinkRefused("unknown")
    outcome = "shown"
    if link.revoked_at is not None:
        outcome = "revoked"
    elif link.expires_at <= timezone.now():
        outcome = "expired"
    SharedLinkOpen.objects.create(
        link=link,
        address=address,
        user_agent=(user_agent or "")[:300],
        user=user if user is not None and user.is_authenticated else None,
        outcome=outcome,
    )
    if outcome != "shown":
        raise LinkRefused(outcome, link)
    return link
