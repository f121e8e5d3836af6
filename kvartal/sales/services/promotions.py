"""Writers of promotions (``sales.promote``: the sales head and the administrator).

A promotion has a period, a discount (percent, fixed amount or a price per m²), an optional
price floor and the units it covers (``kvartal.sales.promotions_rules.promotion_applies``).
``promotion_save`` checks the figures (``promotion_check``, also used by the form) and
raises ``ValidationError`` keyed by field; when it raises, nothing was changed.
"""

import re
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from kvartal import audit
from kvartal.inventory.models import Building, Project, Unit, UnitKind

from ..models import Promotion


def promotion_check(promotion: Promotion) -> None:
    """The rules of a promotion's figures: a period in order, a positive value, a percent
    below 100, a positive price floor and room counts between 0 and 20."""
    errors: dict[str, str] = {}
    if promotion.starts_on and promotion.ends_on and promotion.ends_on < promotion.starts_on:
        errors["ends_on"] = _("The promotion ends before it starts.")
    value = promotion.value
    if value is not None:
        if value <= 0:
            errors["value"] = _("The discount must be greater than zero.")
        elif promotion.discount_kind == Promotion.DiscountKind.PERCENT and value >= 100:
            errors["value"] = _("A percent discount must be below 100 %.")
    if promotion.min_price is not None and promotion.min_price <= 0:
        errors["min_price"] = _("The minimum price must be greater than zero, or left empty.")
    rooms = promotion.rooms or []
    if not isinstance(rooms, list) or any(
        not isinstance(r, int) or isinstance(r, bool) or not 0 <= r <= 20 for r in rooms
    ):
        errors["rooms"] = _("Room counts are whole numbers from 0 (studio) to 20.")
    kinds = promotion.unit_kinds or []
    if not isinstance(kinds, list) or any(k not in UnitKind.values for k in kinds):
        errors["unit_kinds"] = _("Unit kinds are apartment, commercial, storage or parking.")
    if errors:
        raise ValidationError(errors)


def parse_rooms(text: str) -> list[int]:
    """``"0, 1 2"`` → ``[0, 1, 2]``; raises ``ValidationError`` for anything else."""
    parts = [p for p in re.split(r"[\s,;]+", text.strip()) if p]
    if not all(p.isdigit() for p in parts):
        raise ValidationError(
            {"rooms": _("List room counts as whole numbers, e.g. 0, 1 (0 = studio).")}
        )
    return sorted({int(p) for p in parts})


def resolve_units(
    text: str, *, projects: Iterable[Project] = (), buildings: Iterable[Building] = ()
) -> list[Unit]:
    """Units named by number or code (``12``, ``1.5.3``), separated by commas, spaces or
    new lines, looked up within the chosen buildings or projects when there are any.

    Raises ``ValidationError`` on the ``units`` field naming the tokens not found and the
    ones found in several buildings (choose a building to tell them apart)."""
    tokens = list(dict.fromkeys(t for t in re.split(r"[\s,;]+", text.strip()) if t))
    if not tokens:
        return []
    units = Unit.objects.filter(Q(number__in=tokens) | Q(code__in=tokens))
    buildings, projects = list(buildings), list(projects)
    if buildings:
        units = units.filter(building__in=buildings)
    elif projects:
        units = units.filter(building__project__in=projects)
    found: dict[str, list[Unit]] = {t: [] for t in tokens}
    for unit in units.only("pk", "number", "code", "building_id"):
        for token in {unit.number, unit.code} & set(tokens):
            found[token].append(unit)
    missing = [t for t, hits in found.items() if not hits]
    ambiguous = [t for t, hits in found.items() if len(hits) > 1]
    messages = []
    if missing:
        messages.append(_("Not found: %(units)s.") % {"units": ", ".join(missing)})
    if ambiguous:
        messages.append(
            _("Found in several buildings: %(units)s — choose the building above.")
            % {"units": ", ".join(ambiguous)}
        )
    if messages:
        raise ValidationError({"unit_list": " ".join(messages)})
    return list({hits[0].pk: hits[0] for hits in found.values()}.values())


@transaction.atomic
@audit.service
def promotion_save(
    *,
    promotion: Promotion,
    by,
    projects: Iterable[Project] = (),
    buildings: Iterable[Building] = (),
    units: Iterable[Unit] = (),
) -> Promotion:
    """Create or change a promotion and the lists of what it covers (empty lists: every
    unit). Raises ``ValidationError`` (see ``promotion_check``)."""
    promotion_check(promotion)
    if promotion.pk is None:
        promotion.created_by = by
    promotion.value = Decimal(promotion.value)
    promotion.full_clean(exclude=["created_by"])
    promotion.save()
    promotion.projects.set(projects)
    promotion.buildings.set(buildings)
    promotion.units.set(units)
    return promotion
