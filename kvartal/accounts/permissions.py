"""THE role → capability table. Every view and endpoint checks one capability from here.

A capability is a string ``"<area>.<action>"``. Roles are in ``models.Role``. Superusers hold
every capability. Row scoping (who sees which rows) lives on the querysets, not here.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from .models import Role

INVENTORY_VIEW = "inventory.view"
INVENTORY_EDIT = "inventory.edit"
INVENTORY_PRICE = "inventory.set_price"
ADMIN_SITE = "admin.site"

SALES_VIEW = "sales.view"  # holds, deals, payments (rows scoped: own / team / all)
SALES_HOLD = "sales.hold"  # hold, extend, cancel, queue
SALES_DEAL = "sales.deal"  # open deals, move stages, buyers, schedule, BTI
SALES_APPROVE = "sales.approve"  # discounts above the threshold, terminations, long holds
SALES_PAY = "sales.pay"  # record received payments
SALES_DESK = "sales.desk"  # the cashier's desk: deals owing money (rows scoped)
SALES_PROMOTE = "sales.promote"  # create and change promotions
SALES_PROMOTIONS = "sales.promotions"  # the promotion list (who sells or promotes)
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

PRICING_VIEW = "pricing.view"  # price lists, batches, the plan, recommendations
PRICING_PROPOSE = "pricing.propose"  # prepare price lists and batches, import and export prices
PRICING_APPROVE = "pricing.approve"  # approve, schedule, reject, roll back (by PricingSettings)
PRICING_CONFIGURE = "pricing.configure"  # the sales plan and the dynamic pricing rules
CALLS_PANEL = "calls.panel"  # the call-centre panel: screen pop, the caller's context, callbacks
CALLS_CONFIGURE = "calls.configure"  # phone systems, extensions, scripts, the summary model
FEEDS_MANAGE = "feeds.manage"  # listing-portal feeds: scope, prices, ids, publishing

AUDIT_VIEW = "audit.view"  # the audit log, its export, sign-in lockouts (lifting them)
INTEGRATIONS = "integrations.manage"  # API tokens, webhooks
SHOWCASE_MANAGE = "showcase.manage"  # the public showcase: what it shows, terms, experiments

AGENCY_CABINET = "agencies.cabinet"  # an agent's cabinet: inventory, fixations, hold requests
AGENCIES_MANAGE = "agencies.manage"  # the desk: fixations, disputes decided (rows in scope)
COMMISSIONS_SETTLE = "commissions.settle"  # commission rules, statements, paying them
DOCUMENTS_GENERATE = "documents.generate"  # a deal's documents generated and signed
DOCUMENTS_CONFIGURE = "documents.configure"  # templates, the signing certificate

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
            SALES_DESK,
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
            PRICING_VIEW,
            PRICING_PROPOSE,
            PRICING_APPROVE,
            PRICING_CONFIGURE,
            CALLS_PANEL,
            CALLS_CONFIGURE,
            FEEDS_MANAGE,
            AUDIT_VIEW,
            INTEGRATIONS,
            AGENCIES_MANAGE,
            COMMISSIONS_SETTLE,
            DOCUMENTS_GENERATE,
            DOCUMENTS_CONFIGURE,
            SHOWCASE_MANAGE,
        }
    ),
    # Approves bulk price changes when the pricing settings name the director.
    Role.DIRECTOR: frozenset(
        {*_READ_ALL, SALES_DESK, ANALYTICS_VIEW, PRICING_VIEW, PRICING_APPROVE}
    ),
    Role.SALES_HEAD: frozenset(
        {
            INVENTORY_VIEW,
            SALES_VIEW,
            CLIENTS_VIEW,
            SALES_HOLD,
            SALES_DEAL,
            SALES_APPROVE,
            SALES_DESK,
            SALES_PROMOTE,
            CLIENTS_EDIT,
            CLIENTS_PERSONAL,
            CLIENTS_EXPORT,
            ANALYTICS_VIEW,
            ANALYTICS_BUILD,
            PRICING_VIEW,
            PRICING_PROPOSE,
            PRICING_APPROVE,
            PRICING_CONFIGURE,
            CALLS_PANEL,
            AGENCIES_MANAGE,
            DOCUMENTS_GENERATE,
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
            CALLS_PANEL,
            DOCUMENTS_GENERATE,
        }
    ),
    Role.INVENTORY_KEEPER: frozenset(
        {INVENTORY_VIEW, INVENTORY_EDIT, INVENTORY_PRICE, PRICING_VIEW, PRICING_PROPOSE}
    ),
    Role.CASHIER: frozenset({INVENTORY_VIEW, SALES_VIEW, SALES_PAY, SALES_DESK, SEE_ALL}),
    # Reads every deal and its money, settles commissions (the agencies app adds its own).
    Role.ACCOUNTANT: frozenset(
        {INVENTORY_VIEW, SALES_VIEW, SALES_DESK, SEE_ALL, ANALYTICS_VIEW, COMMISSIONS_SETTLE}
    ),
    # Any operator carries on any caller's context: no fixed owners in the call centre.
    Role.OPERATOR: frozenset(
        {INVENTORY_VIEW, CLIENTS_VIEW, CLIENTS_EDIT, SALES_VIEW, SALES_HOLD, SEE_ALL, CALLS_PANEL}
    ),
    Role.MARKETER: frozenset(
        {INVENTORY_VIEW, SALES_PROMOTE, ANALYTICS_VIEW, FEEDS_MANAGE, PRICING_VIEW, SHOWCASE_MANAGE}
    ),
    # An agency's agent works only in the agency cabinet (the agencies app's capabilities).
    Role.AGENCY_PARTNER: frozenset({AGENCY_CABINET}),
}
# Whoever sells (reads sales) or promotes reads the promotion list.
CAPABILITIES = {
    role: caps | {SALES_PROMOTIONS} if caps & {SALES_VIEW, SALES_PROMOTE} else caps
    for role, caps in CAPABILITIES.items()
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


def area_home(*pages: tuple[str | None, str]) -> Callable:
    """The view of an area's bare address (``/app/agencies/``): sign-in required, then on to
    the first of ``pages`` — (capability, URL name); ``None``: any signed-in user — that the
    user may open; 403 when none. An agent typing the area's address lands in the cabinet,
    a sales head at the partners' desk."""

    @login_required
    def view(request):
        for capability, name in pages:
            if capability is None or has_capability(request.user, capability):
                return redirect(name)
        raise PermissionDenied

    view.capabilities = frozenset(capability for capability, _name in pages)
    return view


# --- shared report templates ------------------------------------------------------------------
# A saved report (analytics' ``ReportTemplate``: ``owner_id`` and ``roles()``) opens for its
# owner, the roles it is shared with, and those who configure analytics; only its owner and
# those who configure analytics change it.


def may_open_report_template(user, template) -> bool:
    return has_capability(user, ANALYTICS_VIEW) and (
        template.owner_id == user.pk
        or user.role in template.roles()
        or has_capability(user, ANALYTICS_CONFIGURE)
    )


def may_change_report_template(user, template) -> bool:
    return has_capability(user, ANALYTICS_VIEW) and (
        template.owner_id == user.pk or has_capability(user, ANALYTICS_CONFIGURE)
    )
