"""The client's address, read correctly behind the company's reverse proxies.

``KVARTAL_TRUSTED_PROXIES`` lists the proxies' addresses or networks (comma separated). When
the request comes from one of them, the address is the right-most entry of
``X-Forwarded-For`` that is not itself a trusted proxy; otherwise it is ``REMOTE_ADDR`` —
so a visitor cannot choose their own address by sending the header.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(text: str) -> tuple:
    networks = []
    for item in text.split(","):
        item = item.strip()
        if item:
            networks.append(ipaddress.ip_network(item, strict=False))
    return tuple(networks)


def _trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    networks = _networks(getattr(settings, "KVARTAL_TRUSTED_PROXIES", ""))
    if not networks or not _trusted(remote, networks):
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for address in reversed([a for a in forwarded if a]):
        if not _trusted(address, networks):
            return address
    return remote
