"""Writers of documents: templates, generation from a deal, the signing key, signatures.

Generation renders everything first and stores nothing until every part rendered, so a
template with an unknown merge field (``UnknownMergeField``, naming it) leaves no trace.
"""

import hashlib
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from docx import Document as DocxDocument
from docx.oxml.ns import qn
from lxml import html as lxml_html
from weasyprint import HTML

from kvartal import audit
from kvartal.accounts.permissions import (
    DOCUMENTS_CONFIGURE,
    DOCUMENTS_GENERATE,
    has_capability,
)
from kvartal.core.errors import DomainError
from kvartal.core.pdf import BASE_URL

from .fields import deal_fields
from .models import DocumentKind, DocumentSettings, DocumentTemplate, GeneratedDocument
from .render import render_docx, render_html

DEFAULTS = Path(__file__).parent / "defaults"


class DocumentRefused(DomainError):
    pass


class SigningRefused(DomainError):
    field = "cert_path"


# --- templates ------------------------------------------------------------------------------


def default_body(kind: str) -> str:
    return (DEFAULTS / f"{kind}.html").read_text(encoding="utf-8")


def active_template(kind: str) -> DocumentTemplate:
    """The active template of ``kind``; the shipped one is installed the first time."""
    found = DocumentTemplate.objects.filter(kind=kind, is_active=True).order_by("-pk").first()
    if found is None:
        found = DocumentTemplate.objects.create(
            kind=kind, name=str(DocumentKind(kind).label), body=default_body(kind)
        )
    return found


@transaction.atomic
@audit.service
def template_save(
    *, template: DocumentTemplate, by, body: str | None = None, docx=None, name: str | None = None
) -> DocumentTemplate:
    """Change a template (a new version). ``DocumentRefused``: not an administrator."""
    if not has_capability(by, DOCUMENTS_CONFIGURE):
        raise DocumentRefused(_("Only an administrator edits document templates."))
    template = DocumentTemplate.objects.select_for_update().get(pk=template.pk)
    if body is not None:
        template.body = body
    if name is not None:
        template.name = name
    if docx is not None:
        template.docx = docx
    template.version += 1
    template.updated_at = timezone.now()
    template.save()
    return template


# --- generation -----------------------------------------------------------------------------


def _page(body: str) -> str:
    style = (DEFAULTS / "_style.html").read_text(encoding="utf-8")
    head = f'<head><meta charset="utf-8">{style}</head>'
    return f'<!doctype html><html lang="ru">{head}<body>{body}</body></html>'


# Chinese text in a DOCX (the subscription agreement 认购书) is drawn with the East Asian font
# of its style; python-docx's blank document names none, so an editor may pick one without
# Chinese glyphs. SimSun is on every Chinese Windows; LibreOffice substitutes its own CJK font.
EAST_ASIAN_FONT = "SimSun"


def _east_asian_font(style) -> None:
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)
    fonts.attrib.pop(qn("w:eastAsiaTheme"), None)  # a theme font would win over the name


def _docx_from_html(page: str) -> bytes:
    """A plain DOCX of the rendered page when the template has no DOCX of its own: one
    paragraph per heading or paragraph, one table row per row."""
    document = DocxDocument()
    for style in ("Normal", "Heading 1"):
        _east_asian_font(document.styles[style])
    tree = lxml_html.fromstring(page)
    for node in tree.body.iter("h1", "p", "tr", "div"):
        if node.tag == "div" and node.get("class") != "sign":
            continue
        text = " ".join(strip_tags(lxml_html.tostring(node, encoding="unicode")).split())
        if node.tag == "tr":
            text = " | ".join(" ".join(c.text_content().split()) for c in node)
        if not text:
            continue
        if node.tag == "h1":
            document.add_heading(text, level=1)
        else:
            document.add_paragraph(text)
    out = BytesIO()
    document.save(out)
    return out.getvalue()


@transaction.atomic
@audit.service
def document_generate(*, deal, kind: str, by, at=None) -> GeneratedDocument:
    """Generate the ``kind`` document of ``deal`` from the active template as PDF and DOCX,
    stored as the next version with the template's version and the data it was made from.
    ``UnknownMergeField`` / ``TemplateBroken``: nothing is generated."""
    if not has_capability(by, DOCUMENTS_GENERATE):
        raise DocumentRefused(_("You may not generate documents."))
    template = active_template(kind)
    data = deal_fields(deal)
    page = _page(render_html(template.body, data))
    docx = render_docx(template.docx.open("rb"), data) if template.docx else _docx_from_html(page)
    pdf = HTML(string=page, base_url=BASE_URL).write_pdf()
    last = GeneratedDocument.objects.filter(deal=deal, kind=kind).aggregate(v=Max("version"))
    version = (last["v"] or 0) + 1
    document = GeneratedDocument(
        deal=deal,
        kind=kind,
        template=template,
        template_version=template.version,
        version=version,
        data=data,
        created_by=by,
        created_at=at or timezone.now(),
    )
    stem = f"{deal.number}-{kind}-v{version}".replace("/", "-")
    document.pdf.save(f"{stem}.pdf", ContentFile(pdf), save=False)
    document.docx.save(f"{stem}.docx", ContentFile(docx), save=False)
    document.save()
    return document


