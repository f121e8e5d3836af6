"""The offer PDF in Simplified Chinese: the Chinese text is in the file as text (extracted back
with pypdf) and drawn with a font that has Chinese glyphs (WenQuanYi Zen Hei, which .ci/run
installs), not with empty boxes."""

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader


def fonts_of(reader: PdfReader) -> set[str]:
    names = set()
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            names.add(str(font.get("/BaseFont", "")))
            for descendant in font.get("/DescendantFonts") or []:
                names.add(str(descendant.get_object().get("/BaseFont", "")))
    return names


@pytest.mark.django_db
def test_the_offer_pdf_renders_chinese(client, unit):
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    response = client.get(reverse("showcase:unit-offer", args=[unit.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    for chinese in ("商业报价单", "总面积", "楼层", "装修"):
        assert chinese in text
    assert "Commercial offer" not in text and "Коммерческое предложение" not in text
    assert any("WenQuanYi" in name or "CJK" in name for name in fonts_of(reader)), fonts_of(reader)
