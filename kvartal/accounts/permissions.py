"""THE role → capability table. Every view and endpoint checks one capability from here.

A capability is a string ``"<area>.<action>"``. Roles are in ``models.Role``. Superusers hold
every capability. Row scoping (who sees which rows) lives on the querysets, not here.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from .models import Role

INVENTORY_VIEW = "inventory.view"
INVENTORY_EDIT = "inventory.edit"
INVENTORY_PRICE = "inventory.set_price"
ADMIN_SITE = "admin.site"

CAPABILITIES: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset({INVENTORY_VIEW, INVENTORY_EDIT, INVENTORY_PRICE, ADMIN_SITE}),
    Role.DIRECTOR: frozenset({INVENTORY_VIEW}),
    Role.SALES_HEAD: frozenset({INVENTORY_VIEW}),
    Role.SALES_MANAGER: frozenset({INVENTORY_VIEW}),
    Role.INVENTORY_KEEPER: frozenset({INVENTORY_VIEW, INVENTORY_EDIT, INVENTORY_PRICE}),
}
ALL_CAPABILITIES = frozenset().union(*CAPABILITIES.values())


def capabilities_of(user) -> frozenset[str]:
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return ALL_CAPABILITIES
    return CAPABILITIES.get(user.role, frozenset())


def has_capability(user, capability: str) -> bool:
    return capability in capabilities_of(user)


def require(capability: str) -> Callable:
    """View decorator: sign-in required, then the capability, else 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not has_capability(request.user, capability):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.capability = capability
        return wrapped

    return decorator
