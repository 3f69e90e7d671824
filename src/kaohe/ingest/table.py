"""Read an input table (CSV or XLSX) for a scheme into typed, validated columns.

Headers may be the input ids or their Chinese labels. Text is UTF-8 (with or without BOM)
or GB18030. Every problem is reported as an :class:`InputError` naming the file, the row
(the header is row 1), the column and the value; nothing is returned half-read.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl

from kaohe.columns import EMPLOYEE, NAME, PERIOD, PIDX, ROW, TEAM, InputTable, input_col
from kaohe.errors import InputError
from kaohe.numbers import DEC, dlit
from kaohe.scheme.models import InputSpec, Scheme
from kaohe.text import N_, Text

__all__ = [
    "KIND",
    "NAME",
    "ROW",
    "InputTable",
    "ItemRows",
    "collecting",
    "decode",
    "fail",
    "map_headers",
    "prepare",
    "prepare_items",
    "problem",
    "read_items",
    "read_raw",
    "read_table",
]
#: at most this many problems are listed by :func:`collecting` (the rest are counted)
MAX_LISTED = 500
_collector: ContextVar[list[InputError] | None] = ContextVar("kaohe_input_errors", default=None)

STANDARD_COLUMNS: dict[str, tuple[str, ...]] = {
    EMPLOYEE: ("employee", "工号", "员工工号", "员工编号", "员工", "employee_id"),
    NAME: ("name", "姓名", "员工姓名"),
    TEAM: ("team", "团队", "组别", "小组", "部门"),
    PERIOD: ("period", "考核周期", "周期", "月份", "考核月份"),
}

_PERIOD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?%?$")
PERCENT_TYPES = {"ratio", "number", "score"}
NON_NEGATIVE = {"count", "money", "ratio"}


def decode(raw: bytes, source: str) -> str:
    if not raw.strip():
        raise InputError(Text(N_("the file is empty; expected a header row and one row per "
                                 "employee")),
                         file=source)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            return raw.decode("gb18030")
        except UnicodeDecodeError:
            row = raw[: utf8_error.start].count(b"\n") + 1
            raise InputError(Text(
                N_("cannot decode the file as UTF-8 or GB18030 (first bad byte %(byte)s at "
                   "byte %(at)s); save it as UTF-8 CSV"),
                byte=f"0x{raw[utf8_error.start]:02x}", at=utf8_error.start),
                file=source, row=row) from None


def read_raw(path: str | Path) -> tuple[pl.DataFrame, str]:
    """Read a CSV or XLSX file into a frame of text cells, header mapped as written."""
    p = Path(path)
    source = str(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(Text(N_("cannot read the file: %(reason)s"), reason=exc.strerror),
                         file=source) from None
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(raw, source), source
    text = decode(raw, source)
    _csv_within_limits(text, source)
    try:
        frame = pl.read_csv(
            io.StringIO(text), infer_schema=False, has_header=True, truncate_ragged_lines=False,
            raise_if_empty=True,
        )
    except (pl.exceptions.PolarsError, ValueError) as exc:
        _locate_csv_problem(text, source)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(Text(N_("not a readable CSV table: %(detail)s"), detail=first),
                         file=source) from None
    dup = next((c for c in frame.columns if _DUPLICATED.search(c)), None)
    if dup is not None:
        name = _DUPLICATED.sub("", dup)
        raise InputError(Text(N_("the column %(name)s appears twice in the header; keep one"),
                              name=repr(name)),
                         file=source, row=1, column=name)
    return frame, source


_DUPLICATED = re.compile(r"_duplicated_\d+$")


def _locate_csv_problem(text: str, source: str) -> None:
    """Find the record the CSV reader choked on (a row with too many fields)."""
    import csv

    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
        for n, record in enumerate(reader, start=2):
            if len(record) > len(header):
                raise InputError(Text(N_("the row has %(fields)s fields but the header has "
                                         "%(header)s"), fields=len(record), header=len(header)),
                                 file=source, row=n)
    except csv.Error as exc:
        raise InputError(Text(N_("not a readable CSV table: %(detail)s"), detail=str(exc)),
                         file=source,
                         row=reader.line_num) from None


def _limits() -> tuple[int, int, int]:
    from kaohe.settings import settings

    conf = settings()
    return conf.max_rows, conf.max_columns, conf.max_cells


def _too_big(what: Text, source: str, row: int | None = None) -> InputError:
    return InputError(Text(N_("%(what)s; split the file or remove what is not needed"),
                           what=what), file=source, row=row)


def _csv_within_limits(text: str, source: str) -> None:
    """Rows, columns and cells within the limits (``KAOHE_MAX_ROWS`` …), checked before the
    table is parsed: a sheet of 100 000 columns is refused, not read."""
    import csv

    max_rows, max_columns, max_cells = _limits()
    first = text.split("\n", 1)[0]
    if len(first) > 64 * max_columns:  # too long to parse: count its separators
        header = first.split(",")
    else:
        try:
            header = next(csv.reader(io.StringIO(first)), [])
        except csv.Error:
            header = first.split(",")
    if len(header) > max_columns:
        raise _too_big(Text(N_("the header has %(n)s columns, more than the %(max)s allowed"),
                            n=len(header), max=max_columns), source, row=1)
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if lines - 1 > max_rows:
        raise _too_big(Text(N_("the file has %(n)s lines, more than the %(max)s rows allowed"),
                            n=lines - 1, max=max_rows), source)
    if (lines - 1) * max(len(header), 1) > max_cells:
        raise _too_big(Text(N_("the table has more than %(max)s cells"), max=max_cells), source)


#: an xlsx is a zip: its parts unpacked may not exceed this many times the upload limit
XLSX_INFLATION = 5


def _read_xlsx(raw: bytes, source: str) -> pl.DataFrame:
    """The first sheet as text cells. The size the workbook declares for itself is ignored
    (``reset_dimensions``): rows are read as they are, up to the limits, and a workbook whose
    parts would unpack to far more than it weighs is refused before opening."""
    try:
        from openpyxl import load_workbook  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - openpyxl ships with kaohe[xlsx]
        raise InputError("reading .xlsx needs openpyxl (pip install openpyxl)",
                         file=source) from None
    import zipfile

    from kaohe.settings import settings

    max_rows, max_columns, max_cells = _limits()
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InputError(Text(N_("not a readable xlsx workbook: %(detail)s"), detail=str(exc)),
                         file=source) from None
    if unpacked > XLSX_INFLATION * settings().max_upload_bytes:
        raise _too_big(Text(N_("the workbook unpacks to %(mb)s MB"),
                            mb=unpacked // 2**20), source)
    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # never trust the declared A1:XFD1048576
        rows: list[tuple[object, ...]] = []
        cells = 0
        for n, r in enumerate(ws.iter_rows(values_only=True), start=1):
            if len(r) > max_columns:
                last = max((i for i, v in enumerate(r) if v is not None), default=-1) + 1
                if last > max_columns:
                    raise _too_big(Text(N_("the row has a value in column %(n)s, beyond the "
                                           "%(max)s columns allowed"), n=last, max=max_columns),
                                   source, row=n)
                r = r[:max_columns]
            if n - 1 > max_rows:
                raise _too_big(Text(N_("the sheet has more than %(max)s rows"), max=max_rows),
                               source, row=n)
            cells += len(r)
            if cells > max_cells:
                raise _too_big(Text(N_("the sheet has more than %(max)s cells"), max=max_cells),
                               source, row=n)
            rows.append(r)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(Text(N_("not a readable xlsx workbook: %(detail)s"), detail=str(exc)),
                         file=source) from None
    while rows and all(v is None or str(v).strip() == "" for v in rows[-1]):
        rows.pop()  # trailing empty rows (formatting, not data)
    if not rows:
        raise InputError(Text(N_("the workbook's first sheet is empty")), file=source)
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    width = len(header)
    data = [tuple(r[:width]) + (None,) * (width - len(r)) for r in rows[1:]]
    beyond = next(((i, r) for i, r in enumerate(rows[1:], start=2)
                   if any(v is not None and str(v).strip() for v in r[width:])), None)
    if beyond is not None:
        i, r = beyond
        col = next(j for j, v in enumerate(r) if j >= width and v is not None and str(v).strip())
        raise InputError(Text(N_("a value right of the last header column %(header)s has no "
                                 "header of its own; give the column a header or delete "
                                 "the value"), header=repr(header[-1] if header else "")),
                         file=source, row=i, column=_letter(col), value=_cell(r[col]))
    keep: list[int] = []
    seen: dict[str, int] = {}
    for j, h in enumerate(header):
        if not h:
            if any(r[j] is not None and str(r[j]).strip() for r in data):
                raise InputError(Text(N_("column %(column)s has values but no header"),
                                      column=_letter(j)), file=source, row=1,
                                 column=_letter(j))
            continue  # an empty column between tables or beside a note
        if h in seen:
            raise InputError(Text(N_("the column %(name)s appears twice in the header; keep "
                                     "one"), name=repr(h)), file=source, row=1, column=h)
        seen[h] = j
        keep.append(j)
    cols = {header[j]: [None if r[j] is None else _cell(r[j]) for r in data] for j in keep}
    return pl.DataFrame(cols, schema=dict.fromkeys(cols, pl.String))


def _letter(index: int) -> str:
    """A zero-based column index as the spreadsheet's letters (0 → A, 26 → AA)."""
    out = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _cell(v: object) -> str:
    if isinstance(v, float):
        return repr(v) if v != int(v) else str(int(v))
    return str(v)


