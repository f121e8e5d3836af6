"""Signals inventory sends for history rows written in bulk (``post_save`` does not fire for
``bulk_create``): higher apps (webhooks, feeds) listen without inventory knowing them."""

from django.dispatch import Signal

# sender: the history model (StatusChange, PriceChange, UnitChange); rows: the created rows.
history_written = Signal()
