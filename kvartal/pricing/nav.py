from django.utils.translation import gettext_lazy as _

from kvartal.accounts.permissions import INVENTORY_PRICE, PRICING_VIEW, has_capability
from kvartal.core.nav import NavEntry, register

# "Prices" opens the price lists for those who read them; the others who set prices keep
# inventory's bulk change under the same entry.
register(
    NavEntry("prices", _("Prices"), "pricing:index", PRICING_VIEW, order=30),
    NavEntry(
        "prices-bulk",
        _("Prices"),
        "inventory:price-bulk",
        INVENTORY_PRICE,
        order=30,
        visible=lambda user: not has_capability(user, PRICING_VIEW),
        nav="prices",
    ),
)
