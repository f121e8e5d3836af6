"""The documents pages in the URL × role table (collected by accounts/tests/test_access.py)."""

from kvartal.accounts.models import Role

GENERATORS = frozenset({Role.ADMIN, Role.SALES_HEAD, Role.SALES_MANAGER})
ADMINS = frozenset({Role.ADMIN})

PAGES: dict = {
    "documents:index": (GENERATORS, None),
    "documents:deal": (GENERATORS, "documents_deal"),
    "documents:sign": (GENERATORS, "document"),
    "documents:download": (GENERATORS, "document_pdf"),
    "documents:signing": (ADMINS, None),
}


def build_objects(*, persona, unit) -> dict:
    """A deal of ``persona`` when they sell (else of a new manager) with a stored document."""
    from django.core.files.base import ContentFile

    from kvartal.core.testing import make_user
    from kvartal.sales.tests.factories import make_deal

    from ..models import GeneratedDocument
    from ..services import active_template

    sells = persona is not None and persona.role in (Role.SALES_MANAGER, Role.SALES_HEAD)
    deal = make_deal(manager=persona if sells else make_user(Role.SALES_MANAGER))
    template = active_template("reservation")
    document = GeneratedDocument(
        deal=deal, kind="reservation", template=template, template_version=1, version=1, data={}
    )
    document.pdf.save("access.pdf", ContentFile(b"%PDF-1.7"), save=False)
    document.docx.save("access.docx", ContentFile(b"PK"), save=False)
    document.save()
    return {
        "documents_deal": {"pk": deal.pk},
        "document": {"pk": document.pk},
        "document_pdf": {"pk": document.pk, "fmt": "pdf"},
    }
