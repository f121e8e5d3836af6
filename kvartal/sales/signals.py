"""Sales events that higher apps follow (the agencies app's commissions), so that they need
no edits of the sales services.

Each is sent by its service inside the service's transaction, after the service's own rows
are written: a receiver writes its rows in the same transaction, and a receiver's error undoes
the whole operation (nothing half-recorded). Receivers must be quick and must not call back
into the sales services.

- ``payment_recorded(deal, payment, by)``: money received (``payment_record``);
- ``deal_moved(deal, source, target, by, at)``: a deal changed stage (``deal_move``), a
  termination included (``target.is_termination``).
"""

from django.dispatch import Signal

payment_recorded = Signal()
deal_moved = Signal()
