"""Putting a unit in a sales status in inventory's own tests, without the sales app.

The public status services (``unit_set_status``, ``units_bulk_set_status``) move units by hand
only between "not for sale" and "available"; a hold or a deal moves them through
``unit_set_sales_state`` under the unit's lock. These tests do what those services do to the
unit, through the same door.
"""

from django.db import transaction

from kvartal.inventory.services import unit_lock, unit_set_sales_state


def set_sales_state(*, unit, status, by, hold_until=None, reason="", at=None):
    with transaction.atomic():
        locked = unit_lock(unit_id=unit.pk)
        return unit_set_sales_state(
            unit=locked, status=status, by=by, hold_until=hold_until, reason=reason, at=at
        )
