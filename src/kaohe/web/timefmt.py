"""Times and dates as people read them: in the configured time zone (``KAOHE_TIME_ZONE``,
Beijing time by default), never UTC, and in the Chinese form (2026年11月26日 14:05) on
Chinese pages. The database keeps UTC; only what is shown is converted (the zone is read
by :func:`kaohe.localtime.zone`)."""

from __future__ import annotations

import datetime as dt

from kaohe.localtime import local, today, zone
from kaohe.web import i18n

__all__ = ["day", "local", "today", "when", "zone"]


def day(value: dt.date | dt.datetime | str | None) -> str:
    """A date as the page's language writes it: 2026年11月26日, or 2026-11-26."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, dt.datetime):
        value = local(value).date()
    if i18n.language() == "en":
        return value.isoformat()
    return f"{value.year}年{value.month}月{value.day}日"


def when(value: dt.datetime | None) -> str:
    """A moment in the configured zone: 2026年11月26日 14:05, or 2026-11-26 14:05."""
    if value is None:
        return "-"
    t = local(value)
    return f"{day(t.date())} {t:%H:%M}"
