"""Scored results written straight from the result frame: the JSON document of rulebook §5,
CSV, the xlsx results sheet and the terminal table.

Every value is formatted by Polars expressions a whole column at a time; no Python object is
made per row or per number (the terminal table and the xlsx writer hand finished cells to
rich and xlsxwriter, which take them row by row). The JSON is byte for byte what
``json.dumps(to_document(...), ensure_ascii=False, indent=2)`` prints — the contract's
order of keys, Python's number and string spelling — so the output of a given input never
changes with the writer; ``tests/test_output.py`` holds the two side by side.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import polars as pl

from kaohe.columns import (
    ASSESSED,
    EMPLOYEE,
    NAME,
    PERIOD,
    REASON,
    TEAM,
    value_col,
)
from kaohe.numbers import DEC, dlit, round_half_up, to_json_number
from kaohe.reports.cells import WORKBOOK_OPTIONS, csv_text_expr, write_cells

if TYPE_CHECKING:
    from rich.table import Table

    from kaohe.engine.plan import Plan
    from kaohe.engine.run import AggregateMeta
    from kaohe.engine.score import Scored

ORDER = [PERIOD, TEAM, EMPLOYEE]  # the results' order in every format
CHUNK = 65_536  # JSON rows formatted at a time: bounds the text held in memory
WHY = REASON  # prefix of the reason columns in the result frame


@dataclass(frozen=True)
class Results:
    """The scored rows in output order, with what the writers need to know about them."""

    scored: Scored
    frame: pl.DataFrame  # sorted by period, team, employee; the engine's columns (+ why:<id>)
    reasons: list[str]  # line ids with a why:<id> column (empty without --reasons)
    explained: bool = False  # reasons were asked for (the JSON then has a reasons object)

    @property
    def indicators(self) -> list[tuple[str, str]]:
        return list(self.scored.outcome.plan.indicator_columns)

    @property
    def pay(self) -> list[tuple[str, str]]:
        return list(self.scored.outcome.plan.pay_columns)

    @property
    def sections(self) -> list[tuple[str, str]]:
        return list(self.scored.outcome.plan.section_columns)

    @property
    def flags(self) -> list[tuple[str, str]]:
        return list(self.scored.outcome.plan.flag_columns)

    @property
    def values(self) -> list[tuple[str, str]]:
        """(id, column) of the scheme's computed values."""
        return _subtotal_columns(self.scored.outcome.plan, self.frame)

    def has(self, column: str) -> bool:
        return column in self.frame.columns


def _subtotal_columns(plan: Plan, frame: pl.DataFrame) -> list[tuple[str, str]]:
    """(id, column) of the values that the engine computed (the sections are the plan's
    ``section_columns``)."""
    cols = [(x.id, value_col(x.id)) for x in plan.scheme.values]
    return [(i, c) for i, c in cols if c in frame.columns]


def collect(scored: Scored, *, reasons: bool = False, lang: str = "zh") -> Results:
    """The result frame in the order every format lists it (period, team, employee)."""
    outcome = scored.outcome
    plan = outcome.plan
    frame = outcome.frame
    cols = [PERIOD, EMPLOYEE, TEAM, ASSESSED]
    if scored.table.has_name and NAME in frame.columns:
        cols.append(NAME)
    cols += [c for c in ("total", "grade", "coefficient", "rank", "pay_total") if c in frame.columns]
    cols += [c for _, c in plan.indicator_columns] + [c for _, c in plan.pay_columns]
    cols += [c for _, c in plan.flag_columns] + [c for _, c in plan.section_columns]
    cols += [c for _, c in _subtotal_columns(plan, frame)]  # the computed values
    out = frame.select(list(dict.fromkeys(cols)))
    ids: list[str] = []
    if reasons:
        from kaohe.engine.explain import reason_frame

        why = reason_frame(plan, frame, lang=lang)
        ids = list(why.columns)  # every line explained: indicators, adjustments, total, pay …
        out = out.hstack([why[i].alias(WHY + i) for i in ids])
    out = out.sort(ORDER, nulls_last=False, maintain_order=True)
    return Results(scored, out, ids, explained=reasons)


# -- JSON ---------------------------------------------------------------------------------------
CENTS = pl.Decimal(38, 2)


def _strip(text: pl.Expr) -> pl.Expr:
    """``90.00`` → ``90``, ``56.50`` → ``56.5`` (the text always has a decimal point)."""
    return text.str.strip_chars_end("0").str.strip_chars_end(".")


def _in_cents(e: pl.Expr) -> pl.Expr:
    """Whether a value has at most two decimals (as the engine's rounded figures do)."""
    return e.is_null() | (e.cast(CENTS).cast(DEC) == e)


