"""Documents from a fixture deal: the text, amounts in words, versions, the signature."""

import datetime as dt
import re
import zlib
from decimal import Decimal
from io import BytesIO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from docx import Document
from docx.oxml.ns import qn

from kvartal.sales.models import DealBuyer
from kvartal.sales.tests.factories import make_client, make_deal

from ..models import DocumentKind, DocumentSettings, GeneratedDocument
from ..render import UnknownMergeField
from ..services import (
    SigningRefused,
    active_template,
    document_generate,
    document_sign,
    document_verify,
    signing_configure,
    template_save,
)
from ..words import rubles_in_words

pytestmark = pytest.mark.django_db


def test_amounts_in_words():
    assert rubles_in_words(Decimal("1234567.05")) == (
        "один миллион двести тридцать четыре тысячи пятьсот шестьдесят семь рублей 05 копеек"
    )
    assert rubles_in_words(Decimal("21.01")) == "двадцать один рубль 01 копейка"
    assert rubles_in_words(Decimal("3.12")) == "три рубля 12 копеек"


@pytest.fixture
def deal(manager):
    buyer = make_client(
        manager=manager, last_name="Соколова", first_name="Мария", passport_number="4510 123456"
    )
    deal = make_deal(manager=manager, buyer=buyer, price=Decimal("7654321.50"))
    second = make_client(manager=manager, last_name="Соколов", first_name="Павел")
    DealBuyer.objects.filter(deal=deal).update(share_numerator=1, share_denominator=2)
    DealBuyer.objects.create(
        deal=deal, client=second, share_numerator=1, share_denominator=2, order=1
    )
    return deal


def pdf_bytes(document) -> bytes:
    """The PDF with its compressed streams inflated (fonts are named in object streams)."""
    with document.pdf.open("rb") as f:
        data = f.read()
    inflated = [data]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            inflated.append(zlib.decompress(stream))
        except zlib.error:
            continue
    return b"".join(inflated)


def docx_text(document) -> str:
    with document.docx.open("rb") as f:
        return "\n".join(p.text for p in Document(BytesIO(f.read())).paragraphs)


@pytest.mark.parametrize("kind", [k.value for k in DocumentKind])
def test_every_document_is_generated_as_pdf_and_docx_with_its_data(deal, manager, kind):
    document = document_generate(deal=deal, kind=kind, by=manager)
    assert document.version == 1 and document.template_version == 1
    assert document.data["deal"]["number"] == deal.number
    assert pdf_bytes(document).startswith(b"%PDF")
    # the DOCX is made from the same rendered page as the PDF
    text = " ".join(docx_text(document).split())
    assert deal.number in text and "Соколова Мария" in text
    if kind == "contract":
        assert "7 654 321,50" in text.replace("\u00a0", " ")
        assert (
            "семь миллионов шестьсот пятьдесят четыре тысячи триста двадцать один рубль 50 копеек"
            in text
        )
        assert "4510 123456" in text and "1/2" in text
    if kind == "subscription":
        assert "商品房认购书" in text
        assert b"WenQuanYi" in pdf_bytes(document)  # the CJK font (Debian's fonts-wqy-zenhei)
        with document.docx.open("rb") as f:
            normal = Document(BytesIO(f.read())).styles["Normal"]
        assert normal.element.rPr.rFonts.get(qn("w:eastAsia")) == "SimSun"
    again = document_generate(deal=deal, kind=kind, by=manager)
    assert again.version == 2


def test_an_unknown_merge_field_is_named_and_nothing_is_generated(deal, manager, admin_user):
    template = active_template("reservation")
    template_save(template=template, by=admin_user, body="<p>{{ deal.numbr }}</p>")
    with pytest.raises(UnknownMergeField) as refused:
        document_generate(deal=deal, kind="reservation", by=manager)
    assert "deal.numbr" in str(refused.value)
    assert not GeneratedDocument.objects.exists()


def make_pair(tmp_path, name="Kvartal Test"):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=800))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_path), str(cert_path)


def test_a_signed_pdf_verifies_and_a_changed_one_does_not(deal, manager, admin_user, tmp_path):
    key, cert = make_pair(tmp_path)
    signing_configure(by=admin_user, key_path=key, cert_path=cert)
    document = document_generate(deal=deal, kind="contract", by=manager)
    assert not document_verify(document).signed
    document = document_sign(document=document, by=manager)
    check = document_verify(document)
    assert check.ok and "Kvartal Test" in check.signer
    with pytest.raises(SigningRefused):
        document_sign(document=document, by=manager)
    # a certificate the company did not set is not trusted
    other_key, other_cert = make_pair(tmp_path, "Someone Else")
    signing_configure(by=admin_user, key_path=other_key, cert_path=other_cert)
    check = document_verify(document)
    assert check.intact and check.valid and not check.trusted and not check.ok


def test_a_key_not_matching_its_certificate_is_refused_and_nothing_changes(admin_user, tmp_path):
    key, cert = make_pair(tmp_path)
    signing_configure(by=admin_user, key_path=key, cert_path=cert)
    other_key, _other_cert = make_pair(tmp_path, "Other")
    with pytest.raises(SigningRefused) as refused:
        signing_configure(by=admin_user, key_path=other_key, cert_path=cert)
    assert "does not match" in str(refused.value)
    settings = DocumentSettings.current()
    assert (settings.key_path, settings.cert_path) == (key, cert)
