from django.utils.translation import gettext_lazy as _

from kvartal.accounts.permissions import (
    CLIENTS_VIEW,
    SALES_DEAL,
    SALES_DESK,
    SALES_PROMOTIONS,
    SALES_VIEW,
)
from kvartal.core.nav import NavEntry, register

register(
    NavEntry("my-day", _("My day"), "sales:my-day", SALES_DEAL, order=5),
    NavEntry("clients", _("Clients"), "sales:client-list", CLIENTS_VIEW, order=40),
    NavEntry("holds", _("Holds"), "sales:hold-list", SALES_VIEW, order=70),
    NavEntry("deals", _("Deals"), "sales:deal-list", SALES_VIEW, order=80),
    NavEntry("cashier", _("Cashier"), "sales:cashier", SALES_DESK, order=90),
    NavEntry("promotions", _("Promotions"), "sales:promotion-list", SALES_PROMOTIONS, order=100),
)