# --- the signing key and signatures ---------------------------------------------------------


def _load_pair(key_path: str, cert_path: str, passphrase: str):
    try:
        key_bytes = Path(key_path).read_bytes()
        cert_bytes = Path(cert_path).read_bytes()
    except OSError as error:
        raise SigningRefused(_("The file cannot be read: %(error)s") % {"error": error}) from None
    try:
        key = serialization.load_pem_private_key(key_bytes, passphrase.encode() or None)
    except (ValueError, TypeError):
        raise SigningRefused(
            _("The key cannot be read (not a PEM key, or a wrong passphrase)."), field="key_path"
        ) from None
    try:
        cert = x509.load_pem_x509_certificate(cert_bytes)
    except ValueError:
        raise SigningRefused(_("The certificate cannot be read (not a PEM certificate).")) from None
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if key.public_key().public_bytes(enc, fmt) != cert.public_key().public_bytes(enc, fmt):
        raise SigningRefused(_("The key does not match the certificate: nothing was changed."))
    return key, cert


@transaction.atomic
@audit.service
def signing_configure(
    *, by, key_path: str, cert_path: str, passphrase: str = ""
) -> DocumentSettings:
    """Set the company's signing key and certificate (PEM files on the server).
    ``SigningRefused``: unreadable files, a wrong passphrase, a key that does not match the
    certificate — the settings stay as they were."""
    if not has_capability(by, DOCUMENTS_CONFIGURE):
        raise SigningRefused(_("Only an administrator sets the signing key."), field=None)
    _load_pair(key_path, cert_path, passphrase)
    settings = DocumentSettings.current()
    settings.key_path, settings.cert_path, settings.key_passphrase = key_path, cert_path, passphrase
    settings.save(update_fields=["key_path", "cert_path", "key_passphrase"])
    return settings


@transaction.atomic
@audit.service
def document_sign(*, document: GeneratedDocument, by, at=None) -> GeneratedDocument:
    """Sign the document's PDF with the company's certificate (PAdES, pyHanko). Refused when
    no key is set, the key no longer matches, or the document is already signed."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    if not has_capability(by, DOCUMENTS_GENERATE):
        raise SigningRefused(_("You may not sign documents."), field=None)
    document = GeneratedDocument.objects.select_for_update().get(pk=document.pk)
    if document.signed_at is not None:
        raise SigningRefused(_("This document is already signed."), field=None)
    settings = DocumentSettings.current()
    if not (settings.key_path and settings.cert_path):
        raise SigningRefused(_("No signing key is set: ask an administrator."), field=None)
    _key, cert = _load_pair(settings.key_path, settings.cert_path, settings.key_passphrase)
    signer = signers.SimpleSigner.load(
        settings.key_path,
        settings.cert_path,
        key_passphrase=settings.key_passphrase.encode() or None,
    )
    with document.pdf.open("rb") as f:
        writer = IncrementalPdfFileWriter(BytesIO(f.read()))
    meta = signers.PdfSignatureMetadata(
        field_name="Kvartal",
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=str(document),
        name=cert.subject.rfc4514_string()[:300],
    )
    signed = signers.sign_pdf(writer, meta, signer=signer).getvalue()
    name = Path(document.pdf.name).name.replace(".pdf", "-signed.pdf")
    document.pdf.save(name, ContentFile(signed), save=False)
    document.signed_at, document.signed_by = at or timezone.now(), by
    document.signer = cert.subject.rfc4514_string()[:300]
    document.save(update_fields=["pdf", "signed_at", "signed_by", "signer"])
    return document


@dataclass(frozen=True)
class Verification:
    signed: bool
    intact: bool = False  # the signed bytes are unchanged
    valid: bool = False  # the signature is cryptographically sound
    trusted: bool = False  # made with the company's certificate
    signer: str = ""

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.valid and self.trusted


def verify_pdf(data: bytes) -> Verification:
    """Check the PDF's first signature against the company's certificate."""
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(BytesIO(data))
    if not reader.embedded_signatures:
        return Verification(signed=False)
    settings = DocumentSettings.current()
    roots = [load_cert_from_pemder(settings.cert_path)] if settings.cert_path else []
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    status = validate_pdf_signature(reader.embedded_signatures[0], context)
    return Verification(
        signed=True,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        signer=status.signing_cert.subject.human_friendly,
    )


def document_verify(document: GeneratedDocument) -> Verification:
    with document.pdf.open("rb") as f:
        return verify_pdf(f.read())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
