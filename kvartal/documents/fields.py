"""The merge fields: every deal, unit, buyer, price, promotion, schedule and company field a
template may name, as plain strings (the same dictionary is stored with the document)."""

from decimal import Decimal

from django.utils import timezone

from kvartal.core.models import CompanyProfile
from kvartal.sales.models import Deal

from .models import DocumentSettings
from .words import rubles_in_words


def money(value) -> str:
    """``1234567.8`` → ``"1 234 567,80"`` (a narrow no-break space between thousands)."""
    value = Decimal(value or 0).quantize(Decimal("0.01"))
    whole, _dot, frac = f"{abs(value):.2f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return ("-" if value < 0 else "") + "\u00a0".join(groups) + "," + frac


def _date(value) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


def _text(value) -> str:
    return "" if value is None else str(value)


def _amount(prefix: str, value) -> dict:
    return {prefix: money(value), f"{prefix}_words": rubles_in_words(Decimal(value or 0))}


def _unit(unit) -> dict:
    return {
        "kind": unit.get_kind_display(),
        "number": unit.number,
        "code": unit.code,
        "project": unit.building.project.name,
        "building": unit.building.name,
        "address": unit.building.construction_address,
        "postal_address": unit.building.postal_address,
        "cadastral_number": unit.building.cadastral_number,
        "section": _text(unit.section.number),
        "floor": unit.floor.label,
        "rooms": _text(unit.rooms),
        "total_area": _text(unit.total_area),
        "living_area": _text(unit.living_area),
        "kitchen_area": _text(unit.kitchen_area),
        "finishing": unit.get_finishing_display() if unit.finishing else "",
        **_amount("price", unit.price),
    }


def deal_fields(deal: Deal) -> dict:
    """The merge fields of ``deal`` (read once; a few queries)."""
    deal = (
        Deal.objects.select_related(
            "unit__building__project",
            "unit__section",
            "unit__floor",
            "promotion",
            "manager",
            "agency",
        )
        .prefetch_related("buyers__client", "schedule")
        .get(pk=deal.pk)
    )
    unit = deal.unit
    # Every unit of the deal (an apartment with its parking space and storage room), the
    # main one first, each with its own figures in the deal.
    rows = sorted(deal.current_units(), key=lambda r: r.unit_id != deal.unit_id)
    units = [
        {
            **_unit(row.unit),
            **_amount("list_price", row.list_price),
            **_amount("discount", row.promotion_discount + row.manual_discount),
            **_amount("deal_price", row.price),
            "area": _text(row.area),
        }
        for row in rows
    ]
    company = CompanyProfile.current()
    details = DocumentSettings.current()
    buyers = []
    for part in deal.buyers.all():
        c = part.client
        buyers.append(
            {
                "name": c.display_name,
                "last_name": c.last_name,
                "first_name": c.first_name,
                "middle_name": c.middle_name,
                "company_name": c.company_name,
                "inn": c.inn,
                "birth_date": _date(c.birth_date),
                "phone": c.phone,
                "email": c.email,
                "passport_number": c.passport_number or "",
                "passport_issued_by": c.passport_issued_by or "",
                "passport_issued_on": c.passport_issued_on or "",
                "passport_code": c.passport_code or "",
                "registration_address": c.registration_address or "",
                "address": c.address,
                "share": f"{part.share_numerator}/{part.share_denominator}",
            }
        )
    schedule = [
        {
            "due_date": _date(line.due_date),
            **_amount("amount", line.amount),
            "kind": line.get_kind_display(),
            "payer": line.get_payer_display(),
        }
        for line in deal.schedule.all()
    ]
    return {
        "today": _date(timezone.localdate()),
        "company": {
            "name": company.name,
            "legal_name": company.legal_name or company.name,
            "phone": company.phone,
            "website": company.website,
            "inn": details.inn,
            "kpp": details.kpp,
            "ogrn": details.ogrn,
            "address": details.address,
            "bank_details": details.bank_details,
            "signatory": details.signatory,
            "signatory_position": details.signatory_position,
        },
        "deal": {
            "number": deal.number,
            "date": _date(timezone.localtime(deal.created_at)),
            "contract_type": deal.get_contract_type_display(),
            "payment_method": deal.get_payment_method_display(),
            "bank": deal.bank,
            "programme": deal.programme,
            **_amount("list_price", deal.list_price),
            **_amount("promotion_discount", deal.promotion_discount),
            **_amount("manual_discount", deal.manual_discount),
            **_amount("price", deal.price),
            **_amount("price_per_m2", deal.price_per_m2),
            "area": _text(deal.area),
            "bti_area": _text(deal.bti_area),
            **_amount("bti_adjustment", deal.bti_adjustment),
            **_amount("total_due", deal.total_due),
            "signed_on": _date(deal.signed_on),
            "registration_number": deal.registration_number,
            "registration_date": _date(deal.registration_date),
            "act_date": _date(deal.act_date),
            "stage": deal.stage.label,
            "manager": str(deal.manager),
            "agency": _text(deal.agency),
        },
        "unit": _unit(unit),
        "units": units,
        "buyer": buyers[0] if buyers else {},
        "buyers": buyers,
        "promotion": {
            "name": deal.promotion.name if deal.promotion else "",
            **_amount("discount", deal.promotion_discount),
        },
        # Every promotion applied, on which unit, how much (conditional ones included).
        "promotions": [
            {
                "name": a.promotion.name,
                "condition": a.promotion.get_condition_display() if a.promotion.condition else "",
                "unit": str(a.deal_unit.unit),
                **_amount("discount", a.amount),
            }
            for a in deal.applied_promotions.select_related("promotion", "deal_unit__unit")
        ],
        "schedule": schedule,
        **_amount("schedule_total", sum((line.amount for line in deal.schedule.all()), Decimal(0))),
    }