def _num_token(e: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """The JSON token of a Decimal column where it is spelt as Python's ``json.dumps`` spells
    ``to_json_number`` — integers, and other values of at most 15 significant digits and at
    least 1e-4 in size, whose float ``repr`` is their own digits — with a mask of the values
    that are not so (spelt by Python afterwards) and their exact text."""
    text = _strip(e.cast(pl.String))
    integral = ~text.str.contains(".", literal=True)
    digits = text.str.replace_all(r"[-.]", "").str.strip_chars_start("0").str.len_chars()
    plain = integral | ((digits <= 15) & (e.abs() >= dlit(Decimal("0.0001"))))
    token = pl.when(e.is_null()).then(pl.lit("null")).when(plain).then(text)
    return token, e.is_not_null() & ~plain, text


def _python_number(text: str) -> str:
    return json.dumps(to_json_number(Decimal(text)))


_ESCAPES = [("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"),
            ("\b", "\\b"), ("\f", "\\f")] + [
    (chr(i), f"\\u{i:04x}") for i in range(32) if chr(i) not in "\n\r\t\b\f"]
_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'


def _str_token(e: pl.Expr, escape: bool) -> pl.Expr:
    """A String column as JSON string tokens (``json.dumps(..., ensure_ascii=False)``)."""
    if escape:
        for a, b in _ESCAPES:
            e = e.str.replace_all(a, b, literal=True)
    return pl.when(e.is_null()).then(pl.lit("null")).otherwise(pl.concat_str(pl.lit('"'), e,
                                                                             pl.lit('"')))


def _key(name: str) -> str:
    return json.dumps(name, ensure_ascii=False)


class _Tokens:
    """Builds the JSON token expressions of one chunk, noting where Python must spell a
    number (rare: more than 15 significant digits, or a tiny fraction)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        schema = frame.schema
        strings = [c for c, t in schema.items() if t == pl.String]
        numbers = [c for c, t in schema.items() if isinstance(t, pl.Decimal) or t.is_numeric()]
        checks = [pl.col(c).str.contains(_NEEDS_ESCAPE).any().alias(f"s{k}")
                  for k, c in enumerate(strings)]
        checks += [(_in_cents(pl.col(c).cast(DEC)) & (pl.col(c).cast(DEC).abs() < dlit(10**13))
                    .fill_null(True)).all().alias(f"n{k}") for k, c in enumerate(numbers)]
        found = frame.select(checks).row(0) if checks and frame.height else ()
        self.escape = {c for c, f in zip(strings, found[:len(strings)], strict=False) if f}
        # numbers all in cents and below 10¹³: spelt as their own digits, no Python needed
        self.cents = {c for c, f in zip(numbers, found[len(strings):], strict=False) if f}
        self.fallback: list[str] = []  # token columns with values Python spells

    def value(self, column: str | None, name: str) -> list[pl.Expr]:
        """The token of ``column`` (``null`` for a missing column) named ``name`` (and, for a
        number, its Python-spelt values' mask and text)."""
        if column is None or column not in self.frame.columns:
            return [pl.lit("null").alias(name)]
        dtype = self.frame.schema[column]
        e = pl.col(column)
        if dtype == pl.String:
            return [_str_token(e, column in self.escape).alias(name)]
        if dtype == pl.Boolean:
            return [pl.when(e.is_null()).then(pl.lit("null")).when(e).then(pl.lit("true"))
                    .otherwise(pl.lit("false")).alias(name)]
        if (isinstance(dtype, pl.Decimal) or dtype.is_numeric()) and column in self.cents:
            text = _strip(e.cast(DEC).cast(CENTS).cast(pl.String))
            return [pl.when(e.is_null()).then(pl.lit("null")).otherwise(text).alias(name)]
        if isinstance(dtype, pl.Decimal) or dtype.is_numeric():
            token, mask, text = _num_token(e.cast(DEC))
            self.fallback.append(name)
            return [token.alias(name), mask.alias(f"{name}\0m"), text.alias(f"{name}\0t")]
        raise TypeError(f"no JSON spelling for column {column} of type {dtype}")

    def finish(self, tokens: pl.DataFrame) -> pl.DataFrame:
        """Fill in the numbers left to Python (only those rows are touched)."""
        for name in self.fallback:
            idx = tokens[f"{name}\0m"].arg_true()
            if idx.len():
                texts = tokens[f"{name}\0t"].gather(idx)
                spelt = pl.Series([_python_number(t) for t in texts], dtype=pl.String)
                tokens = tokens.with_columns(tokens[name].scatter(idx, spelt))
        return tokens.drop([c for n in self.fallback for c in (f"{n}\0m", f"{n}\0t")])


def _obj(entries: list[tuple[str, str]], indent: str) -> pl.Expr:
    """A JSON object of always-present ``key: token column`` entries at ``indent``."""
    inner = indent + "  "
    parts: list[pl.Expr] = [pl.lit("{\n")]
    for k, (key, col) in enumerate(entries):
        parts += [pl.lit(("" if k == 0 else ",\n") + f"{inner}{_key(key)}: "), pl.col(col)]
    parts.append(pl.lit(f"\n{indent}}}"))
    return pl.concat_str(parts)


def _sparse(entries: list[tuple[str, pl.Expr, pl.Expr]], indent: str, brackets: str) -> pl.Expr:
    """A JSON object (or list, with ``brackets='[]'``) of the entries whose condition holds:
    ``(prefix, condition, token)``; ``{}``/``[]`` when none does."""
    inner = indent + "  "
    if not entries:
        return pl.lit(brackets)
    # an entry's text is never empty (a token is at least ``""``), so "" means no entry
    items = pl.concat_str([pl.when(cond).then(pl.concat_str(pl.lit(inner + prefix), tok))
                           for prefix, cond, tok in entries], separator=",\n", ignore_nulls=True)
    return pl.when(items != "").then(pl.concat_str(
        pl.lit(brackets[0] + "\n"), items, pl.lit(f"\n{indent}{brackets[1]}"))).otherwise(
        pl.lit(brackets))


def _result_rows(res: Results, part: pl.DataFrame) -> pl.Series:
    """One JSON object per result row, as the contract's ``results`` entries (indent 4)."""
    table = res.scored.table
    tk = _Tokens(part)
    period = PERIOD if table.has_period else None
    base = [
        *tk.value(EMPLOYEE, "t_employee"),
        *tk.value(NAME if res.has(NAME) else None, "t_name"),
        *tk.value(TEAM if table.has_team else None, "t_team"),
        *[x for c in ("total", "grade", "coefficient", "rank", "pay_total")
          for x in tk.value(c if res.has(c) else None, f"t_{c}")],
        *[x for _, col in res.indicators + res.pay + res.sections
          for x in tk.value(col, f"t_{col}")],
        *[x for i in res.reasons for x in tk.value(WHY + i, f"t_{WHY}{i}")],
    ]
    if period is not None:
        base += tk.value(PERIOD, "t_period")
    else:  # no period column: a blank period is null (as the engine's empty text)
        base.append(_str_token(pl.when(pl.col(PERIOD) != "").then(pl.col(PERIOD)),
                               PERIOD in tk.escape).alias("t_period"))
    assessed = pl.col(ASSESSED).fill_null(False)
    tokens = tk.finish(part.select(*base, assessed.alias("assessed"),
                                   *[pl.col(c).fill_null(False).alias(c) for _, c in res.flags]))
    applies = res.scored.outcome.plan.applies
    if applies:  # an item that is not applicable (不适用) is left out
        ind = pl.when(pl.col("assessed")).then(_sparse(
            [(f"{_key(i)}: ", pl.col(f"t_{c}") != "null" if i in applies else pl.lit(True),
              pl.col(f"t_{c}")) for i, c in res.indicators], "      ", "{}")).otherwise(
            pl.lit("{}"))
    else:
        ind = (pl.when(pl.col("assessed")).then(_obj([(i, f"t_{c}") for i, c in res.indicators],
                                                     "      ")).otherwise(pl.lit("{}"))
               if res.indicators else pl.lit("{}"))
    secs = (pl.when(pl.col("assessed")).then(_obj([(i, f"t_{c}") for i, c in res.sections],
                                                  "      ")).otherwise(pl.lit("{}"))
            if res.sections else pl.lit("{}"))
    pay_entries = [(p, f"t_{c}") for p, c in res.pay] + [("total", "t_pay_total")]
    pay = (pl.when(pl.col("assessed")).then(_obj(list(dict(pay_entries).items()), "      "))
           .otherwise(pl.lit("{}")) if res.pay else pl.lit("{}"))
    flags = _sparse([("", pl.col(c), pl.lit(_key(f))) for f, c in res.flags], "      ", "[]")
    fields: list[tuple[str, pl.Expr]] = [("period", pl.col("t_period")),
                                         ("employee", pl.col("t_employee"))]
    if res.has(NAME):
        fields.append(("name", pl.col("t_name")))
    fields += [("team", pl.col("t_team")), ("total", pl.col("t_total")),
               ("grade", pl.col("t_grade")), ("coefficient", pl.col("t_coefficient")),
               ("rank", pl.col("t_rank")), ("indicators", ind), ("sections", secs),
               ("pay", pay),
               ("flags", flags),
               ("excluded", pl.when(pl.col("assessed")).then(pl.lit("false"))
                .otherwise(pl.lit("true")))]
    if res.explained:
        why = _sparse([(f"{_key(i)}: ", pl.col(f"t_{WHY}{i}") != "null",
                        pl.col(f"t_{WHY}{i}")) for i in res.reasons], "      ", "{}")
        fields.append(("reasons", why))  # an excluded row says why (its eligibility)
    parts: list[pl.Expr] = [pl.lit("    {\n")]
    for k, (key, expr) in enumerate(fields):
        parts += [pl.lit(("" if k == 0 else ",\n") + f"      {_key(key)}: "), expr]
    parts.append(pl.lit("\n    }"))
    return tokens.select(pl.concat_str(parts).alias("row")).to_series()


def _aggregate_frame(res: Results) -> tuple[pl.DataFrame, list[AggregateMeta]]:
    outcome = res.scored.outcome
    return (outcome.aggregates if outcome.aggregates is not None else pl.DataFrame(),
            list(outcome.aggregate_meta))


def _aggregate_rows(res: Results) -> Iterator[pl.Series]:
    """The contract's ``aggregates`` entries (indent 4), spec by spec, in the engine's order:
    period, employee, team, score, grade, rank, months, flags, awards, values."""
    agg, specs = _aggregate_frame(res)
    if agg.height == 0:
        return
    has_team = res.scored.table.has_team
    for spec_i, meta in enumerate(specs):
        award_cols, flag_cols, value_cols = meta.awards, meta.flags, meta.values
        part = agg.filter(pl.col("__spec") == spec_i)
        if part.height == 0:
            continue
        tk = _Tokens(part)
        base = [*tk.value(PERIOD, "t_period"), *tk.value(EMPLOYEE, "t_employee"),
                *tk.value(TEAM if has_team else None, "t_team"), *tk.value("score", "t_score"),
                *tk.value("grade", "t_grade"), *tk.value("rank", "t_rank"),
                *tk.value("months", "t_months"),
                *[x for _, c in award_cols for x in tk.value(c, f"t_{c}")],
                *[x for _, c in value_cols for x in tk.value(c, f"t_{c}")]]
        tokens = tk.finish(part.select(
            *base, *[pl.col(c).fill_null(False).alias(c) for _, c in flag_cols],
            *[(pl.col(c).is_not_null() & (pl.col(c) != dlit(0))).alias(f"has_{c}")
              for _, c in award_cols]))
        flags = _sparse([("", pl.col(c), pl.lit(_key(f))) for f, c in flag_cols], "      ", "[]")
        awards = _sparse([(f"{_key(a)}: ", pl.col(f"has_{c}"), pl.col(f"t_{c}"))
                          for a, c in award_cols], "      ", "{}")
        values = (_obj([(v, f"t_{c}") for v, c in value_cols], "      ") if value_cols
                  else pl.lit("{}"))
        fields: list[tuple[str, pl.Expr]] = [
            ("period", pl.col("t_period")), ("employee", pl.col("t_employee")),
            ("team", pl.col("t_team")), ("score", pl.col("t_score")),
            ("grade", pl.col("t_grade")), ("rank", pl.col("t_rank")),
            ("months", pl.col("t_months")), ("flags", flags), ("awards", awards),
            ("values", values)]
        parts: list[pl.Expr] = [pl.lit("    {\n")]
        for k, (key, expr) in enumerate(fields):
            parts += [pl.lit(("" if k == 0 else ",\n") + f"      {_key(key)}: "), expr]
        parts.append(pl.lit("\n    }"))
        yield tokens.select(pl.concat_str(parts).alias("row")).to_series()


def _write_list(out: IO[bytes], key: str, chunks: Iterator[pl.Series], last: bool) -> None:
    """``  "key": [ rows ]`` with the rows written by Polars, straight to ``out``."""
    pending: pl.Series | None = None
    started = False
    for chunk in chunks:
        if chunk.len() == 0:
            continue
        if pending is not None:
            _write_rows(out, pending, more=True)
        elif not started:
            out.write(f'  {_key(key)}: [\n'.encode())
        started = True
        pending = chunk
    if pending is None:
        out.write(f'  {_key(key)}: []'.encode())
    else:
        _write_rows(out, pending, more=False)
        out.write(b"  ]")
    out.write(b"\n" if last else b",\n")


def _write_rows(out: IO[bytes], rows: pl.Series, *, more: bool) -> None:
    """Rows separated by ``,\\n``; a trailing comma too when ``more`` rows follow."""
    n = rows.len()
    sep = pl.when(pl.int_range(pl.len()) < n - 1).then(pl.lit(",")).otherwise(
        pl.lit("," if more else ""))
    text = rows.to_frame("row").select(pl.concat_str(pl.col("row"), sep))
    out.flush()
    text.write_csv(out, include_header=False, quote_style="never", line_terminator="\n")


def write_json(res: Results, out: IO[bytes]) -> None:
    """The rulebook §5 document, indented by two, UTF-8, ending in a newline."""
    frame = res.frame
    out.write(b"{\n")
    out.write(f'  "scheme": {_key(res.scored.outcome.plan.scheme.id)},\n'.encode())

    def results() -> Iterator[pl.Series]:
        for start in range(0, frame.height, CHUNK):
            yield _result_rows(res, frame.slice(start, CHUNK))

    _write_list(out, "results", results(), last=False)
    _write_list(out, "aggregates", _aggregate_rows(res), last=False)
    warnings = res.scored.outcome.warnings
    if warnings:
        body = ",\n".join(f"    {_key(w)}" for w in warnings)
        out.write(f'  "warnings": [\n{body}\n  ]\n'.encode())
    else:
        out.write(b'  "warnings": []\n')
    out.write(b"}\n")


# -- CSV, xlsx, table ---------------------------------------------------------------------------
def _fixed2(e: pl.Expr, cents: bool = False) -> pl.Expr:
    """A number half-up to two decimals, as text (``90.00``); ``cents``: the values are known
    to have at most two decimals already (the cheap path)."""
    e = e.cast(DEC)
    return (e if cents else round_half_up(e, 2)).cast(CENTS).cast(pl.String)


def _money(name: str) -> bool:
    """A column shown with two decimals (points and money)."""
    return name in ("total", "coefficient") or name.startswith(("indicator:", "pay:",
                                                                 "section:"))


def _exact(name: str) -> bool:
    """A number shown as it is, without trailing zeros (a value such as a rate 0.006, a
    step change 1)."""
    return name.startswith("value:")


def _exact_text(e: pl.Expr) -> pl.Expr:
    """A Decimal as text with no trailing zeros: ``0.0060`` → ``0.006``, ``1.00`` → ``1``."""
    text = e.cast(DEC).cast(pl.String)
    return pl.when(text.str.contains(".", literal=True)).then(_strip(text)).otherwise(text)


def _cents(frame: pl.DataFrame, cols: list[tuple[str, pl.Expr]]) -> set[str]:
    """The money columns whose values all have at most two decimals."""
    money = [(n, e) for n, e in cols if _money(n)]
    if not money or frame.height == 0:
        return set()
    found = frame.select([_in_cents(e.cast(DEC)).all().alias(n) for n, e in money]).row(0)
    return {n for (n, _), f in zip(money, found, strict=True) if f}


def flat_columns(res: Results) -> list[tuple[str, pl.Expr]]:
    """The flat results sheet (CSV and xlsx): header and an expression per column.
    Numbers stay numbers here (Decimal); the writers spell them."""
    table = res.scored.table
    assessed = pl.col(ASSESSED).fill_null(False)

    def opt(c: str) -> pl.Expr:
        return pl.col(c) if res.has(c) else pl.lit(None, DEC)

    period = pl.col(PERIOD) if table.has_period else pl.when(pl.col(PERIOD) != "").then(pl.col(PERIOD))
    cols: list[tuple[str, pl.Expr]] = [
        ("period", period), ("employee", pl.col(EMPLOYEE)),
        ("team", pl.col(TEAM) if table.has_team else pl.lit(None, pl.String)),
        ("total", opt("total")),
        ("grade", pl.col("grade") if res.has("grade") else pl.lit(None, pl.String)),
        ("coefficient", opt("coefficient")), ("rank", opt("rank")),
    ]
    cols += [(f"indicator:{i}", pl.when(assessed).then(pl.col(c))) for i, c in res.indicators]
    # the sections' subtotals (小计) and the computed values, zeros included
    cols += [(f"section:{i}", pl.when(assessed).then(pl.col(c))) for i, c in res.sections]
    cols += [(f"value:{i}", pl.when(assessed).then(pl.col(c))) for i, c in res.values]
    if res.pay:
        cols += [(f"pay:{p}", pl.when(assessed).then(pl.col(c))) for p, c in res.pay]
        cols.append(("pay:total", pl.when(assessed).then(pl.col("pay_total"))))
    flags = (pl.concat_str([pl.when(pl.col(c).fill_null(False)).then(pl.lit(f))
                            for f, c in res.flags], separator=";", ignore_nulls=True)
             if res.flags else pl.lit(""))
    cols += [("flags", flags), ("excluded", pl.when(assessed).then(pl.lit("0")).otherwise(pl.lit("1")))]
    cols += [(f"reason:{i}", pl.col(WHY + i)) for i in res.reasons]
    return cols


def _csv_frame(res: Results) -> pl.DataFrame:
    exprs = []
    cols = flat_columns(res)
    cents = _cents(res.frame, cols)
    for name, e in cols:
        if name == "rank":
            e = e.cast(pl.Int64).cast(pl.String)
        elif _money(name):
            e = _fixed2(e, name in cents)
        elif _exact(name):
            e = _exact_text(e)
        else:  # text: escaped so a spreadsheet cannot run it; empty text is an empty cell
            e = csv_text_expr(e)
            e = pl.when(e != "").then(e)
        exprs.append(e.alias(name))
    return res.frame.select(exprs)


def write_csv(res: Results, out: IO[bytes]) -> None:
    """CSV (UTF-8, header row, ``\\n`` line ends), written by Polars."""
    out.flush()
    _csv_frame(res).write_csv(out, line_terminator="\n", null_value="")


def write_xlsx(res: Results, path: Path) -> None:
    """A workbook: the sheet ``results`` with the CSV's columns, then a sheet per aggregate
    (季度汇总, 年度汇总) with the aggregates CSV's; numbers as numbers. Written
    in xlsxwriter's constant-memory mode (row by row, nothing held), then moved in place."""
    import xlsxwriter

    cols = flat_columns(res)
    exprs = []
    for name, e in cols:
        if name == "rank":
            e = e.cast(pl.Int64)
        elif _money(name) or _exact(name):
            e = e.cast(DEC).cast(pl.String).cast(pl.Float64)  # correctly rounded to a double
        exprs.append(e.alias(name))
    frame = res.frame.select(exprs)
    tmp = path.with_name(path.name + ".part")
    tmp.touch()  # an unwritable place fails here, as an OSError, before any work
    try:
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, **WORKBOOK_OPTIONS})
        ws = wb.add_worksheet("results")
        bold = wb.add_format({"bold": True})
        write_cells(ws, 0, [name for name, _ in cols], bold)
        # with WORKBOOK_OPTIONS, write() keeps every str a string (no formulas, links or numbers)
        write_row = ws.write_row
        for i, row in enumerate(frame.iter_rows(), start=1):
            write_row(i, 0, row)
        _write_aggregate_sheets(wb, res, bold)
        wb.close()
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def results_table(res: Results, *, compact: bool = False, period: str | None = None) -> Table:
    """A ranking table: by period, team and rank. ``compact`` leaves out the indicators;
    ``period`` shows that period only."""
    from rich.table import Table

    s = res.scored.scheme
    frame = res.frame
    if period is not None:
        frame = frame.filter(pl.col(PERIOD) == period)
    table = Table(title=f"{s.name} ({s.id})", show_lines=False, header_style="bold")
    for col in ("周期", "团队", "名次", "工号", "姓名", "总分", "等级"):
        table.add_column(col, justify="right" if col in ("名次", "总分") else "left",
                         no_wrap=True)
    ind = [] if compact else res.indicators
    labels = {x.id: x.label or x.id for x in s.indicators}
    for ident, _ in ind:
        table.add_column(labels.get(ident, ident), justify="right")
    secs = [] if compact else res.sections
    vals = [] if compact else res.values
    sec_labels = {x.id: x.label or x.id for x in s.sections}
    val_labels = {x.id: x.label or x.id for x in s.values}
    for ident, _ in secs:
        table.add_column(f"{sec_labels.get(ident, ident)}小计", justify="right")
    for ident, _ in vals:
        table.add_column(val_labels.get(ident, ident), justify="right")
    if res.pay:
        table.add_column("应发", justify="right", no_wrap=True)
    table.add_column("标记")
    assessed = pl.col(ASSESSED).fill_null(False)

    def two(c: str, gated: bool = True) -> pl.Expr:
        if c not in frame.columns:
            return pl.lit("-")
        e = _fixed2(pl.col(c))
        return (pl.when(assessed).then(e) if gated else e).fill_null("-")

    rank = pl.col("rank").cast(pl.Int64).cast(pl.String).fill_null("-") if "rank" in frame.columns \
        else pl.lit("-")
    cells = [
        pl.col(PERIOD).fill_null("-").replace("", "-"), pl.col(TEAM).fill_null("-").replace("", "-"),
        rank, pl.col(EMPLOYEE),
        (pl.col(NAME).fill_null("") if NAME in frame.columns else pl.lit("")),
        two("total", gated=False),
        (pl.col("grade") if "grade" in frame.columns else pl.lit(None, pl.String)).fill_null(
            pl.when(assessed).then(pl.lit("-")).otherwise(pl.lit("不参评"))),
        *[two(c) for _, c in ind],
        *[two(c) for _, c in secs],
        *[pl.when(assessed).then(_exact_text(pl.col(c))).fill_null("-") for _, c in vals],
        *([two("pay_total")] if res.pay else []),
        (pl.concat_list([pl.when(pl.col(c).fill_null(False)).then(pl.lit(f))
                         .otherwise(pl.lit(None, pl.String)) for f, c in res.flags])
         .list.drop_nulls().list.join(" ") if res.flags else pl.lit("")),
    ]
    shown = frame.with_columns(pl.col("rank").cast(pl.Float64).fill_null(1e18).alias("__r")
                               if "rank" in frame.columns else pl.lit(0).alias("__r")).sort(
        [pl.col(PERIOD).fill_null(""), pl.col(TEAM).fill_null(""), "__r", EMPLOYEE],
        maintain_order=True)
    text = shown.select([c.alias(f"c{k}") for k, c in enumerate(cells)])
    for row in text.iter_rows():
        table.add_row(*row)
    return table


