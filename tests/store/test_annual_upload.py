"""The input sheet of a database cycle with annual rows (rulebook 4.11 rnd-annual, §5: an
input table may mix monthly rows and one row per employee and year): the year's row is
stored with the employee's appraisal of the cycle and feeds the year aggregate as the
engine's ``2026`` row; a blank annual KPI, two annual rows for one employee, an annual row
of another year or a month row contradicting it is bad input naming the row, column and
value, and nothing is written."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kaohe.errors import InputError
from kaohe.store.db import Database
from kaohe.store.models import AggregateResult, Appraisal, AuditEvent, Employee
from kaohe.workflow import cycles, org

from .factories import ADMIN, write_org
from .test_aggregates import RND_ANNUAL, RND_LEVELS, RND_MONTHLY, _year

HEADER = ["employee", "period", *RND_MONTHLY, *RND_ANNUAL]


def _sheet(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def month(code: str, period: str) -> list[str]:
    """A month row: the levels, the annual columns left blank."""
    return [code, period, *RND_LEVELS, *[""] * len(RND_ANNUAL)]


def annual(code: str, year: str = "2026", **changes: str) -> list[str]:
    """An annual row: the monthly columns left blank, the year's marks and facts."""
    values = RND_ANNUAL | changes
    return [code, year, *[""] * len(RND_MONTHLY), *[values[k] for k in RND_ANNUAL]]


def _cycles(db: Database, tmp: Path) -> dict[str, int]:
    with db.transaction() as s:
        org.import_employees(s, path=write_org(tmp / "org.csv", 2, teams=("研发",)),
                             actor=ADMIN)
    ids = {}
    for period in ("2026-11", "2026-12"):
        with db.transaction() as s:
            ids[period] = cycles.open_cycle(s, scheme_ref="rnd-annual", period=period,
                                            actor=ADMIN).id
    return ids


def _import(db: Database, cid: int, path: Path) -> None:
    with db.transaction() as s:
        preview = cycles.preview_inputs(s, cycle_id=cid, path=path, actor=ADMIN)
        assert preview.errors == []
        cycles.import_inputs(s, cycle_id=cid, path=path, actor=ADMIN)


@pytest.mark.parametrize("annual_in", ["2026-11", "2026-12"])
def test_the_annual_row_feeds_the_year(db: Database, tmp_path: Path, annual_in: str) -> None:
    """The rulebook's worked example (attitude 90.00, ability 80.00; KPI marks 90, 80, 100,
    60, 50 → 81.00): 84.20, 符合要求, step 5 → 6, 提升培训 — whichever month's sheet carries
    the annual row, and before or after the employee's month row."""
    ids = _cycles(db, tmp_path)
    for period, cid in ids.items():
        rows = [month("E001", period), month("E002", period)]
        if period == annual_in:
            rows = [annual("E001"), *rows]  # the annual row first: the month row keeps it
        sheet = _sheet(tmp_path / f"{period}.csv", rows)
        with db.transaction() as s:
            preview = cycles.preview_inputs(s, cycle_id=cid, path=sheet, actor=ADMIN)
        assert (preview.errors, preview.rows) == ([], len(rows))
        _import(db, cid, sheet)
    for cid in ids.values():
        with db.transaction() as s:
            cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
    year = _year(db, ids["2026-12"])
    assert list(year) == ["E001"]  # E002 has no annual row: no year result
    a = year["E001"]
    assert (a.period, a.score, a.grade, a.months) == ("2026", Decimal("84.20"), "符合要求", 2)
    assert a.payload["values"] == {"step_change": 1, "new_step": 6}
    assert a.payload["flags"] == ["提升培训"]
    with db.transaction() as s:
        stored = s.scalar(select(Appraisal.inputs).join(Employee).where(
            Appraisal.cycle_id == ids[annual_in], Employee.code == "E001")) or {}
    # the month row's levels and the annual row's marks, on one appraisal
    assert stored["responsibility"] == "优" and stored["kpi3"] == "100"


def test_an_annual_row_alone_updates_only_the_years_inputs(db: Database,
                                                           tmp_path: Path) -> None:
    ids = _cycles(db, tmp_path)
    dec = ids["2026-12"]
    _import(db, dec, _sheet(tmp_path / "m.csv", [month("E001", "2026-12")]))
    _import(db, dec, _sheet(tmp_path / "a.csv", [annual("E001", kpi1="70")]))
    _import(db, dec, _sheet(tmp_path / "b.csv", [annual("E001", bonus_points="")]))
    with db.transaction() as s:
        stored = s.scalar(select(Appraisal.inputs).join(Employee).where(
            Appraisal.cycle_id == dec, Employee.code == "E001")) or {}
    assert stored["responsibility"] == "优" and stored["kpi1"] == "90"
    assert "bonus_points" not in stored  # blank: its default, 0