@contextmanager
def collecting() -> Iterator[list[InputError]]:
    """Within this block, row-level problems are appended to the yielded list instead of
    raised, so a preview can show every one of them (structural problems, such as a missing
    column, still raise: nothing after them can be checked)."""
    found: list[InputError] = []
    token = _collector.set(found)
    try:
        yield found
    finally:
        _collector.reset(token)


def problem(error: InputError) -> None:
    """Report a row-level problem: raised, or listed inside :func:`collecting`. Past
    :data:`MAX_LISTED` problems the check stops (a sheet of 150 000 wrong rows is not worth
    reading to the end): the last one listed says so."""
    found = _collector.get()
    if found is None:
        raise error
    if len(found) >= MAX_LISTED:
        raise InputError(Text(N_("more than %(n)s problems; the first %(n)s are listed and the "
                                 "rest of the file was not checked"), n=MAX_LISTED),
                         file=error.file)
    found.append(error)


def fail(source: str, frame: pl.DataFrame, mask: pl.Series, column: str, header: str,
          message: str) -> None:
    """Raise for the first row where ``mask`` holds (inside :func:`collecting`: list every
    such row)."""
    hits = frame.filter(mask)
    if not hits.height:
        return
    found = _collector.get()
    limit = 1 if found is None else max(0, MAX_LISTED - len(found))
    for r in hits.head(max(limit, 1)).iter_rows(named=True):
        problem(InputError(message, file=source, row=int(r[ROW]), column=header,
                           value=r.get(column)))


