"""Render scored results as a terminal table, CSV, or an xlsx results sheet."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from kaohe.engine.score import Scored
from kaohe.reports.cells import WORKBOOK_OPTIONS, csv_text, write_cells


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def flat_rows(scored: Scored, doc: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    plan = scored.outcome.plan
    ind_ids = [i for i, _ in plan.indicator_columns]
    pay_ids = [p for p, _ in plan.pay_columns]
    header = ["period", "employee", "team", "total", "grade", "coefficient", "rank"]
    header += [f"indicator:{i}" for i in ind_ids]
    header += [f"pay:{p}" for p in pay_ids] + (["pay:total"] if pay_ids else [])
    header += ["flags", "excluded"]
    rows = []
    for r in doc["results"]:
        row = [r["period"], r["employee"], r["team"], r["total"], r["grade"], r["coefficient"],
               r["rank"]]
        row += [r["indicators"].get(i) for i in ind_ids]
        row += [r["pay"].get(p) for p in pay_ids] + ([r["pay"].get("total")] if pay_ids else [])
        row += [";".join(r["flags"]), "1" if r["excluded"] else "0"]
        rows.append(row)
    return header, rows


def results_csv(scored: Scored, doc: dict[str, Any]) -> str:
    header, rows = flat_rows(scored, doc)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([csv_text(h) for h in header])
    rank_col = header.index("rank")
    for row in rows:
        w.writerow(["" if v is None else (f"{v:.2f}" if isinstance(v, int | float)
                                          and not isinstance(v, bool) and i != rank_col
                                          else csv_text(v))
                    for i, v in enumerate(row)])
    return buf.getvalue()


def results_table(scored: Scored, doc: dict[str, Any], *, compact: bool = False) -> Table:
    """A ranking table: by period, team and rank. ``compact`` leaves out the indicators."""
    s = scored.scheme
    plan = scored.outcome.plan
    table = Table(title=f"{s.name} ({s.id})", show_lines=False, header_style="bold")
    for col in ("周期", "团队", "名次", "工号", "姓名", "总分", "等级"):
        table.add_column(col, justify="right" if col in ("名次", "总分") else "left",
                         no_wrap=True)
    ind = [] if compact else list(plan.indicator_columns)
    for ident, _ in ind:
        item = next(x for x in s.indicators if x.id == ident)
        table.add_column(item.label or ident, justify="right")
    if plan.pay_columns:
        table.add_column("应发", justify="right", no_wrap=True)
    table.add_column("标记")
    results = sorted(doc["results"], key=lambda r: (
        r["period"] or "", r["team"] or "", r["rank"] if r["rank"] is not None else 10**9,
        r["employee"]))
    for r in results:
        row = [r["period"] or "-", r["team"] or "-", _fmt(r["rank"]), r["employee"],
               r.get("name") or "", _fmt2(r["total"]),
               r["grade"] or ("不参评" if r["excluded"] else "-")]
        row += [_fmt2(r["indicators"].get(i)) for i, _ in ind]
        if plan.pay_columns:
            row.append(_fmt2(r["pay"].get("total")))
        row.append(" ".join(r["flags"]))
        table.add_row(*row)
    return table


def _fmt2(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, int | float):
        return f"{v:.2f}"
    return str(v)


def print_warnings(console: Console, warnings: list[str], limit: int = 20) -> None:
    for w in warnings[:limit]:
        console.print(f"[yellow]warning:[/yellow] {w}", highlight=False)
    if len(warnings) > limit:
        console.print(f"… and {len(warnings) - limit} more warnings")


def write_results_xlsx(scored: Scored, doc: dict[str, Any], path: Path) -> None:
    import xlsxwriter

    header, rows = flat_rows(scored, doc)
    tmp = path.with_name(path.name + ".part")
    wb = xlsxwriter.Workbook(str(tmp), WORKBOOK_OPTIONS)
    ws = wb.add_worksheet("results")
    bold = wb.add_format({"bold": True})
    write_cells(ws, 0, header, bold)
    for i, row in enumerate(rows, start=1):
        write_cells(ws, i, row)
    wb.close()
    tmp.replace(path)
