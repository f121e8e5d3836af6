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

SALES_VIEW = "sales.view"  # holds, deals, payments (rows scoped: own / team / all)
SALES_HOLD = "sales.hold"  # hold, extend, cancel, queue
SALES_DEAL = "sales.deal"  # open deals, move stages, buyers, schedule, BTI
SALES_APPROVE = "sales.approve"  # discounts above the threshold, terminations, long holds
SALES_PAY = "sales.pay"  # record received payments (the cashier's desk)
SALES_PROMOTE = "sales.promote"  # promotions
SALES_CONFIGURE = "sales.configure"  # hold terms, deal flows, sales settings

CLIENTS_VIEW = "clients.view"  # clients, leads, visits, tasks (rows scoped)
CLIENTS_EDIT = "clients.edit"  # create and change them, register visits, tasks
CLIENTS_PERSONAL = "clients.personal"  # see passport data unmasked
CLIENTS_EXPORT = "clients.export"  # export a client's personal data
CLIENTS_ERASE = "clients.erase"  # erase (anonymise) a client on request
CLIENTS_CONFIGURE = "clients.configure"  # channels, consent texts, who is on duty

ANALYTICS_VIEW = "analytics.view"  # reports, the dashboard, exports, shared links
ANALYTICS_BUILD = "analytics.build"  # the report builder's templates
ANALYTICS_CONFIGURE = "analytics.configure"  # which reports each director login sees

# Who sees every row rather than their own (managers) or their team's (sales heads).
SEE_ALL = "rows.all"

_READ_ALL = {INVENTORY_VIEW, SALES_VIEW, CLIENTS_VIEW, SEE_ALL}
CAPABILITIES: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset(
        {
            *_READ_ALL,
            INVENTORY_EDIT,
            INVENTORY_PRICE,
            ADMIN_SITE,
            SALES_HOLD,
            SALES_DEAL,
            SALES_APPROVE,
            SALES_PAY,
            SALES_PROMOTE,
            SALES_CONFIGURE,
            CLIENTS_EDIT,
            CLIENTS_PERSONAL,
            CLIENTS_EXPORT,
            CLIENTS_ERASE,
            CLIENTS_CONFIGURE,
            ANALYTICS_VIEW,
            ANALYTICS_BUILD,
            ANALYTICS_CONFIGURE,
        }
    ),
    Role.DIRECTOR: frozenset({*_READ_ALL, ANALYTICS_VIEW}),
    Role.SALES_HEAD: frozenset(
        {
            INVENTORY_VIEW,
            SALES_VIEW,
            CLIENTS_VIEW,
            SALES_HOLD,
            SALES_DEAL,
            SALES_APPROVE,
            SALES_PROMOTE,
            CLIENTS_EDIT,
            CLIENTS_PERSONAL,
            CLIENTS_EXPORT,
            ANALYTICS_VIEW,
            ANALYTICS_BUILD,
        }
    ),
    Role.SALES_MANAGER: frozenset(
        {
            INVENTORY_VIEW,
            SALES_VIEW,
            CLIENTS_VIEW,
            SALES_HOLD,
            SALES_DEAL,
            CLIENTS_EDIT,
            CLIENTS_PERSONAL,
        }
    ),
    Role.INVENTORY_KEEPER: frozenset({INVENTORY_VIEW, INVENTORY_EDIT, INVENTORY_PRICE}),
    Role.CASHIER: frozenset({INVENTORY_VIEW, SALES_VIEW, SALES_PAY, SEE_ALL}),
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


def visible_managers(user) -> frozenset[int] | None:
    """Row scoping: the ids of the managers whose rows ``user`` may see, or ``None`` for all.

    A sales head sees the members of the teams they head and themselves; anyone else without
    ``rows.all`` sees their own rows only. Querysets filter ``manager_id__in`` with this.
    """
    if has_capability(user, SEE_ALL):
        return None
    ids = {user.pk}
    if user.role == Role.SALES_HEAD:
        from .models import User

        ids |= set(User.objects.filter(team__head=user).values_list("pk", flat=True))
    return frozenset(ids)