def map_headers(frame: pl.DataFrame, scheme: Scheme, source: str) -> dict[str, str]:
    """Map each recognised header to its canonical id; refuse duplicates."""
    lookup: dict[str, str] = {}
    for canon, standard in STANDARD_COLUMNS.items():
        for n in standard:
            lookup.setdefault(n, canon)
    for ident, spec in scheme.inputs.items():
        names = [ident, *([spec.label] if spec.label else []), *spec.aliases]
        if spec.raters:
            for r in spec.raters:
                for n in names:
                    lookup[f"{n}@{r}"] = f"{ident}@{r}"
        else:
            for n in names:
                lookup[n] = ident
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    for header in frame.columns:
        found = lookup.get(header.strip())
        if found is None:
            continue  # extra columns are ignored
        canon = found
        if canon in seen:
            raise InputError(
                Text(N_("columns %(first)s and %(second)s both give %(canon)s; keep one"),
                     first=repr(seen[canon]), second=repr(header), canon=repr(canon)),
                file=source, row=1, column=header)
        seen[canon] = header
        mapping[header] = canon
    return mapping


def read_table(path: str | Path | list[Path], scheme: Scheme, *,
               default_period: str | None = None) -> InputTable:
    """One input file, or several joined on employee and period (e.g. the metrics computed
    from logs beside a sheet of ratings); a column may come from one file only."""
    paths = path if isinstance(path, list) else [Path(path)]
    frame, source = read_raw(paths[0])
    for extra in paths[1:]:
        frame = _join_inputs(frame, source, *read_raw(extra), scheme)
        source = f"{source} + {extra}"
    return prepare(frame, scheme, source, default_period=default_period)