def reasons_table(res: Results) -> Table:
    """Each assessed row's reason per indicator, one line each (``--reasons`` with the
    table format), rows in the results' order (period, team, employee), indicators in the
    scheme's."""
    from rich.table import Table

    labels = {x.id: x.label or x.id for x in res.scored.scheme.indicators}
    table = Table(title="理由 reasons", header_style="bold")
    for col in ("周期", "工号", "指标", "理由"):
        table.add_column(col, no_wrap=col != "理由")
    if not res.reasons:
        return table
    order = {i: k for k, i in enumerate(res.reasons)}
    lines = (res.frame.with_row_index("__n")
             .select("__n", pl.col(PERIOD).fill_null("-"), EMPLOYEE,
                     *[pl.col(WHY + i).alias(i) for i in res.reasons])
             .unpivot(index=["__n", PERIOD, EMPLOYEE], on=res.reasons, variable_name="id",
                      value_name="why")
             .drop_nulls("why")
             .with_columns(pl.col("id").replace_strict(order, return_dtype=pl.Int64).alias("__k"),
                           pl.col("id").replace_strict(labels, default=pl.col("id")).alias("id"))
             .sort("__n", "__k")
             .select(PERIOD, EMPLOYEE, "id", "why"))
    for row in lines.iter_rows():
        table.add_row(*row)
    return table