BAD = {
    "blank annual KPI": (
        [month("E001", "2026-12"), annual("E001", kpi3="")], HEADER,
        [(3, "kpi3", "", "the value is missing (KPI3得分); the year row")]),
    "two annual rows": (
        [annual("E001"), month("E001", "2026-12"), annual("E001", kpi1="70")], HEADER,
        [(4, "employee", "E001", "duplicate row for employee 'E001' in period 2026: row 2")]),
    "another year": (
        [annual("E001", year="2025")], HEADER,
        [(2, "period", "2025", "this sheet is for cycle 2026-12: its year row is 2026")]),
    "a month row saying otherwise": (
        [[*month("E001", "2026-12")[:-10], "研发人员", "95", *[""] * 8], annual("E001")], HEADER,
        [(2, "kpi1", "95", "this input belongs to the year row, and row 3 gives it as '90'")]),
    "a bad mark": (
        [annual("E001", kpi2="120")], HEADER,
        [(2, "kpi2", "120", "")]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_annual_rows_are_named_and_nothing_is_written(db: Database, tmp_path: Path,
                                                          case: str) -> None:
    ids = _cycles(db, tmp_path)
    dec = ids["2026-12"]
    rows, header, expected = BAD[case]
    sheet = _sheet(tmp_path / "bad.csv", rows, header)
    with db.transaction() as s:
        preview = cycles.preview_inputs(s, cycle_id=dec, path=sheet, actor=ADMIN)
    assert [(e.row, e.column, e.value) for e in preview.errors] == [
        (row, col, value) for row, col, value, _ in expected]
    for e, (_, _, _, message) in zip(preview.errors, expected, strict=True):
        assert message in str(e)
    with pytest.raises(InputError, match=rf"bad\.csv, row {expected[0][0]}"), \
            db.transaction() as s:
        cycles.import_inputs(s, cycle_id=dec, path=sheet, actor=ADMIN)
    with db.transaction() as s:
        assert s.scalars(select(Appraisal.inputs).where(Appraisal.cycle_id == dec)).all() == [
            {}, {}]
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "cycle.inputs_imported")) == 0


def test_annual_rows_need_every_required_annual_column(db: Database, tmp_path: Path) -> None:
    ids = _cycles(db, tmp_path)
    header = [h for h in HEADER if h != "kpi5"]
    row = [v for h, v in zip(HEADER, annual("E001"), strict=True) if h != "kpi5"]
    sheet = _sheet(tmp_path / "bad.csv", [row], header)
    with db.transaction() as s:
        preview = cycles.preview_inputs(s, cycle_id=ids["2026-12"], path=sheet, actor=ADMIN)
    assert [(e.row, e.column) for e in preview.errors] == [(None, "kpi5")]
    assert "bad.csv, column 'kpi5': missing column 'kpi5' (KPI5得分); the year rows need it" \
        in str(preview.errors[0])
    # a month sheet without the annual columns is fine: they keep their stored values
    _import(db, ids["2026-12"], _sheet(tmp_path / "m.csv", [month("E001", "2026-12")[:13]],
                                       HEADER[:13]))


def test_a_quarter_row_feeds_the_quarter(db: Database, tmp_path: Path) -> None:
    """A scheme with quarterly inputs (docs/schemes.md): the quarter's row of the sheet
    (``2026-Q4``) gives its target and bonus; a row of another quarter is refused."""
    from ..test_lang_annual_items import QUARTERLY

    scheme = tmp_path / "quarterly.yaml"
    scheme.write_text(QUARTERLY, encoding="utf-8")
    with db.transaction() as s:
        org.import_employees(s, path=write_org(tmp_path / "org.csv", 1), actor=ADMIN)
        cid = cycles.open_cycle(s, scheme_ref=str(scheme), period="2026-11", actor=ADMIN).id
    header = ["employee", "period", "mark", "target", "bonus"]
    bad = _sheet(tmp_path / "bad.csv", [["E001", "2026-11", "60", "", ""],
                                        ["E001", "2026-Q3", "", "65", "5"]], header)
    with db.transaction() as s:
        errors = cycles.preview_inputs(s, cycle_id=cid, path=bad, actor=ADMIN).errors
    assert [(e.row, e.column, e.value) for e in errors] == [(3, "period", "2026-Q3")]
    assert "its quarter row is 2026-Q4" in str(errors[0])
    _import(db, cid, _sheet(tmp_path / "q.csv", [["E001", "2026-Q4", "", "65", "5"],
                                                 ["E001", "2026-11", "60", "", ""]], header))
    with db.transaction() as s:
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
        agg = s.scalars(select(AggregateResult).where(AggregateResult.cycle_id == cid)).one()
        # mean(60) + 5 = 65 ≥ the target 65 → hit 1
        assert (agg.period, agg.score, agg.payload["values"]) == (
            "2026-Q4", Decimal("65.00"), {"hit": 1, "low_months": 0})