def _join_inputs(left: pl.DataFrame, left_src: str, right: pl.DataFrame, right_src: str,
                 scheme: Scheme) -> pl.DataFrame:
    lmap = map_headers(left, scheme, left_src)
    rmap = map_headers(right, scheme, right_src)
    if EMPLOYEE not in rmap.values():
        raise InputError("missing column 'employee' (工号): needed to join the files",
                         file=right_src, column="employee")
    keys = [k for k in (EMPLOYEE, PERIOD) if k in lmap.values() and k in rmap.values()]
    shared = (set(lmap.values()) & set(rmap.values())) - set(keys) - {TEAM, NAME}
    if shared:
        col = sorted(shared)[0]
        raise InputError(f"column {col!r} is in {left_src} too; give each input in one file",
                         file=right_src, row=1, column=col)
    lf = left.rename(lmap).select(list(lmap.values()))
    rf = right.rename(rmap).select([c for c in rmap.values() if c not in (TEAM, NAME)
                                    or c in keys])
    rf = rf.with_columns([pl.col(k).str.strip_chars() for k in keys])
    lf = lf.with_columns([pl.col(k).str.strip_chars() for k in keys])
    return lf.join(rf, on=keys, how="full", coalesce=True, maintain_order="left_right")


def prepare(frame: pl.DataFrame, scheme: Scheme, source: str, *,
            default_period: str | None = None, partial: bool = False) -> InputTable:
    """Validate and type a table of text cells. ``partial``: some inputs may be absent (an
    update of a few columns); the columns present are checked all the same."""
    if frame.width == 0:
        raise InputError(Text(N_("the file has no header row")), file=source)
    if frame.height == 0:
        raise InputError(Text(N_("the file has a header but no data rows")), file=source)
    mapping = map_headers(frame, scheme, source)
    header_of = {canon: header for header, canon in mapping.items()}
    frame = frame.with_row_index(ROW, offset=2)
    # lines with no value at all (blank lines) are not rows
    frame = frame.filter(~pl.all_horizontal(
        [pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "")
         for c in frame.columns if c != ROW]))
    if frame.height == 0:
        raise InputError(Text(N_("the file has a header but no data rows")), file=source)
    frame = frame.select(ROW, *list(mapping)).rename(mapping)
    frame = frame.with_columns(
        [pl.col(c).str.strip_chars().replace("", None) for c in frame.columns if c != ROW]
    )

    if EMPLOYEE not in frame.columns:
        raise InputError(Text(N_("missing column 'employee' (工号): every row needs an "
                                 "employee id")),
                         file=source, column="employee")
    fail(source, frame, frame[EMPLOYEE].is_null(), EMPLOYEE, header_of[EMPLOYEE],
          Text(N_("the employee id is empty")))

    has_team = TEAM in frame.columns
    has_period = PERIOD in frame.columns
    has_name = NAME in frame.columns
    if not has_team:
        frame = frame.with_columns(pl.lit("", dtype=pl.String).alias(TEAM))
    else:
        frame = frame.with_columns(pl.col(TEAM).fill_null(""))
    kinds: set[str] = {str(spec.period) for spec in scheme.inputs.values()} - {"month"}
    frame = _periods(frame, source, header_of, has_period, default_period, kinds)
    if kinds:  # a cell that belongs to the other kind of row is ignored
        frame = frame.with_columns([
            pl.when(pl.col(KIND) == spec.period).then(pl.col(c)).alias(c)
            for ident, spec in scheme.inputs.items()
            for c in ([f"{ident}@{r}" for r in spec.raters] if spec.raters else [ident])
            if c in frame.columns])

    dup = frame.select(PERIOD, EMPLOYEE, ROW).with_columns(
        pl.col(ROW).min().over([PERIOD, EMPLOYEE]).alias("__first"))
    dups = dup.filter(pl.col(ROW) != pl.col("__first"))
    for r in dups.iter_rows(named=True):
        problem(InputError(
            Text(N_("duplicate row for employee %(employee)s in period %(period)s: row "
                    "%(first)s has it already"), employee=repr(r[EMPLOYEE]),
                 period=r[PERIOD] or "(none)", first=r["__first"]), file=source, row=int(r[ROW]),
            column=header_of[EMPLOYEE], value=r[EMPLOYEE]))

    converted: list[pl.Series] = []
    parsed: list[pl.Expr] = []
    checks: list[tuple[str, pl.Expr, str]] = []  # (column, bad-row mask, message)
    for ident, spec in scheme.inputs.items():
        columns = [f"{ident}@{r}" for r in spec.raters] if spec.raters else [ident]
        present = [c for c in columns if c in frame.columns]
        if partial and not present:
            continue
        if not present and spec.default is None and (spec.required or spec.raters):
            label = f" ({spec.label})" if spec.label else ""
            names = " or ".join(repr(c) for c in columns[:3])
            raise InputError(
                Text(N_("missing column %(names)s%(label)s; the scheme %(scheme)s needs it"),
                     names=names, label=label, scheme=repr(scheme.id)),
                file=source, column=columns[0])
        for col in columns:
            if col not in frame.columns:
                fill = spec.default if spec.type != "level" else None
                converted.append(pl.Series(input_col(col), [fill] * frame.height,
                                           dtype=pl.String if spec.type == "level" else DEC))
                continue
            expr, col_checks = _convert(col, spec)
            parsed.append(expr.alias(input_col(col)))
            checks += [(col, mask, msg) for mask, msg in col_checks]
    keep = [EMPLOYEE, TEAM, PERIOD, PIDX, ROW, KIND, *([NAME] if has_name else [])]
    masks = [mask.alias(f"__bad{i}") for i, (_, mask, _) in enumerate(checks)]
    table = frame.lazy().select(*keep, *parsed, *masks).collect()
    if masks:
        hits = table.select([pl.col(f"__bad{i}").any() for i in range(len(checks))]).row(0)
        # report the first failing check in column order, at its first row
        for i, hit in enumerate(hits):
            if hit:
                col, _, msg = checks[i]
                fail(source, frame, table[f"__bad{i}"].fill_null(False), col, header_of[col],
                      msg)
        table = table.drop([f"__bad{i}" for i in range(len(checks))])
    table = table.with_columns(converted)
    annual: pl.DataFrame | None = None
    if kinds:
        annual = table.filter(pl.col(KIND) != "month")
        table = table.filter(pl.col(KIND) == "month")
        if not partial:
            _annual_required(annual, scheme, source, header_of)
    table = table.drop(KIND)
    _team_level(table, scheme, source, header_of)
    # blanks in required inputs are checked by the engine, which knows who is assessed
    return InputTable(table, source, has_team, has_period, has_name, header_of, annual=annual)