# -- quarter and year results (aggregates) in the table, CSV and xlsx --------------------------
#: the xlsx sheet and the table title of each aggregate period kind
AGGREGATE_TITLES = {"quarter": "季度汇总", "year": "年度汇总"}
AGGREGATE_KIND_EN = {"quarter": "quarterly results", "year": "annual results"}


@dataclass(frozen=True)
class AggregateView:
    """One aggregate of the scheme (a quarter or a year) with its rows, in period, team and
    employee order, and the columns of its awards, flags and values."""

    kind: str  # quarter | year
    label: str
    frame: pl.DataFrame  # the engine's aggregate columns, plus the name where known
    awards: list[tuple[str, str]]  # (award id, column)
    flags: list[tuple[str, str]]  # (flag, column)
    values: list[tuple[str, str]]  # (value id, column): outcomes that are not money

    @property
    def title(self) -> str:
        return AGGREGATE_TITLES.get(self.kind, self.kind)


def aggregate_views(res: Results) -> list[AggregateView]:
    """The scheme's aggregates that have rows, in the scheme's order."""
    from kaohe.engine.explain import aggregate_value_columns

    outcome = res.scored.outcome
    agg = outcome.aggregates
    if agg is None or agg.height == 0:
        return []
    names: pl.DataFrame | None = None
    if res.has(NAME):  # an employee's latest name
        names = (res.frame.filter(pl.col(NAME).is_not_null())
                 .group_by(EMPLOYEE, maintain_order=True).agg(pl.col(NAME).last()))
    views: list[AggregateView] = []
    for i, entry in enumerate(outcome.aggregate_specs):
        spec, award_cols, flag_cols = entry[0], entry[1], entry[2]
        part = agg.filter(pl.col("__spec") == i)
        if part.height == 0:
            continue
        if names is not None:
            part = part.join(names, on=EMPLOYEE, how="left", maintain_order="left")
        part = part.sort([PERIOD, pl.col(TEAM).fill_null(""), EMPLOYEE], maintain_order=True)
        values = [(v, c) for v, c in aggregate_value_columns(outcome, i)
                  if c in part.columns]
        views.append(AggregateView(spec.period, spec.label, part, list(award_cols),
                                   list(flag_cols), values))
    return views


