"""The company's branding as the PDFs and printable sheets use it."""

import re

from django.conf import settings

from .models import CompanyProfile

HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?")
DEFAULT_COLOUR = "#1f4e79"


def safe_colour(value: str) -> str:
    """A colour for CSS: only a hex colour passes, anything else is the default."""
    return value if HEX_COLOUR.fullmatch(value or "") else DEFAULT_COLOUR


def company_context(profile: CompanyProfile | None = None) -> dict:
    """The ``company`` of ``pdf/base.html`` and the sheets: name, contacts, logo, colour."""
    profile = profile or CompanyProfile.current()
    return {
        "name": profile.name or settings.KVARTAL_COMPANY_NAME,
        "legal_name": profile.legal_name,
        "phone": profile.phone,
        "website": profile.website,
        "logo_url": profile.logo.url if profile.logo else "",
        "colour": safe_colour(profile.brand_color),
    }
