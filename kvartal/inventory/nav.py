from django.utils.translation import gettext_lazy as _

from kvartal.accounts.permissions import INVENTORY_PRICE, INVENTORY_VIEW
from kvartal.core.nav import NavEntry, register

register(
    NavEntry("projects", _("Projects"), "inventory:home", INVENTORY_VIEW, order=10),
    NavEntry("catalogue", _("Unit search"), "inventory:unit-list", INVENTORY_VIEW, order=20),
    NavEntry("prices", _("Prices"), "inventory:price-bulk", INVENTORY_PRICE, order=30),
)
