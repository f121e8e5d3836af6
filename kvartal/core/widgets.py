"""Form widgets shared by every app."""

import datetime
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext


def date_input_format() -> str:
    """The page language's way of typing a date (``%d.%m.%Y`` in Russian): the first of its
    ``DATE_INPUT_FORMATS``; a ``DateField`` reads it, and ISO dates too."""
    return formats.get_format("DATE_INPUT_FORMATS")[0]


def spell_format(fmt: str) -> str:
    """A typing format (``%d.%m.%Y %H:%M``) spelled for people: ДД.ММ.ГГГГ ЧЧ:ММ."""
    return (
        fmt.replace("%d", pgettext("typing a date", "DD"))
        .replace("%m", pgettext("typing a date", "MM"))
        .replace("%Y", pgettext("typing a date", "YYYY"))
        .replace("%H", pgettext("typing a time", "hh"))
        .replace("%M", pgettext("typing a time", "mm"))
    )


def date_placeholder() -> str:
    """The typing format spelled for people: ДД.ММ.ГГГГ, YYYY-MM-DD."""
    return spell_format(date_input_format())


class DateInput(forms.DateInput):
    """A date in the page's language's format (05.12.2026 on a Russian page), not the
    browser's: ``<input type="date">`` shows the browser's own locale (mm/dd/yyyy in an
    English browser) whatever the page says. A text input with the format as placeholder
    and as a visible hint under it (``_with_hint``); a date that came in as ISO (links,
    defaults) is shown in the page's format too."""

    input_type = "text"
    template_name = "core/widgets/typed.html"

    def __init__(self, attrs=None):
        super().__init__({"inputmode": "numeric", "autocomplete": "off", **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, str):
            try:
                value = datetime.date.fromisoformat(value)
            except ValueError:
                return value  # as typed, shown back with its error
        if isinstance(value, datetime.date):
            return value.strftime(date_input_format())
        return super().format_value(value)

    def get_context(self, name, value, attrs):
        return _with_hint(super().get_context(name, value, attrs), date_placeholder())


def datetime_input_format() -> str:
    """The page language's way of typing a moment: its date format and 24-hour hours and
    minutes (``%d.%m.%Y %H:%M`` in Russian). ``DateTimeField`` reads it first."""
    return f"{date_input_format()} %H:%M"


def datetime_placeholder() -> str:
    """The moment's typing format spelled for people: ДД.ММ.ГГГГ ЧЧ:ММ, YYYY-MM-DD hh:mm."""
    return spell_format(datetime_input_format())


class DateTimeInput(forms.DateTimeInput):
    """A date and time in the page's language's format (05.12.2026 14:30 on a Russian page),
    not the browser's: ``<input type="datetime-local">`` shows the browser's own locale
    (mm/dd/yyyy, hh:mm AM/PM) whatever the page says. A text input with the format as
    placeholder and as a visible hint under it, tied to the input by ``aria-describedby``
    (after the field's own help and error). A value that came in as ISO (links, defaults,
    older clients posting ``2026-12-05T14:30``) is shown in the page's format too."""

    input_type = "text"
    template_name = "core/widgets/typed.html"

    def __init__(self, attrs=None):
        super().__init__({"inputmode": "numeric", "autocomplete": "off", **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, str):
            try:
                value = datetime.datetime.fromisoformat(value)
            except ValueError:
                return value  # as typed, shown back with its error
        if isinstance(value, datetime.datetime):
            if timezone.is_aware(value):
                value = timezone.localtime(value)
            return value.strftime(datetime_input_format())
        return super().format_value(value)

    def get_context(self, name, value, attrs):
        return _with_hint(super().get_context(name, value, attrs), datetime_placeholder())


def _with_hint(context: dict, hint: str) -> dict:
    """The typing format as the input's placeholder and as a visible hint under it
    (``core/widgets/typed.html``), named last in the input's ``aria-describedby`` (after the
    field's own help and error)."""
    widget = context["widget"]
    widget["attrs"].setdefault("placeholder", hint)
    widget["hint"] = hint
    if widget["attrs"].get("id"):
        widget["hint_id"] = f"{widget['attrs']['id']}_format"
        described = widget["attrs"].get("aria-describedby", "").split()
        widget["attrs"]["aria-describedby"] = " ".join([*described, widget["hint_id"]])
    return context


class _DateTimeFormats:
    """Read lazily, in the language of the request: the typing format first, then the
    language's others (Django's, a bare date meaning its midnight)."""

    def __iter__(self):
        yield datetime_input_format()
        yield from formats.get_format("DATETIME_INPUT_FORMATS")
        yield from formats.get_format("DATE_INPUT_FORMATS")


class DateTimeField(forms.DateTimeField):
    """A moment typed in the page's language (see ``DateTimeInput``); ISO still reads. The
    result is aware, in the current time zone (``TIME_ZONE``), as Django's own field gives.
    A wrong value is told in the user's language, with the format to type."""

    widget = DateTimeInput
    input_formats = _DateTimeFormats()
    default_error_messages = {
        "invalid": _("Enter the date and time as %(format)s."),
        "no_such": _("There is no such date or time: %(value)s."),
    }

    @staticmethod
    def typed_as_day(value) -> bool:
        """Whether ``value`` was typed as a day alone, without a time (in one of the
        language's date formats, or ISO): the field reads it as that day's midnight, which a
        form may mean otherwise (a task due that day)."""
        typed = str(value or "").strip()
        for fmt in ("%Y-%m-%d", *formats.get_format("DATE_INPUT_FORMATS")):
            try:
                datetime.datetime.strptime(typed, fmt)
            except ValueError:
                continue
            return True
        return False

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError as error:
            if error.code != "invalid":
                raise
            typed = str(value).strip()
            if any(_shaped_as(typed, fmt) for fmt in self.input_formats):
                # typed as asked, but the calendar has no such day (31.02) or hour (25:00)
                raise ValidationError(
                    self.error_messages["no_such"], code="invalid", params={"value": typed}
                ) from None
            raise ValidationError(
                self.error_messages["invalid"],
                code="invalid",
                params={"format": datetime_placeholder()},
            ) from None


_SHAPES = {"%d": r"\d{1,2}", "%m": r"\d{1,2}", "%Y": r"\d{4}", "%H": r"\d{1,2}", "%M": r"\d{2}"}


def _shaped_as(value: str, fmt: str) -> bool:
    """Whether ``value`` has the shape of ``fmt`` (digits where its fields are), whatever
    the numbers: ``31.02.2026`` is shaped as ``%d.%m.%Y`` though no such day exists."""
    pattern = re.escape(fmt)
    for field, digits in _SHAPES.items():
        pattern = pattern.replace(re.escape(field), digits)
    return "%" not in pattern.replace(r"\%", "") and re.fullmatch(pattern, value) is not None