def aggregate_columns(res: Results, view: AggregateView) -> list[tuple[str, pl.Expr]]:
    """The flat aggregate sheet (CSV and xlsx): header and an expression per column; numbers
    stay Decimal here."""
    frame = view.frame
    has_team = res.scored.table.has_team

    def num(c: str) -> pl.Expr:
        return pl.col(c) if c in frame.columns else pl.lit(None, DEC)

    flags = (pl.concat_str([pl.when(pl.col(c).fill_null(False)).then(pl.lit(f))
                            for f, c in view.flags], separator=";", ignore_nulls=True)
             if view.flags else pl.lit(""))
    cols: list[tuple[str, pl.Expr]] = [
        ("kind", pl.lit(view.kind)), ("period", pl.col(PERIOD)), ("employee", pl.col(EMPLOYEE)),
        ("team", pl.col(TEAM) if has_team else pl.lit(None, pl.String)),
        ("score", num("score")),
        ("grade", pl.col("grade").cast(pl.String) if "grade" in frame.columns
         else pl.lit(None, pl.String)),
        ("rank", num("rank")), ("months", num("months")),
    ]
    cols += [(f"award:{a}", pl.col(c)) for a, c in view.awards]
    cols += [(f"value:{v}", pl.col(c)) for v, c in view.values]
    cols.append(("flags", flags))
    return cols


