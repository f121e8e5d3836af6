"""Who acts and from where, for the rows written while serving one request."""

import ipaddress
from contextvars import ContextVar

_actor: ContextVar = ContextVar("audit_actor", default=None)
_address: ContextVar = ContextVar("audit_address", default=None)
# The door a change came through (see ``Door``); outside a request it is a job's or a
# command's unless a caller names it (``audit.door("import")``).
_door: ContextVar = ContextVar("audit_door", default=None)

# The first matching prefix of the request's path names the door (the showcase owns "/").
DOOR_PREFIXES = (
    ("/api/", "api"),
    ("/app/calls/", "callcentre"),
    ("/app/agencies/cabinet/", "agency"),
    ("/app/pricing/import/", "import"),
    ("/app/leads/import/", "import"),
    ("/admin/", "admin"),
    ("/app/", "page"),
    ("/accounts/", "page"),
    ("/shared/", "page"),
    ("/", "showcase"),
)


def current_actor():
    return _actor.get()


def current_address() -> str | None:
    return _address.get()


def current_door() -> str:
    return _door.get() or "job"


def door_of(path: str) -> str:
    for prefix, door in DOOR_PREFIXES:
        if path.startswith(prefix):
            return door
    return "page"


class AuditContextMiddleware:
    """Remembers the signed-in user and the client's address (behind trusted proxies, see
    ``kvartal.core.net.client_address``) while a request is served."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from kvartal.core.net import client_address

        user = getattr(request, "user", None)
        actor_token = _actor.set(user if user is not None and user.is_authenticated else None)
        address_token = _address.set(_valid(client_address(request)))
        door_token = _door.set(door_of(request.path_info))
        try:
            return self.get_response(request)
        finally:
            _actor.reset(actor_token)
            _address.reset(address_token)
            _door.reset(door_token)


def _valid(address: str | None) -> str | None:
    """Only a real address reaches the log (a forwarded header may carry anything)."""
    try:
        return str(ipaddress.ip_address(address or ""))
    except ValueError:
        return None
