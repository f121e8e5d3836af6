"""Date-and-time inputs are typed and shown in the page's language's format (05.12.2026 14:30
on a Russian page), not the browser's: ``<input type="datetime-local">`` showed
mm/dd/yyyy, hh:mm AM/PM in an English browser on a Russian page. The format is shown under
the input and tied to it; the moment read is aware, in the installation's time zone."""

import datetime
import zoneinfo

import lxml.html
import pytest
from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from kvartal.core.widgets import DateTimeField, DateTimeInput
from kvartal.sales.models import Hold, SalesSettings
from kvartal.sales.tests.factories import make_client, make_unit

pytestmark = pytest.mark.django_db


class MomentForm(forms.Form):
    at = DateTimeField(label="at", help_text="when it happens")


def _moment(days: int = 2) -> datetime.datetime:
    """A naive local moment ``days`` after today, 14:30 (what a person types)."""
    day = timezone.localdate() + datetime.timedelta(days=days)
    return datetime.datetime.combine(day, datetime.time(14, 30))


@pytest.mark.parametrize(
    ("language", "typed", "hint"),
    [
        ("ru", "%d.%m.%Y %H:%M", "ДД.ММ.ГГГГ ЧЧ:ММ"),
        ("en", "%Y-%m-%d %H:%M", "YYYY-MM-DD hh:mm"),
        ("zh-hans", "%Y-%m-%d %H:%M", "年-月-日 时:分"),
    ],
)
def test_a_moment_typed_in_the_page_language_reads_as_an_aware_local_time(language, typed, hint):
    moment = _moment()
    expected = moment.replace(tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))
    with translation.override(language):
        form = MomentForm({"at": moment.strftime(typed)})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["at"] == expected
        assert timezone.is_aware(form.cleaned_data["at"])
        # What the browser's datetime-local posted, and links carry, reads too.
        for iso in (moment.strftime("%Y-%m-%dT%H:%M"), moment.isoformat()):
            assert MomentForm({"at": iso}).is_valid(), iso
        assert (
            MomentForm().fields["at"].widget.get_context("at", None, {"id": "x"})["widget"]["hint"]
            == hint
        )


def test_a_moment_in_the_browser_format_is_refused_in_the_user_language():
    # 12/05/2026 02:30 PM: what an English browser's datetime-local showed on a Russian page.
    with translation.override("ru"):
        form = MomentForm({"at": "12/05/2026 02:30 PM"})
        assert not form.is_valid()
        assert form.errors["at"] == ["Введите дату и время в виде ДД.ММ.ГГГГ ЧЧ:ММ."]
    with translation.override("en"):
        form = MomentForm({"at": "05.12.2026 14:30 PM"})
        assert form.errors["at"] == ["Enter the date and time as YYYY-MM-DD hh:mm."]


@pytest.mark.parametrize(
    ("language", "typed", "said"),
    [
        ("ru", "31.02.2026 12:00", "Такой даты или времени нет: 31.02.2026 12:00."),
        ("ru", "30.04.2026 24:30", "Такой даты или времени нет: 30.04.2026 24:30."),
        ("en", "2026-02-30 09:00", "There is no such date or time: 2026-02-30 09:00."),
    ],
)
def test_a_moment_typed_as_asked_but_not_in_the_calendar_is_told_so(language, typed, said):
    """The format was right: saying "enter it as ДД.ММ.ГГГГ ЧЧ:ММ" sent people looking for
    their mistake in the wrong place."""
    with translation.override(language):
        form = MomentForm({"at": typed})
        assert form.errors["at"] == [said]


def test_the_widget_renders_a_text_input_with_a_visible_hint_tied_to_it():
    moment = timezone.make_aware(_moment())
    with translation.override("ru"):
        html = str(MomentForm(initial={"at": moment})["at"])
        bound = MomentForm({"at": "31.02.2026 25:00"})
        bound.is_valid()
        invalid = str(bound["at"])
    doc = lxml.html.fragment_fromstring(html, create_parent="div")
    (field,) = doc.xpath("//input[@name='at']")
    assert field.get("type") == "text"
    assert field.get("value") == _moment().strftime("%d.%m.%Y %H:%M")
    assert field.get("placeholder") == "ДД.ММ.ГГГГ ЧЧ:ММ"
    (hint,) = doc.xpath("//*[@id='id_at_format']")
    assert hint.text_content() == "ДД.ММ.ГГГГ ЧЧ:ММ"
    # the field's own help first, then the format
    assert field.get("aria-describedby").split() == ["id_at_helptext", "id_at_format"]
    doc = lxml.html.fragment_fromstring(invalid, create_parent="div")
    (field,) = doc.xpath("//input[@name='at']")
    assert field.get("value") == "31.02.2026 25:00"  # shown back as typed, with its error
    assert field.get("aria-invalid") == "true"
    assert field.get("aria-describedby").split() == [
        "id_at_helptext",
        "id_at_error",
        "id_at_format",
    ]


def test_the_bare_widget_without_an_id_has_no_dangling_reference():
    html = DateTimeInput().render("at", None)
    assert "aria-describedby" not in html and "_format" not in html


def test_a_manager_holds_until_a_moment_typed_in_russian(client, manager):
    SalesSettings.current()
    buyer = make_client(manager=manager)
    unit = make_unit()
    client.force_login(manager)
    url = reverse("sales:hold-create", args=[unit.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    doc = lxml.html.fromstring(page)
    assert doc.xpath("//input[@type='datetime-local']") == []
    (until,) = doc.xpath("//input[@name='expires_at']")
    assert until.get("type") == "text" and until.get("placeholder") == "ДД.ММ.ГГГГ ЧЧ:ММ"
    assert doc.xpath(f"//*[@id='{until.get('aria-describedby').split()[-1]}']")
    moment = _moment()
    response = client.post(
        url,
        {
            "client": buyer.pk,
            "manager": manager.pk,
            "kind": "oral",
            "basis": "other",
            "term": "custom",
            "expires_at": moment.strftime("%d.%m.%Y %H:%M"),
        },
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    hold = Hold.objects.get(unit=unit)
    assert timezone.localtime(hold.expires_at).replace(tzinfo=None) == moment
