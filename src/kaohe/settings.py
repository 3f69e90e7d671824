"""Every setting of kaohe in one place, read once from the environment (``KAOHE_*``).

pydantic-settings validates each value when it is first read and fails fast with the name of
the variable: ``KAOHE_TIME_ZONE=Mars/Base`` stops the CLI and the web app with one message
instead of showing wrong times later. :func:`settings` builds the object once per process;
nothing is read at import time.

=============================== ======================================================
variable                        meaning (default)
=============================== ======================================================
``KAOHE_DATABASE_URL``          SQLAlchemy URL (SQLite file in the data directory)
``KAOHE_DATA_DIR``              where the default database and the session key live
``KAOHE_TIME_ZONE``             the zone times are shown in (``Asia/Shanghai``)
``KAOHE_SECRET_KEY``            the session-signing key (generated once and kept in
                                ``DATA_DIR/secret_key``)
``KAOHE_HTTPS``                 mark cookies Secure (``0``)
``KAOHE_USER``                  the CLI's acting user (``admin``)
``KAOHE_PASSWORD``              the password for ``kaohe user add`` / ``user passwd``
``KAOHE_SESSION_HOURS``         a login lasts at most this long (12)
``KAOHE_LOGIN_MAX_FAILURES``    failed logins per user within the window (5)
``KAOHE_LOGIN_MAX_PER_ADDRESS`` failed logins per client address within the window (100)
``KAOHE_LOGIN_MAX_PER_USER``    failed logins per user over all addresses (50)
``KAOHE_LOGIN_WINDOW_S``        the throttle's window in seconds (600)
``KAOHE_MAX_UPLOAD_BYTES``      largest upload (20 MB)
``KAOHE_MAX_BODY_BYTES``        largest other request body: forms and JSON (2 MB)
``KAOHE_MAX_ROWS``              rows of an input sheet (200 000)
``KAOHE_MAX_COLUMNS``           columns of an input sheet (500)
``KAOHE_MAX_CELLS``             cells of an input sheet (5 000 000)
``KAOHE_WORKDAY_CALENDAR``      ``china`` (holidays and 调休) or ``weekdays``
``KAOHE_EXTRA_HOLIDAYS``        company rest days, JSON list of dates
``KAOHE_EXTRA_WORKDAYS``        company working days, JSON list of dates
``KAOHE_APPEAL_*_WORKDAYS``     appeal window (5), answer (3), resolution (10)
``KAOHE_FEEDBACK_DAYS``         days to hold the feedback meeting (7)
``KAOHE_*_REVIEW_WORKDAYS``     self-review (3) and supervisor review (5) after opening
``KAOHE_REMIND_AHEAD_WORKDAYS`` reminders start this many working days early (1)
=============================== ======================================================
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import secrets
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kaohe.errors import KaoheError

MB = 1024 * 1024


class Settings(BaseSettings):
    """kaohe's settings; see the module's table for the variables."""

    model_config = SettingsConfigDict(env_prefix="KAOHE_", frozen=True, extra="ignore")

    database_url: str | None = None
    data_dir: Path | None = None
    time_zone: str = "Asia/Shanghai"
    secret_key: SecretStr | None = None
    https: bool = False
    user: str | None = None
    password: SecretStr | None = None

    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_max_per_address: int = Field(default=100, ge=1, le=100_000)
    login_max_per_user: int = Field(default=50, ge=1, le=100_000)
    login_window_s: int = Field(default=600, ge=10, le=86_400)

    max_upload_bytes: int = Field(default=20 * MB, ge=1024)
    max_body_bytes: int = Field(default=2 * MB, ge=1024)
    max_rows: int = Field(default=200_000, ge=1)
    max_columns: int = Field(default=500, ge=1)
    max_cells: int = Field(default=5_000_000, ge=1)

    workday_calendar: Literal["china", "weekdays"] = "china"
    extra_holidays: frozenset[dt.date] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()
    appeal_window_workdays: int = Field(default=5, ge=0, le=365)
    appeal_accept_workdays: int = Field(default=3, ge=0, le=365)
    appeal_resolve_workdays: int = Field(default=10, ge=0, le=365)
    feedback_days: int = Field(default=7, ge=0, le=365)
    #: self-review and supervisor review, in working days after the cycle opened
    self_review_workdays: int = Field(default=3, ge=0, le=365)
    supervisor_review_workdays: int = Field(default=5, ge=0, le=365)
    #: reminders of a deadline start this many working days before it
    remind_ahead_workdays: int = Field(default=1, ge=0, le=365)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone such as Asia/Shanghai") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def local(self, at: dt.datetime) -> dt.datetime:
        """A stored time (naive UTC, as the database keeps it) in the configured zone, for
        people to read."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        return at.astimezone(self.zone)

    def data_path(self) -> Path:
        """The data directory (created on first use)."""
        if self.data_dir is not None:
            path = self.data_dir.expanduser()
        else:
            from platformdirs import user_data_dir

            path = Path(user_data_dir("kaohe", appauthor=False))
        path.mkdir(parents=True, exist_ok=True)
        return path

    def session_key(self) -> str:
        """``KAOHE_SECRET_KEY``, else the key kept in the data directory (made on first use,
        readable by its owner only), so a restart does not log everyone out."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        path = self.data_path() / "secret_key"
        if not path.exists():
            # written aside, then linked into place: two workers starting together agree
            # on one key, and nobody reads a half-written file
            tmp = path.with_name(f".secret_key.{os.getpid()}")
            tmp.write_text(secrets.token_urlsafe(48), "ascii")
            tmp.chmod(0o600)
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        key = path.read_text("ascii").strip()
        if len(key) < 32:
            raise KaoheError(f"{path}: the session key is shorter than 32 characters; delete "
                             "the file to make a new one, or set KAOHE_SECRET_KEY")
        return key


@functools.cache
def settings() -> Settings:
    """The settings of this process, read from the environment once."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = [f"KAOHE_{'_'.join(str(p) for p in e['loc']).upper()}: "
                 f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        raise KaoheError("invalid setting: " + "; ".join(lines)) from None
