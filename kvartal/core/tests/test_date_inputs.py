"""Dates are typed and shown in the page's language's format, not the browser's
(``<input type="date">`` shows mm/dd/yyyy in an English browser on a Russian page)."""

import re
from datetime import timedelta

import lxml.html
import pytest
from django import forms
from django.utils import timezone, translation

from kvartal.accounts.models import Role
from kvartal.core.widgets import DateInput
from kvartal.testing import make_building, make_section, make_user

pytestmark = pytest.mark.django_db


class DayForm(forms.Form):
    day = forms.DateField(widget=DateInput())


@pytest.mark.parametrize(
    ("language", "shown", "placeholder"),
    [("ru", "%d.%m.%Y", "ДД.ММ.ГГГГ"), ("zh-hans", "%Y-%m-%d", None), ("en", "%Y-%m-%d", None)],
)
def test_a_date_input_shows_and_reads_the_page_language_format(language, shown, placeholder):
    day = timezone.localdate() - timedelta(days=40)
    with translation.override(language):
        html = str(DayForm(initial={"day": day})["day"])
        typed = day.strftime(shown)
        assert 'type="text"' in html and f'value="{typed}"' in html
        if placeholder:
            assert f'placeholder="{placeholder}"' in html
        assert DayForm({"day": typed}).is_valid()
        # Links and defaults carry ISO dates: read, and shown in the page's format.
        bound = DayForm({"day": day.isoformat()})
        assert bound.is_valid() and bound.cleaned_data["day"] == day
        assert f'value="{typed}"' in str(bound["day"])


@pytest.mark.parametrize(
    "url",
    ["/app/reports/sales/", "/app/search/units/", "/app/audit/", "/app/units/", "board"],
)
def test_pages_have_no_browser_date_input_on_a_russian_page(client, url):
    client.force_login(make_user(Role.ADMIN))
    building = make_building()
    make_section(building, floors=1, per_floor=2)
    if url == "board":
        url = f"/app/buildings/{building.pk}/"
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    doc = lxml.html.fromstring(html)
    assert doc.get("lang") == "ru"
    assert doc.xpath("//input[@type='date']") == []
    dated = doc.xpath("//input[@placeholder='ДД.ММ.ГГГГ']")
    assert dated, "the page shows no date input"
    for el in dated:
        assert re.fullmatch(r"(\d\d\.\d\d\.\d{4})?", el.get("value") or ""), el.get("value")


def test_a_date_input_shows_its_format_under_it_tied_to_it():
    """The placeholder goes once a date is typed: the format stays visible under the input."""
    with translation.override("ru"):
        html = str(DayForm(initial={"day": timezone.localdate()})["day"])
    doc = lxml.html.fragment_fromstring(html, create_parent="div")
    (field,) = doc.xpath("//input[@name='day']")
    (hint,) = doc.xpath("//*[@id='id_day_format']")
    assert hint.text_content() == "ДД.ММ.ГГГГ"
    assert field.get("aria-describedby").split()[-1] == "id_day_format"