def _annual_required(annual: pl.DataFrame, scheme: Scheme, source: str,
                     header_of: dict[str, str]) -> None:
    """A blank required input on a year or quarter row is bad input (the row has no other
    use: it is never excluded)."""
    for ident, spec in scheme.inputs.items():
        col = input_col(ident)
        if spec.period == "month" or not spec.required or spec.default is not None:
            continue
        if col not in annual.columns:
            continue
        blank = (annual[col].is_null() & (annual[KIND] == spec.period))
        label = f" ({spec.label})" if spec.label else ""
        fail(source, annual, blank, col, header_of.get(ident, ident),
             Text(N_("the value is missing%(label)s; the %(kind)s row of an employee needs "
                     "it"), label=label, kind=spec.period))


_YEAR = re.compile(r"^(\d{4})\s*年?$")
_QUARTER = re.compile(r"^(\d{4})\s*[-/.年]?\s*[Qq]([1-4])$")
#: the kind of each row: a month, or the year / quarter row of annual inputs
KIND = "__kind"


def _periods(frame: pl.DataFrame, source: str, header_of: dict[str, str], has_period: bool,
             default_period: str | None, kinds: set[str] | None = None) -> pl.DataFrame:
    """Canonical periods (``2026-10``) and month indexes; where the scheme has inputs of the
    year or quarter (``kinds``), rows whose period is ``2026`` or ``2026-Q4`` are kept too
    and marked in the ``__kind`` column (``month``, ``year``, ``quarter``)."""
    kinds = kinds or set()
    if not has_period:
        frame = frame.with_columns(pl.lit(default_period, dtype=pl.String).alias(PERIOD),
                                   pl.lit("month").alias(KIND))
        if default_period is None:
            return frame.with_columns(pl.lit(0, dtype=pl.Int64).alias(PIDX))
    raw = frame[PERIOD]
    parts = raw.str.extract_groups(_PERIOD.pattern)
    year = parts.struct.field("1").cast(pl.Int64, strict=False)
    month = parts.struct.field("2").cast(pl.Int64, strict=False)
    bad = raw.is_null() | year.is_null() | month.is_null() | (month < 1) | (month > 12)
    kind = pl.Series(KIND, ["month"] * frame.height, dtype=pl.String)
    canon = pl.format("{}-{}", year.cast(pl.String), month.cast(pl.String).str.zfill(2))
    canon_s = frame.select(canon.alias(PERIOD)).to_series()
    if "year" in kinds:
        y = raw.str.extract(_YEAR.pattern, 1)
        is_year = bad & y.is_not_null()
        kind = kind.zip_with(~is_year, pl.Series(["year"] * frame.height))
        canon_s = canon_s.zip_with(~is_year, y)
        bad = bad & ~is_year
    if "quarter" in kinds:
        q = raw.str.extract_groups(_QUARTER.pattern)
        qy, qn = q.struct.field("1"), q.struct.field("2")
        is_q = bad & qy.is_not_null()
        kind = kind.zip_with(~is_q, pl.Series(["quarter"] * frame.height))
        canon_s = canon_s.zip_with(~is_q, qy + "-Q" + qn)
        bad = bad & ~is_q
    header = header_of.get(PERIOD, "period")
    if bad.any():
        want = {frozenset(): N_("expected a month written YYYY-MM, e.g. 2026-10"),
                frozenset({"year"}): N_("expected a month written YYYY-MM, e.g. 2026-10, or "
                                        "a year written YYYY for the annual inputs"),
                frozenset({"quarter"}): N_("expected a month written YYYY-MM, e.g. 2026-10, "
                                           "or a quarter written YYYY-Qn for the quarterly "
                                           "inputs"),
                frozenset({"year", "quarter"}): N_("expected a month written YYYY-MM, e.g. "
                                                   "2026-10, a quarter YYYY-Qn or a year YYYY "
                                                   "for the quarterly and annual inputs")}
        fail(source, frame, bad, PERIOD, header, Text(want[frozenset(kinds)]))
    return frame.with_columns(
        canon_s.alias(PERIOD),
        (year * 12 + month - 1).alias(PIDX),
        kind,
    )