def _aggregate_csv_frame(res: Results, views: list[AggregateView]) -> pl.DataFrame:
    """Every aggregate row as CSV text, quarters and years in one table told apart by
    ``kind``; the columns of one aggregate are empty on the other's rows."""
    parts: list[pl.DataFrame] = []
    for view in views:
        frame = view.frame.select([e.alias(n) for n, e in aggregate_columns(res, view)])
        money = [n for n in frame.columns if n == "score" or n.startswith("award:")]
        found = frame.select([_in_cents(pl.col(n).cast(DEC)).all().alias(n)
                              for n in money]).row(0) if money else ()
        cents = {n for n, f in zip(money, found, strict=True) if f}
        exprs = []
        for name in frame.columns:
            e = pl.col(name)
            if name in ("rank", "months"):
                e = e.cast(pl.Int64).cast(pl.String)
            elif name in cents:
                e = _fixed2(e, True)
            elif name in money or name.startswith("value:"):
                e = _exact_text(e)
            else:
                e = csv_text_expr(e)
                e = pl.when(e != "").then(e)
            exprs.append(e.alias(name))
        parts.append(frame.select(exprs))
    if not parts:
        return pl.DataFrame()
    out = pl.concat(parts, how="diagonal")
    # the columns every aggregate has, then the awards, the values and the flags
    head = [c for c in out.columns if ":" not in c and c != "flags"]
    return out.select(*head, *[c for c in out.columns if c.startswith("award:")],
                      *[c for c in out.columns if c.startswith("value:")], "flags")


