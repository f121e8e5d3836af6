"""Unit types and segments, as every report names them (``analytics.base``)."""

from kvartal.analytics.base import UNIT_TYPE_LABELS, UNIT_TYPES, unit_type, unit_type_q

UNIT_TYPE_CHOICES = UNIT_TYPES

__all__ = ["UNIT_TYPES", "UNIT_TYPE_CHOICES", "UNIT_TYPE_LABELS", "unit_type", "unit_type_q"]