def _convert(col: str, spec: InputSpec) -> tuple[pl.Expr, list[tuple[pl.Expr, str]]]:
    """The parsed column and its checks (mask of bad rows, message), as expressions, so the
    whole table is parsed and checked in one pass."""
    s = pl.col(col)
    if spec.type == "level":
        assert spec.levels is not None
        mapping: dict[str, str] = {}
        for name, aliases in spec.levels.items():
            mapping[name] = name
            for a in aliases:
                mapping[a] = name
        canon = s.replace_strict(mapping, default=None, return_dtype=pl.String)
        return canon, [(s.is_not_null() & canon.is_null(),
                        Text(N_("unknown level; expected one of %(levels)s"),
                             levels=", ".join(spec.levels)))]
    text = s
    if spec.type != "count":
        text = pl.when(s.str.contains(_THOUSANDS.pattern)).then(
            s.str.replace_all(",", "")).otherwise(s)
    is_pct = text.str.ends_with("%").fill_null(False)
    checks: list[tuple[pl.Expr, str]] = []
    if spec.type not in PERCENT_TYPES:
        checks.append((is_pct, Text(N_("a percent is not allowed in a %(type)s column; write "
                                       "a plain number"), type=spec.type)))
    parsed = pl.when(is_pct).then(text.str.strip_suffix("%")).otherwise(text).cast(
        DEC, strict=False)
    checks.append((s.is_not_null() & parsed.is_null(),
                   Text(N_("not a number (expected %(what)s)"), what=_kind(spec))))
    num = pl.when(is_pct).then(parsed * dlit(Decimal("0.01"))).otherwise(parsed)
    if spec.type == "count":
        checks.append((num.is_not_null() & (num != num.floor()),
                       Text(N_("a count must be a whole number"))))
    if spec.type == "flag":
        checks.append((num.is_not_null() & (num != dlit(0)) & (num != dlit(1)),
                       Text(N_("expected 1 or 0"))))
    low = spec.min if spec.min is not None else (Decimal(0) if spec.type in NON_NEGATIVE
                                                 else None)
    if low is not None:
        what = ({"count": Text(N_("a negative count")), "money": Text(N_("a negative amount"))}
                .get(spec.type, Text(N_("a negative value"))) if low == 0
                else Text(N_("a value below the minimum %(min)s"), min=f"{low.normalize():f}"))
        checks.append((num.is_not_null() & (num < dlit(low)),
                       Text(N_("%(what)s is not allowed"), what=what)))
    if spec.max is not None:
        checks.append((num.is_not_null() & (num > dlit(spec.max)),
                       Text(N_("above the maximum %(max)s"), max=f"{spec.max.normalize():f}")))
    elif spec.type == "ratio":  # a share of something: at most all of it, unless the scheme
        checks.append((num.is_not_null() & (num > dlit(Decimal(1))),  # sets a `max`
                       Text(N_("a ratio above 100% (the scheme allows no more)"))))
    if spec.default is not None:
        num = num.fill_null(dlit(spec.default))
    return num.cast(DEC), checks


