"""The time zone people live in (``KAOHE_TIMEZONE``, Beijing time by default): the one
function that reads it, and "today" there. The database keeps UTC; deadlines and the times
people read are in this zone."""

from __future__ import annotations

import datetime as dt
import functools
import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Shanghai"


@functools.cache
def zone() -> ZoneInfo:
    """The configured zone (read once; a name such as ``Asia/Shanghai``)."""
    name = os.environ.get("KAOHE_TIMEZONE") or DEFAULT_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"KAOHE_TIMEZONE={name!r} is not a time zone name such as "
                         f"{DEFAULT_ZONE!r}") from None


def today() -> dt.date:
    """Today's date in the configured zone (not the server's)."""
    return dt.datetime.now(zone()).date()


def local(moment: dt.datetime) -> dt.datetime:
    """A stored time (naive UTC, or aware) in the configured zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone())
