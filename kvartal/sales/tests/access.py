"""The sales pages in the URL × role table (collected by accounts/tests/test_access.py).

``PAGES``: url name → (roles that may open it, key in the objects built below or None).
``build_objects(persona, unit)``: kwargs for those keys; rows belong to ``persona`` when the
persona is a manager, so row-scoped pages open for their owner.
"""

from kvartal.accounts.models import Role

ALL = frozenset(r.value for r in Role)
SALES = frozenset({Role.ADMIN, Role.DIRECTOR, Role.SALES_HEAD, Role.SALES_MANAGER, Role.CASHIER})

PAGES: dict = {
    # --- holds ---
    # --- deals ---
    # --- payments, promotions, search ---
}


def build_objects(*, persona, unit) -> dict:
    found: dict = {}
    # --- holds ---
    # --- deals ---
    # --- payments, promotions, search ---
    return found
