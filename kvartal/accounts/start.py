"""Each role's start page after sign-in (issue 12 §6).

The table names URL names; a higher app may point a role elsewhere when it starts
(``set_start_page``) — the call centre points operators to its call panel. A page that does
not exist (its app not installed) falls back along the list, then to the projects.
"""

from django.urls import NoReverseMatch, reverse

from .models import Role

START_PAGES: dict[str, list[str]] = {
    Role.ADMIN: ["analytics:dashboard"],
    Role.DIRECTOR: ["analytics:dashboard"],
    Role.SALES_HEAD: ["sales:my-day"],
    Role.SALES_MANAGER: ["sales:my-day"],
    Role.CASHIER: ["sales:cashier"],
    Role.ACCOUNTANT: ["sales:cashier"],
    Role.INVENTORY_KEEPER: ["inventory:home"],
    Role.OPERATOR: ["sales:client-list"],
    Role.MARKETER: ["sales:promotion-list"],
    Role.AGENCY_PARTNER: ["agencies:cabinet", "agencies:index"],
}
FALLBACK = "inventory:home"


def set_start_page(role: str, *url_names: str) -> None:
    """Point ``role`` to the first of ``url_names`` that exists (called from an app's
    ``AppConfig.ready``)."""
    START_PAGES[role] = list(url_names)


def start_url(user) -> str:
    """Where ``user`` lands after signing in."""
    for name in START_PAGES.get(user.role, []):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return reverse(FALLBACK)
