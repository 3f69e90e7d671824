"""Platform exports as they are (生意参谋, 飞鸽, 快手, generic CSV/XLSX) → kaohe inputs.

A mapping file (YAML; the known platforms' ship with kaohe) names the employee column,
an optional period column, summary rows to skip, and for each kaohe input id the headers
it may appear under. Values are parsed as people write them: ``96.5%``, ``2分30秒``,
``1.2万``, ``1,234.50``, ``-`` for missing. UTF-8 (with or without BOM), GB18030 and XLSX
are read. Every error names the file, row and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from kaohe.errors import InputError, KaoheError
from kaohe.ingest.table import read_raw

PLATFORMS = ("sycm", "feige", "kuaishou", "generic")
RATIO_IDS = {"conversion", "reply_rate", "fast_reply_rate", "satisfaction", "slow_rate"}
SECONDS_IDS = {"response_s", "first_response_s"}
MISSING = {"", "-", "--", "—", "/", "N/A", "n/a", "暂无", "无"}

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)\s*(?:小时|时|h))?\s*(?:(\d+(?:\.\d+)?)\s*(?:分钟|分|m))?"
                       r"\s*(?:(\d+(?:\.\d+)?)\s*(?:秒|s))?$")
_PERIOD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})")


class Mapping(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: str
    name: str = ""
    employee: list[str]
    period: list[str] = []
    skip_rows_where_employee: list[str] = []
    columns: dict[str, list[str]]


def load_mapping(platform: str | None = None, path: str | Path | None = None) -> Mapping:
    if path is not None:
        source = str(path)
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise KaoheError(f"{source}: cannot read the mapping file: {exc.strerror}") from None
    else:
        if platform not in PLATFORMS:
            raise KaoheError(f"unknown platform {platform!r}; known: {', '.join(PLATFORMS)}")
        source = f"mapping {platform}"
        text = resources.files(__package__).joinpath(f"mappings/{platform}.yaml").read_text(
            "utf-8")
    try:
        return Mapping.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise KaoheError(f"{source}: not a valid mapping file: {exc}") from None


def parse_value(text: str, ident: str) -> Decimal | None:
    """A number as written in an export; None for a missing value. Raises ValueError."""
    raw = text.strip().replace(",", "").replace("，", "")
    if raw in MISSING:
        return None
    scale = Decimal(1)
    if raw.endswith("万"):
        raw, scale = raw[:-1], Decimal(10000)
    elif raw.endswith("亿"):
        raw, scale = raw[:-1], Decimal(100000000)
    raw = raw.removeprefix("¥").removeprefix("￥").removesuffix("元").strip()
    if raw.endswith("%"):
        return _dec(raw[:-1]) / 100
    if ident in SECONDS_IDS or any(u in raw for u in ("秒", "分", "时", "h", "m", "s")):
        m = _DURATION.match(raw)
        if m and any(m.groups()):
            h, mi, s = (Decimal(g) if g else Decimal(0) for g in m.groups())
            return h * 3600 + mi * 60 + s
    value = _dec(raw) * scale
    if ident in RATIO_IDS and value > 1:
        # a ratio written as a percent number without the sign (96.5 for 96.5%)
        return value / 100
    return value


def _dec(raw: str) -> Decimal:
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ValueError(raw) from None


@dataclass(frozen=True)
class Imported:
    rows: list[dict[str, Any]]
    columns: list[str]
    skipped: int


def import_export(path: str | Path, mapping: Mapping, *, period: str | None = None) -> Imported:
    frame, source = read_raw(path)
    headers = {h.strip(): h for h in frame.columns}

    def find(names: list[str]) -> str | None:
        return next((headers[n] for n in names if n in headers), None)

    emp_col = find(mapping.employee)
    if emp_col is None:
        raise InputError(f"no employee column; expected one of {', '.join(mapping.employee)}",
                         file=source, row=1, column=mapping.employee[0])
    per_col = find(mapping.period) if mapping.period else None
    if per_col is None and period is None:
        raise InputError("the export has no date column; give --period YYYY-MM", file=source)
    found = {ident: col for ident, names in mapping.columns.items()
             if (col := find(names)) is not None}
    if not found:
        raise InputError("none of the mapped metric columns is in this file; is it the right "
                         f"platform ({mapping.name})?", file=source, row=1)
    rows: list[dict[str, Any]] = []
    skipped = 0
    seen: dict[tuple[str, str], int] = {}
    data = frame.with_row_index("__r", offset=2).to_dicts()
    for r in data:
        emp = (r.get(emp_col) or "").strip()
        if not emp or emp in mapping.skip_rows_where_employee or any(
                emp.startswith(s) for s in mapping.skip_rows_where_employee):
            skipped += 1
            continue
        row_no = int(r["__r"])
        p = period
        if per_col is not None and (r.get(per_col) or "").strip():
            m = _PERIOD.match(r[per_col].strip())
            if not m or not 1 <= int(m.group(2)) <= 12:
                raise InputError("expected a date such as 2026-10 or 2026-10-01", file=source,
                                 row=row_no, column=per_col, value=r[per_col])
            p = f"{m.group(1)}-{int(m.group(2)):02d}"
        if p is None:
            raise InputError("the date is empty; give --period YYYY-MM", file=source,
                             row=row_no, column=per_col)
        key = (emp, p)
        if key in seen:
            raise InputError(f"{emp!r} appears twice for {p} (row {seen[key]} too)",
                             file=source, row=row_no, column=emp_col, value=emp)
        seen[key] = row_no
        out: dict[str, Any] = {"employee": emp, "period": p}
        for ident, col in found.items():
            cell = r.get(col)
            try:
                out[ident] = None if cell is None else parse_value(str(cell), ident)
            except ValueError:
                raise InputError("not a number as exports write them (e.g. 96.5%, 2分30秒, "
                                 "1.2万, 1,234.50, - for missing)", file=source, row=row_no,
                                 column=col.strip(), value=cell) from None
        rows.append(out)
    if not rows:
        raise InputError("no agent rows (only summary rows or none at all)", file=source)
    return Imported(rows, ["employee", "period", *found], skipped)


def write_inputs(imported: Imported, path: Path) -> None:
    import csv

    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(imported.columns)
        for r in imported.rows:
            w.writerow(["" if r.get(c) is None else (
                format(r[c].normalize(), "f") if isinstance(r[c], Decimal) else r[c])
                for c in imported.columns])
    tmp.replace(path)


__all__ = ["PLATFORMS", "Imported", "Mapping", "import_export", "load_mapping", "parse_value",
           "write_inputs"]