def _kind(spec: InputSpec) -> Text:
    return Text({
        "count": N_("a whole number of occurrences"),
        "money": N_("an amount such as 1280.50"),
        "ratio": N_("a ratio such as 0.965 or 96.5%"),
        "flag": N_("1 or 0"),
        "score": N_("a score"),
    }.get(spec.type, N_("a number")))


def _team_level(table: pl.DataFrame, scheme: Scheme, source: str,
                header_of: dict[str, str]) -> None:
    for ident, spec in scheme.inputs.items():
        col = input_col(ident)
        if not spec.team_level or col not in table.columns:
            continue
        # blanks (e.g. on excluded rows) are not a disagreement; values must all be equal
        given = table.filter(pl.col(col).is_not_null()).sort(ROW)
        first = given.with_columns(
            pl.col(col).first().over([PERIOD, TEAM]).alias("__first"),
            pl.col(ROW).first().over([PERIOD, TEAM]).alias("__first_row"),
        )
        bad = first.filter(pl.col(col) != pl.col("__first"))
        for r in bad.iter_rows(named=True):
            problem(InputError(
                Text(N_("%(input)s must be the same on every row of team %(team)s in "
                        "%(period)s; row %(first)s has %(value)s"), input=repr(ident),
                     team=r[TEAM] or "(none)", period=r[PERIOD] or "the period",
                     first=r["__first_row"], value=_show(r["__first"])),
                file=source, row=int(r[ROW]),
                column=header_of.get(ident, ident), value=_show(r[col])))


def _show(v: object) -> str:
    if isinstance(v, Decimal):
        return format(v.normalize(), "f")
    return str(v)


# -- item tables ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ItemRows:
    """A validated item table (``--table NAME=FILE.csv``): ``employee``, ``period``,
    ``__row`` and one ``in:<column>`` per declared column, typed as inputs are."""

    name: str
    frame: pl.DataFrame
    source: str


