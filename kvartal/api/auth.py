"""Integration tokens: who is calling, from where, how often, and what they may do.

``Authorization: Bearer kv_…``. A token acts as its user (one role of the permission table)
narrowed to its scopes; row scoping is that user's (``for_user``). The rate limit is a
fixed window per token in the shared cache (the database cache by default, Redis at scale).
"""

import ipaddress
import time

from django.core.cache import cache
from django.utils import timezone
from ninja.security import HttpBearer

from kvartal.accounts.permissions import has_capability
from kvartal.core.net import client_address

from .models import SCOPES, ApiToken, hash_key
from .problems import Problem

WINDOW = 60


def _allowed(token: ApiToken, address: str) -> bool:
    if not token.addresses.strip():
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for item in token.addresses.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            if ip in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            continue
    return False


def _over_rate(token: ApiToken) -> int:
    """0 when under the limit, else the seconds until the window ends."""
    now = int(time.time())
    window = now - now % WINDOW
    key = f"api-rate:{token.key_hash[:20]}:{window}"
    if cache.add(key, 1, timeout=WINDOW + 5):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=WINDOW + 5)
            count = 1
    return 0 if count <= token.rate else window + WINDOW - now


class TokenAuth(HttpBearer):
    def authenticate(self, request, key):
        token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=hash_key(key or ""), is_active=True, user__is_active=True)
            .first()
        )
        if token is None:
            raise Problem(401, "token_invalid", "The token is missing, unknown or revoked.")
        if not _allowed(token, client_address(request)):
            raise Problem(403, "address_refused", "This token is not allowed from this address.")
        wait = _over_rate(token)
        if wait:
            raise Problem(
                429,
                "rate_limited",
                f"More than {token.rate} requests a minute; retry in {wait} s.",
                headers={"Retry-After": str(wait)},
            )
        if token.last_used_at is None or (timezone.now() - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        request.user = token.user
        request.api_token = token
        return token


token_auth = TokenAuth()


def need(request, capability: str) -> None:
    """Refuse (403) unless the token's scopes and its user's role both allow ``capability``."""
    token = request.api_token
    scoped = set().union(*(SCOPES[s][1] for s in token.scopes if s in SCOPES))
    if capability not in scoped:
        raise Problem(403, "scope_missing", f"The token's scopes do not allow {capability}.")
    if not has_capability(token.user, capability):
        raise Problem(403, "forbidden", f"The token's user may not {capability}.")
