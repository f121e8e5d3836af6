"""What every portal writer shares: the spec shape and small element helpers."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from lxml import etree

from kvartal.inventory.models import UnitKind


@dataclass(frozen=True)
class PortalSpec:
    """A portal: which unit kinds it lists, its rule table (rule → severity; ``None`` = not
    checked), its description limit and its document writer.

    ``write(xf, offers, context)`` writes the whole document to an ``lxml.etree.xmlfile``;
    ``offers`` yields only offers without errors, in the stable order of ``offers.offers``.
    """

    code: str
    kinds: frozenset[str]
    rules: dict[str, str | None]
    description_max: int
    write: Callable
    content_type: str = "application/xml"
    notes: str = ""
    extra: dict = field(default_factory=dict)


def sub(parent, name: str, value=None, **attrs):
    """A child element with text; ``None`` or "" values are left out (portals reject empty
    elements)."""
    if value is None or value == "":
        return None
    el = etree.SubElement(parent, name, **attrs)
    el.text = text(value)
    return el


def text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        t = f"{value:f}"
        return t.rstrip("0").rstrip(".") if "." in t else t
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def whole(value: Decimal) -> int:
    return int(value.quantize(Decimal(1)))


def phone_digits(phone: str) -> str:
    """The ten digits after +7."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits[-10:]


def write_flat_list(xf, root: str, offers: Iterable, element: Callable, **root_attrs) -> None:
    """A document of one element per offer under one root."""
    with xf.element(root, **root_attrs):
        for offer in offers:
            xf.write(element(offer))


APARTMENT = UnitKind.APARTMENT
PARKING = UnitKind.PARKING
COMMERCIAL = UnitKind.COMMERCIAL