def write_aggregates_csv(res: Results, out: IO[bytes],
                         views: list[AggregateView] | None = None) -> bool:
    """The aggregates (``views``, by default all) as CSV (header row, ``kind`` = quarter or
    year); false, writing nothing, when there are none."""
    views = aggregate_views(res) if views is None else views
    if not views:
        return False
    out.flush()
    _aggregate_csv_frame(res, views).write_csv(out, line_terminator="\n", null_value="")
    return True


def aggregates_path(output: Path) -> Path:
    """Where ``--format csv -o FILE`` writes the aggregates: ``FILE-aggregates.csv``."""
    return output.with_name(f"{output.stem}-aggregates{output.suffix or '.csv'}")


def _sheet_names(views: list[AggregateView]) -> list[str]:
    names: list[str] = []
    for view in views:
        name, k = view.title, 2
        while name in names:
            name, k = f"{view.title}{k}", k + 1
        names.append(name)
    return names


def _write_aggregate_sheets(wb: Any, res: Results, bold: Any) -> None:
    """A sheet per aggregate (季度汇总, 年度汇总) after the results sheet."""
    views = aggregate_views(res)
    for view, sheet in zip(views, _sheet_names(views), strict=True):
        cols = [(n, e) for n, e in aggregate_columns(res, view) if n != "kind"]
        exprs = []
        for name, e in cols:
            if name in ("rank", "months"):
                e = e.cast(pl.Int64)
            elif name == "score" or name.startswith(("award:", "value:")):
                e = e.cast(DEC).cast(pl.String).cast(pl.Float64)
            exprs.append(e.alias(name))
        ws = wb.add_worksheet(sheet)
        write_cells(ws, 0, [name for name, _ in cols], bold)
        for i, row in enumerate(view.frame.select(exprs).iter_rows(), start=1):
            ws.write_row(i, 0, row)


