"""Periods and steps: which local day a moment belongs to, and which step a day belongs to.

Everything is in the installation's time zone (``TIME_ZONE``): a sale at 23:30 Moscow time on
31 March belongs to March even though it is 20:30 UTC. The database groups moments by *local
day* (``TruncDate(..., tzinfo=)``); the days are then rolled up into steps here, so weeks
(Monday first), quarters and half-years are one rule for SQLite and PostgreSQL alike.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Step(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    HALF = "half", _("Half-year")
    YEAR = "year", _("Year")


def step_start(day: date, step: str) -> date:
    """The first day of the step containing ``day`` (weeks start on Monday)."""
    if step == Step.DAY:
        return day
    if step == Step.WEEK:
        return day - timedelta(days=day.weekday())
    if step == Step.MONTH:
        return day.replace(day=1)
    if step == Step.QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if step == Step.HALF:
        return date(day.year, 1 if day.month <= 6 else 7, 1)
    if step == Step.YEAR:
        return date(day.year, 1, 1)
    raise ValueError(f"unknown step {step!r}")


def next_step(start: date, step: str) -> date:
    """The first day of the step after the one starting on ``start``."""
    if step == Step.DAY:
        return start + timedelta(days=1)
    if step == Step.WEEK:
        return start + timedelta(days=7)
    months = {Step.MONTH: 1, Step.QUARTER: 3, Step.HALF: 6, Step.YEAR: 12}[step]
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


QUARTER = pgettext_lazy("report step", "Q%(n)s %(year)s")
HALF = pgettext_lazy("report step", "H%(n)s %(year)s")
WEEK = pgettext_lazy("report step", "week of %(date)s")


def step_label(start: date, step: str) -> str:
    if step == Step.DAY:
        return date_format(start, "SHORT_DATE_FORMAT")
    if step == Step.WEEK:
        return str(WEEK) % {"date": date_format(start, "SHORT_DATE_FORMAT")}
    if step == Step.MONTH:
        return date_format(start, "YEAR_MONTH_FORMAT")
    if step == Step.QUARTER:
        return str(QUARTER) % {"n": (start.month - 1) // 3 + 1, "year": start.year}
    if step == Step.HALF:
        return str(HALF) % {"n": 1 if start.month <= 6 else 2, "year": start.year}
    return str(start.year)


def local_midnight(day: date) -> datetime:
    """The aware moment a local day starts."""
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass(frozen=True)
class Period:
    """Local days ``start``…``end`` inclusive, cut into steps."""

    start: date
    end: date
    step: str = Step.MONTH

    @property
    def since(self) -> datetime:
        """The first moment of the period (aware)."""
        return local_midnight(self.start)

    @property
    def until(self) -> datetime:
        """The first moment after the period (aware, exclusive)."""
        return local_midnight(self.end + timedelta(days=1))

    def steps(self) -> list[date]:
        """The start of every step the period touches, in order."""
        starts, current = [], step_start(self.start, self.step)
        while current <= self.end:
            starts.append(current)
            current = next_step(current, self.step)
        return starts

    def bucket(self, day: date) -> date:
        return step_start(day, self.step)

    def label(self, start: date) -> str:
        return step_label(start, self.step)

    def describe(self) -> str:
        start = date_format(self.start, "SHORT_DATE_FORMAT")
        return f"{start} – {date_format(self.end, 'SHORT_DATE_FORMAT')}"


def local_today() -> date:
    return timezone.localdate()


def as_local_date(value) -> date:
    """A local day from what the database returned for ``TruncDate(tzinfo=…)`` (a date, or
    on some backends a string)."""
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value
