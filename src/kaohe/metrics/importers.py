"""Platform exports as they are (生意参谋, 飞鸽, 快手, generic CSV/XLSX) → kaohe inputs.

A mapping file (YAML; the known platforms' ship with kaohe) names the employee column,
an optional period column, summary rows to skip, and for each kaohe input id the headers
it may appear under. Values are parsed as people write them: ``96.5%``, ``2分30秒``,
``1.2万``, ``1,234.50``, ``-`` for missing. UTF-8 (with or without BOM), GB18030 and XLSX
are read. Every error names the file, row and column.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from kaohe.errors import InputError, KaoheError
from kaohe.ingest.table import read_raw

PLATFORMS = ("sycm", "qianniu", "feige", "kuaishou", "generic")
RATIO_IDS = {"conversion", "reply_rate", "fast_reply_rate", "satisfaction", "slow_rate"}
SECONDS_IDS = {"response_s", "first_response_s"}
MISSING = {"", "-", "--", "—", "/", "N/A", "n/a", "暂无", "无"}

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)\s*(?:小时|时|h))?\s*(?:(\d+(?:\.\d+)?)\s*(?:分钟|分|m))?"
                       r"\s*(?:(\d+(?:\.\d+)?)\s*(?:秒|s))?$")
_PERIOD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})")
# a unit in brackets that says what kaohe assumes anyway: dropped when matching headers
# (a header in minutes, 平均响应时长(分钟), is not: its numbers would be read as seconds)
_UNIT = re.compile(r"\((秒|s|%|元|人|个|次|单)\)$", re.IGNORECASE)
SUGGEST_CUTOFF = 0.5  # difflib ratio below which no header is "close"


def normalise(header: str) -> str:
    """A header as compared: full-width forms folded (（）→ ()), spaces removed, a unit
    suffix that changes nothing dropped."""
    h = unicodedata.normalize("NFKC", header)
    h = re.sub(r"\s+", "", h)
    return _UNIT.sub("", h)


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
class Unmapped:
    """A column of the export that no input takes, and what it might be."""

    header: str
    ident: str | None = None  # the kaohe input of the closest known header
    known: str | None = None  # that header
    score: float = 0.0

    def describe(self) -> str:
        if self.ident is None:
            return f"{self.header!r}: not imported (no known header is close)"
        return (f"{self.header!r}: not imported; closest known header {self.known!r} "
                f"({self.ident}, similarity {self.score:.2f})")


@dataclass(frozen=True)
class Imported:
    rows: list[dict[str, Any]]
    columns: list[str]
    skipped: int
    unmapped: list[Unmapped] = field(default_factory=list)
    source_columns: dict[str, str] = field(default_factory=dict)  # input id → header


def known_headers(mappings: list[Mapping]) -> dict[str, str]:
    """Every header spelling of the mappings → its input id (``employee``, ``period`` for
    those columns), first mapping first."""
    out: dict[str, str] = {}
    for m in mappings:
        for h in m.employee:
            out.setdefault(h, "employee")
        for h in m.period:
            out.setdefault(h, "period")
        for ident, names in m.columns.items():
            for h in names:
                out.setdefault(h, ident)
    return out


def closest(header: str, known: dict[str, str]) -> Unmapped:
    """The known header most like ``header`` (difflib's ratio on normalised text)."""
    n = normalise(header)
    best, score = None, 0.0
    for k in known:
        r = difflib.SequenceMatcher(None, n, normalise(k)).ratio()
        if r > score:
            best, score = k, r
    if best is None or score < SUGGEST_CUTOFF:
        return Unmapped(header)
    return Unmapped(header, known[best], best, score)


def all_mappings() -> list[Mapping]:
    return [load_mapping(p) for p in PLATFORMS]


def import_export(path: str | Path, mapping: Mapping, *, period: str | None = None,
                  strict: bool = False) -> Imported:
    """The export's rows as kaohe inputs. Columns no input takes are listed in
    ``unmapped`` with the closest known header; with ``strict`` any such column is an
    error and nothing is imported."""
    frame, source = read_raw(path)
    headers: dict[str, str] = {}
    for h in frame.columns:
        headers.setdefault(normalise(h), h)

    def find(names: list[str]) -> str | None:
        return next((headers[normalise(n)] for n in names if normalise(n) in headers), None)

    emp_col = find(mapping.employee)
    if emp_col is None:
        raise InputError(f"no employee column; expected one of {', '.join(mapping.employee)}",
                         file=source, row=1, column=mapping.employee[0])
    per_col = find(mapping.period) if mapping.period else None
    if per_col is None and period is None:
        raise InputError("the export has no date column; give --period YYYY-MM", file=source)
    found = {ident: col for ident, names in mapping.columns.items()
             if (col := find(names)) is not None}
    used = {emp_col, per_col, *found.values()}
    known = known_headers([mapping, *all_mappings()])
    unmapped = [closest(h, known) for h in frame.columns if h not in used and h.strip()]
    if strict and unmapped:
        raise InputError("--strict: these columns would not be imported:\n  "
                         + "\n  ".join(u.describe() for u in unmapped)
                         + "\nmap them in a mapping file (kaohe metrics mapping init) or "
                           "remove them from the export", file=source, row=1)
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
    return Imported(rows, ["employee", "period", *found], skipped, unmapped,
                    {"employee": emp_col, **({"period": per_col} if per_col else {}),
                     **found})


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


def guess_mapping(path: str | Path, platform: str | None = None) -> tuple[str, str]:
    """A mapping file (YAML text) for this export with kaohe's best guesses, and the
    platform it was based on: headers a known mapping lists are mapped; others get the
    input of the closest known header, marked for checking; the rest are left as comments.
    """
    frame, source = read_raw(path)
    mappings = {p: load_mapping(p) for p in PLATFORMS}
    if platform is None:  # the platform whose spellings match most headers
        def hits(m: Mapping) -> int:
            names = {normalise(h) for h in known_headers([m])}
            return sum(normalise(h) in names for h in frame.columns)
        platform = max(PLATFORMS, key=lambda p: hits(mappings[p]))
    if platform not in mappings:
        raise KaoheError(f"unknown platform {platform!r}; known: {', '.join(PLATFORMS)}")
    base = mappings[platform]
    exact = {normalise(h): i for h, i in known_headers([base]).items()}
    known = known_headers([base, *mappings.values()])
    exact_any = {normalise(h): i for h, i in known.items()}
    chosen: dict[str, list[tuple[str, str]]] = {}  # ident → [(header, note)]
    left: list[str] = []
    for h in frame.columns:
        if not h.strip():
            continue
        n = normalise(h)
        if n in exact:
            chosen.setdefault(exact[n], []).append((h, ""))
        elif n in exact_any:
            chosen.setdefault(exact_any[n], []).append((h, "known header of another platform"))
        else:
            u = closest(h, known)
            if u.ident is None:
                left.append(h)
            else:
                chosen.setdefault(u.ident, []).append(
                    (h, f"GUESS: like {u.known!r} ({u.score:.2f}); check"))
    if "employee" not in chosen:
        raise InputError("no column looks like the employee (客服账号, 旺旺, 子账号 …); "
                         "write the mapping by hand", file=source, row=1)
    lines = [f"# Mapping for {Path(path).name}, written by kaohe metrics mapping init from "
             f"the {platform} mapping.",
             "# Check every line marked GUESS, then: kaohe metrics import --mapping THIS_FILE",
             f"platform: {platform}", f"name: {_yaml_str(base.name + ' (edited)')}"]

    def entry(key: str, pairs: list[tuple[str, str]], indent: str = "") -> None:
        lines.append(f"{indent}{key}: [{', '.join(_yaml_str(h) for h, _ in pairs)}]"
                     + "".join(f"  # {h}: {note}" for h, note in pairs if note))

    entry("employee", chosen.pop("employee"))
    if "period" in chosen:
        entry("period", chosen.pop("period"))
    lines.append(f"skip_rows_where_employee: [{', '.join(map(_yaml_str, base.skip_rows_where_employee))}]")
    lines.append("columns:")
    for ident in sorted(chosen, key=lambda i: list(known.values()).index(i)):
        entry(ident, chosen[ident], "  ")
    for h in left:
        lines.append(f"  # not mapped, nothing close: {h}  (add it under the input it holds)")
    text = "\n".join(lines) + "\n"
    Mapping.model_validate(yaml.safe_load(text))  # what we write must load
    return text, platform


def _yaml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


__all__ = ["PLATFORMS", "Imported", "Mapping", "Unmapped", "closest", "guess_mapping",
           "import_export", "known_headers", "load_mapping", "normalise", "parse_value",
           "write_inputs"]
