"""The rules file of the log metrics: every parameter with its default (metrics.md §2)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kaohe.errors import KaoheError

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
END_OF_DAY = "24:00"  # allowed as the end of service hours only (metrics.md §7)


class RulesError(KaoheError, ValueError):
    pass


class Rules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    idle_gap_s: int = Field(600, gt=0)
    service_hours: tuple[str, str] = ("08:00", "23:00")
    round_cap_s: int = Field(600, gt=0)
    slow_reply_s: int = Field(120, ge=0)
    slow_rounds_per_day: int = Field(3, gt=0)
    fast_reply_s: int = Field(180, ge=0)
    auto_prefixes: tuple[str, ...] = ()
    ad_patterns: tuple[str, ...] = ()
    one_line_filter: int = Field(0, ge=0)
    after_sales_days: int = Field(21, ge=0)
    attribution: Literal["order", "payment", "order_first"] = "order"
    validity_hours: int = Field(24, ge=0)
    final_payment_days: int = Field(3, ge=0)

    @field_validator("service_hours")
    @classmethod
    def _hours(cls, v: tuple[str, str]) -> tuple[str, str]:
        if not _HHMM.match(v[0]):
            raise ValueError(f"{v[0]!r} is not a time of day written HH:MM (00:00–23:59)")
        if v[1] != END_OF_DAY and not _HHMM.match(v[1]):
            raise ValueError(f"{v[1]!r} is not a time of day written HH:MM (00:00–23:59, "
                             f"or 24:00 for the end of the day)")
        if _seconds(v[0]) >= _seconds(v[1]):
            raise ValueError("the start of service hours must be before their end")
        return v

    @property
    def service_start_s(self) -> int:
        return _seconds(self.service_hours[0])

    @property
    def service_end_s(self) -> int:
        """Seconds after midnight, exclusive: 86400 for ``24:00`` (every later second counts)."""
        return _seconds(self.service_hours[1])


def _seconds(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 3600 + int(m) * 60


def load_rules(path: str | Path | None) -> Rules:
    if path is None:
        return Rules()
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except OSError as exc:
        raise RulesError(f"{p}: cannot read the rules file: {exc.strerror}") from None
    try:
        data: Any = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise RulesError(f"{p}: not valid {'JSON' if p.suffix.lower() == '.json' else 'YAML'}: "
                         f"{exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RulesError(f"{p}: the rules file must be a mapping of key: value")
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        msgs = []
        for err in exc.errors():
            key = ".".join(str(x) for x in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown key; known keys: {', '.join(Rules.model_fields)}"
            msgs.append(f"{p}: {key}: {msg}")
        raise RulesError("\n".join(msgs)) from None