def aggregate_tables(res: Results) -> list[Table]:
    """A table per aggregate (quarters, years): period, team, rank, employee, name, score,
    grade, months, awards, values and flags, by period, team and rank."""
    from rich.table import Table

    s = res.scored.scheme
    out: list[Table] = []
    for view in aggregate_views(res):
        frame = view.frame
        head = f"{view.title} {view.label}".strip() if view.label != view.title else view.title
        table = Table(title=f"{head} — {s.name} ({s.id})", header_style="bold")
        for col in ("周期", "团队", "名次", "工号", "姓名", "得分", "等级", "月数"):
            table.add_column(col, justify="right" if col in ("名次", "得分", "月数") else "left",
                             no_wrap=True)
        labels = _aggregate_labels(res, view)
        for ident, _ in view.awards:
            table.add_column(labels.get(ident, ident), justify="right")
        for ident, _ in view.values:
            table.add_column(labels.get(ident, ident), justify="right")
        table.add_column("标记")

        cells = [
            pl.col(PERIOD), pl.col(TEAM).fill_null("-").replace("", "-"), _whole(frame, "rank"),
            pl.col(EMPLOYEE), pl.col(NAME).fill_null("") if NAME in frame.columns else pl.lit(""),
            _fixed2(pl.col("score")).fill_null("-"),
            (pl.col("grade").cast(pl.String) if "grade" in frame.columns
             else pl.lit(None, pl.String)).fill_null("-"),
            _whole(frame, "months"),
            *[_exact_amount(pl.col(c)) for _, c in view.awards],
            *[_exact_text(pl.col(c)).fill_null("-") for _, c in view.values],
            (pl.concat_list([pl.when(pl.col(c).fill_null(False)).then(pl.lit(f))
                             .otherwise(pl.lit(None, pl.String)) for f, c in view.flags])
             .list.drop_nulls().list.join(" ") if view.flags else pl.lit("")),
        ]
        order = (pl.col("rank").cast(pl.Float64).fill_null(1e18) if "rank" in frame.columns
                 else pl.lit(0))
        shown = frame.with_columns(order.alias("__r")).sort(
            [PERIOD, pl.col(TEAM).fill_null(""), "__r", EMPLOYEE], maintain_order=True)
        for row in shown.select([c.alias(f"c{k}") for k, c in enumerate(cells)]).iter_rows():
            table.add_row(*row)
        out.append(table)
    return out


def _whole(frame: pl.DataFrame, c: str) -> pl.Expr:
    return (pl.col(c).cast(pl.Int64).cast(pl.String) if c in frame.columns
            else pl.lit(None, pl.String)).fill_null("-")


def _exact_amount(e: pl.Expr) -> pl.Expr:
    """An award: two decimals when it is a whole number of fen, else as it is (a raise of
    0.025 keeps its digits)."""
    return pl.when(_in_cents(e.cast(DEC))).then(_fixed2(e, True)).otherwise(
        _exact_text(e)).fill_null("-")


def _aggregate_labels(res: Results, view: AggregateView) -> dict[str, str]:
    """The award and value ids' labels where the scheme gives them."""
    spec = next((sp for sp in res.scored.scheme.aggregates
                 if sp.period == view.kind and sp.label == view.label), None)
    out: dict[str, str] = {}
    for obj in [*(getattr(spec, "awards", None) or []), *(getattr(spec, "values", None) or [])]:
        ident = str(getattr(obj, "id", ""))
        out[ident] = str(getattr(obj, "label", "") or ident)
    return out


# -- where the output goes ----------------------------------------------------------------------
@contextmanager
def destination(output: Path | None) -> Iterator[IO[bytes]]:
    """stdout, or ``output`` written whole under a temporary name and then moved in place
    (a failure leaves no partial file)."""
    if output is None:
        sys.stdout.flush()
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    tmp = output.with_name(output.name + ".part")
    try:
        with tmp.open("wb") as fh:
            yield fh
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
