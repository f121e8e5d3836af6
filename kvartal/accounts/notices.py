"""Notices stored as a message key and arguments, rendered in the reader's language.

An argument is a plain value (a name, a number) or a tagged one, formatted per language when
read: ``{"dt": ISO datetime}``, ``{"date": ISO date}``, ``{"money": "1234.50"}``,
``{"msg": English text, "args": {…}}`` (translated, e.g. a stage's name or a reason with its
own figures)."""

from decimal import Decimal, InvalidOperation

from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext


def arg_datetime(moment) -> dict:
    return {"dt": moment.isoformat()}


def arg_date(day) -> dict:
    return {"date": day.isoformat()}


def arg_money(amount) -> dict:
    return {"money": str(amount)}


def arg_text(english, **args) -> dict:
    """A text translated when read, with its own ``args``. A lazy translation is stored as its
    source text: English, the language the code is written in (it has no catalogue)."""
    with translation.override("en"):
        value = {"msg": str(english)}
    if args:
        value["args"] = args
    return value


def _value(value):
    if not isinstance(value, dict):
        return value
    if "dt" in value and (moment := parse_datetime(value["dt"])):
        return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
    if "date" in value and (day := parse_date(value["date"])):
        return formats.date_format(day, "SHORT_DATE_FORMAT")
    if "money" in value:
        try:
            return formats.number_format(Decimal(value["money"]), 2, force_grouping=True)
        except InvalidOperation:
            return value["money"]
    if "msg" in value:
        text = gettext(value["msg"])
        if value.get("args"):
            text = text % {k: _value(v) for k, v in value["args"].items()}
        return text
    return str(value)


def render_message(message: str, args: dict, *, fallback: str = "") -> str:
    try:
        return gettext(message) % {k: _value(v) for k, v in (args or {}).items()}
    except (KeyError, TypeError, ValueError):
        return fallback or message
