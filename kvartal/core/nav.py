"""The main menu, built from one list: each app registers its entries in its own ``nav.py``.

An app adds a menu entry without touching ``base.html``::

    # kvartal/<app>/nav.py
    from django.utils.translation import gettext_lazy as _

    from kvartal.accounts.permissions import SOME_CAPABILITY
    from kvartal.core.nav import NavEntry, register

    register(NavEntry("pricing", _("Pricing"), "pricing:index", SOME_CAPABILITY, order=35))

``CoreConfig.ready`` imports every installed app's ``nav`` module. An entry shows to users
holding its ``capability`` (and passing ``visible``, when given); it is marked active on pages
whose context has ``nav`` equal to its ``key``. Entries are sorted by ``order`` (the core
apps use steps of 10: projects 10 … reports 120; administration is last).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse


@dataclass(frozen=True)
class NavEntry:
    key: str  # the page's ``nav`` context value that marks this entry active
    label: str  # a lazy translation
    url_name: str  # reversed without arguments
    capability: str | None  # None: every signed-in user
    order: int = 500
    visible: Callable | None = None  # an extra condition on the user, e.g. is_staff
    nav: str | None = None  # the ``nav`` that marks it active, when not ``key``


MENU: dict[str, NavEntry] = {}


def register(*entries: NavEntry) -> None:
    """Add entries to the menu. Registering a key again replaces its entry: a higher app
    may take over a lower one's entry (pricing's price lists in place of the bulk change)."""
    for entry in entries:
        MENU[entry.key] = entry


@dataclass(frozen=True)
class MenuItem:
    key: str
    label: str
    url: str


# Menu URLs take no arguments: each is reversed once per URL configuration and prefix (a
# dozen reversals cost every page about as much as its session look-up).
_URLS: dict[tuple[str, str, str], str] = {}


def menu_for(user, capabilities) -> list[MenuItem]:
    """The entries ``user`` (holding ``capabilities``) sees, in menu order."""
    if user is None or not user.is_authenticated:
        return []
    where = (get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)

    def url(name: str) -> str:
        found = _URLS.get(key := (name, *where))
        if found is None:
            found = _URLS[key] = reverse(name)
        return found

    return [
        MenuItem(entry.nav or entry.key, entry.label, url(entry.url_name))
        for entry in sorted(MENU.values(), key=lambda e: (e.order, e.key))
        if (entry.capability is None or entry.capability in capabilities)
        and (entry.visible is None or entry.visible(user))
    ]
