"""Deadlines in Chinese working days (工作日), with 调休 make-up days.

Holidays and make-up working days come from the maintained ``chinesecalendar`` package.
For a year it does not cover yet (its data follow the State Council's notice, published
each November), weekends are rest days and weekdays working days, and the deadline says it
was computed that way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import chinese_calendar  # type: ignore[import-untyped]


@dataclass(frozen=True)
class Deadline:
    due: dt.date
    #: False when part of the span lies in a year the holiday calendar does not cover yet
    official: bool


def is_workday(day: dt.date) -> tuple[bool, bool]:
    """(is a working day, the holiday calendar covers that year). The company's own rest
    and working days (``KAOHE_EXTRA_HOLIDAYS``, ``KAOHE_EXTRA_WORKDAYS``) come first;
    ``KAOHE_WORKDAY_CALENDAR=weekdays`` counts Monday to Friday only."""
    from kaohe.settings import settings

    conf = settings()
    if day in conf.extra_holidays:
        return False, True
    if day in conf.extra_workdays:
        return True, True
    if conf.workday_calendar == "weekdays":
        return day.weekday() < 5, True
    try:
        return bool(chinese_calendar.is_workday(day)), True
    except NotImplementedError:
        return day.weekday() < 5, False


def add_workdays(start: dt.date, n: int) -> Deadline:
    """The n-th working day after ``start`` (``start`` itself not counted)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    day = start
    official = True
    left = n
    while left > 0:
        day += dt.timedelta(days=1)
        work, known = is_workday(day)
        official = official and known
        if work:
            left -= 1
    return Deadline(day, official)


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 if end <= start)."""
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if is_workday(day)[0]:
            count += 1
    return count
