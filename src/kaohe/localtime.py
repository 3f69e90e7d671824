"""The time zone people live in (``KAOHE_TIME_ZONE`` in :mod:`kaohe.settings`, Beijing time
by default), and "today" there. The database keeps UTC; deadlines and the times
people read are in this zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"


def zone() -> ZoneInfo:
    """The configured zone (a name such as ``Asia/Shanghai``, read once with the settings)."""
    from kaohe.settings import settings

    return settings().zone


def today() -> dt.date:
    """Today's date in the configured zone (not the server's)."""
    return dt.datetime.now(zone()).date()


def local(moment: dt.datetime) -> dt.datetime:
    """A stored time (naive UTC, or aware) in the configured zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone())