def read_items(path: str | Path, scheme: Scheme, name: str, *,
               default_period: str | None = None) -> ItemRows:
    """Read the item table ``name`` of the scheme from a CSV or XLSX file."""
    frame, source = read_raw(path)
    return prepare_items(frame, scheme, name, source, default_period=default_period)


def prepare_items(frame: pl.DataFrame, scheme: Scheme, name: str, source: str, *,
                  default_period: str | None = None) -> ItemRows:
    """Validate and type an item table given as text cells (a CSV read, or an upload)."""
    spec = scheme.items.get(name)
    if spec is None:
        known = ", ".join(sorted(scheme.items)) or "none"
        raise InputError(Text(N_("the scheme %(scheme)s has no item table %(name)s (item "
                                 "tables: %(known)s)"), scheme=repr(scheme.id), name=repr(name),
                              known=known), file=source)
    if frame.width == 0:
        raise InputError(Text(N_("the file has no header row")), file=source)
    lookup: dict[str, str] = {}
    for canon in (EMPLOYEE, PERIOD):
        for n in STANDARD_COLUMNS[canon]:
            lookup[n] = canon
    for ident, col in spec.columns.items():
        for n in [ident, *([col.label] if col.label else []), *col.aliases]:
            lookup[n] = ident
    mapping: dict[str, str] = {}
    for header in frame.columns:
        found = lookup.get(header.strip())
        if found is None:
            continue  # extra columns (a deal number, a note) are ignored
        if found in mapping.values():
            raise InputError(Text(N_("the column %(name)s appears twice in the header; keep "
                                     "one"), name=repr(found)), file=source, row=1,
                             column=header)
        mapping[header] = found
    header_of = {canon: header for header, canon in mapping.items()}
    frame = frame.with_row_index(ROW, offset=2)
    frame = frame.filter(~pl.all_horizontal(
        [pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "")
         for c in frame.columns if c != ROW])) if frame.width > 1 else frame
    frame = frame.select(ROW, *list(mapping)).rename(mapping)
    frame = frame.with_columns(
        [pl.col(c).str.strip_chars().replace("", None) for c in frame.columns if c != ROW])
    if EMPLOYEE not in frame.columns:
        raise InputError(Text(N_("missing column 'employee' (工号): every row needs an "
                                 "employee id")), file=source, column="employee")
    fail(source, frame, frame[EMPLOYEE].is_null(), EMPLOYEE, header_of[EMPLOYEE],
         Text(N_("the employee id is empty")))
    frame = _periods(frame, source, header_of, PERIOD in frame.columns, default_period)
    parsed: list[pl.Expr] = []
    checks: list[tuple[str, pl.Expr, str]] = []
    for ident, col in spec.columns.items():
        if ident not in frame.columns:
            if col.default is not None or not col.required:
                parsed.append(pl.lit(col.default, dtype=DEC).alias(input_col(ident)))
                continue
            label = f" ({col.label})" if col.label else ""
            raise InputError(Text(N_("missing column %(names)s%(label)s; the item table "
                                     "%(table)s needs it"), names=repr(ident), label=label,
                                  table=repr(name)), file=source, column=ident)
        expr, col_checks = _convert(ident, col)
        parsed.append(expr.alias(input_col(ident)))
        checks += [(ident, mask, msg) for mask, msg in col_checks]
        if col.required and col.default is None:
            checks.append((ident, pl.col(ident).is_null(),
                           Text(N_("the value is missing%(label)s"),
                                label=f" ({col.label})" if col.label else "")))
    masks = [mask.alias(f"__bad{i}") for i, (_, mask, _) in enumerate(checks)]
    table = frame.lazy().select(EMPLOYEE, PERIOD, PIDX, ROW, *parsed, *masks).collect()
    for i, (col_id, _, msg) in enumerate(checks):
        fail(source, frame, table[f"__bad{i}"].fill_null(False), col_id,
             header_of.get(col_id, col_id), msg)
    table = table.drop([f"__bad{i}" for i in range(len(checks))])
    return ItemRows(name, table, source)
