"""The three seed schemes of issue 10, written from docs/schemes.md alone (docs/examples/),
scored through the real command line on the rulebook's worked examples (§4.10–4.12): the
numbers asserted are the rulebook's, computed by hand there, not read from the engine."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kaohe", *args], capture_output=True,
                          text=True, timeout=120)


def score(scheme: str, data: str | Path, *extra: str) -> dict[str, Any]:
    r = run("score", "--scheme", str(EXAMPLES / scheme), "--input", str(EXAMPLES / data),
            *extra, "--format", "json")
    assert r.returncode == 0, r.stderr
    doc: dict[str, Any] = json.loads(r.stdout, parse_float=Decimal)
    assert doc["warnings"] == []
    return doc


@pytest.mark.parametrize("scheme", ["property-checklist.yaml", "rnd-annual.yaml",
                                    "foreign-trade.yaml"])
def test_every_example_passes_check(scheme: str) -> None:
    r = run("check", str(EXAMPLES / scheme))
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout


def test_property_checklist_worked_example() -> None:
    doc = score("property-checklist.yaml", "property-checklist.csv")
    [row] = doc["results"]
    # 10 + 8 + 3 + — + 5 + 0 + 15 + — + 8 + 9 + 10 = 68 of 85 applicable → 68 × 100 / 85
    assert Decimal(row["total"]) == Decimal("80.00")
    assert {k: Decimal(v) for k, v in row["sections"].items()} == {
        "phone": Decimal("26.00"), "reception": Decimal("42.00")}
    assert "greeting" not in row["indicators"] and "renovation" not in row["indicators"]
    assert row["flags"] == ["需整改"]
    assert row["grade"] is None and row["coefficient"] is None and row["pay"] == {}
    [quarter] = doc["aggregates"]
    assert quarter["period"] == "2026-Q4" and Decimal(quarter["score"]) == Decimal("80.00")
    assert quarter["months"] == 1 and quarter["flags"] == []


def test_property_checklist_quarter_flag(tmp_path: Path) -> None:
    """Three months each with a 不符合 item → 连续整改; the mean of 80.00, 100.00 (everything
    符合 but one 不符合 of 5 → 95.00) … is computed by hand below."""
    header = (EXAMPLES / "property-checklist.csv").read_text("utf-8").splitlines()[0]
    worked = (EXAMPLES / "property-checklist.csv").read_text("utf-8").splitlines()[1]
    ok = ",".join(["符合"] * 11)
    one_bad = ",".join(["符合"] * 5 + ["不符合"] + ["符合"] * 5)   # closing 不符合: 95
    lines = [header, worked,
             f"KF01,A区,2026-11,{one_bad}", f"KF01,A区,2026-12,{one_bad}",
             f"KF02,A区,2026-10,{ok}", f"KF02,A区,2026-11,{one_bad}", f"KF02,A区,2026-12,{ok}"]
    data = tmp_path / "q4.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    doc = score("property-checklist.yaml", data)
    aggs = {a["employee"]: a for a in doc["aggregates"]}
    # KF01: (80 + 95 + 95) / 3 = 90.00; KF02: (100 + 95 + 100) / 3 = 98.333… → 98.33
    assert Decimal(aggs["KF01"]["score"]) == Decimal("90.00")
    assert Decimal(aggs["KF02"]["score"]) == Decimal("98.33")
    assert aggs["KF01"]["flags"] == ["连续整改"] and aggs["KF02"]["flags"] == []


def test_rnd_annual_worked_example() -> None:
    doc = score("rnd-annual.yaml", "rnd-annual.csv")
    assert len(doc["results"]) == 12          # the year row is not a result
    for row in doc["results"]:
        assert {k: Decimal(v) for k, v in row["sections"].items()} == {
            "attitude": Decimal("90.00"), "ability": Decimal("80.00")}
        assert row["total"] is None
    [year] = doc["aggregates"]
    # 27 + 20 + 20 + 9 + 5 = 81.00; 56.70 + 13.50 + 12.00 + 2 = 84.20
    assert year["period"] == "2026" and year["months"] == 12
    assert Decimal(year["score"]) == Decimal("84.20")
    assert year["grade"] == "符合要求" and year["rank"] is None
    assert {k: Decimal(v) for k, v in year["values"].items()} == {
        "step_change": Decimal(1), "new_step": Decimal(6)}
    assert year["flags"] == ["提升培训"] and year["awards"] == {}


def test_rnd_annual_explain_reads_the_year() -> None:
    r = run("explain", "--scheme", str(EXAMPLES / "rnd-annual.yaml"), "--input",
            str(EXAMPLES / "rnd-annual.csv"), "--employee", "RD01", "--period", "2026")
    assert r.returncode == 0, r.stderr
    for text in ("工作业绩", "81.00", "56.70", "13.50", "12.00", "84.20", "符合要求",
                 "提升培训", "新薪资等级"):
        assert text in r.stdout, text


def test_foreign_trade_worked_example() -> None:
    doc = score("foreign-trade.yaml", "foreign-trade.csv",
                "--table", f"late_payments={EXAMPLES / 'foreign-trade-deals.csv'}")
    [row] = doc["results"]
    # 90 × 20% + 85 × 50% + 80 × 30% = 18 + 42.5 + 24
    assert Decimal(row["total"]) == Decimal("84.50")
    assert row["grade"] == "良" and Decimal(row["coefficient"]) == Decimal("1.1")
    assert {k: Decimal(v) for k, v in row["pay"].items()} == {
        "base": Decimal("4550.00"), "float_pay": Decimal("275.00"),
        "allowance": Decimal("150.00"), "commission": Decimal("2760.00"),
        "reserve": Decimal("-828.00"), "late_penalty": Decimal("-150.00"),
        "total": Decimal("6757.00")}
    assert row["flags"] == []
    aggs = {a["period"]: a for a in doc["aggregates"]}
    assert aggs["2026-Q4"]["rank"] == 1 and aggs["2026-Q4"]["awards"] == {"quarter_award": 2000}
    assert aggs["2026"]["awards"] == {"annual_award": 3000}
    assert Decimal(aggs["2026"]["values"]["reserve_held"]) == Decimal("828.00")


def test_foreign_trade_without_the_table_has_no_late_deals() -> None:
    doc = score("foreign-trade.yaml", "foreign-trade.csv")
    [row] = doc["results"]
    assert Decimal(row["pay"]["late_penalty"]) == 0
    assert Decimal(row["pay"]["total"]) == Decimal("6907.00")   # 6757 + 150


def test_property_checklist_not_applicable_rows(tmp_path: Path) -> None:
    """An item that is 不适用 is no 不符合 (no 需整改); nothing applicable → excluded, 无适用项."""
    header = (EXAMPLES / "property-checklist.csv").read_text("utf-8").splitlines()[0]
    one_na = ",".join(["符合"] * 3 + ["不适用"] + ["符合"] * 7)
    data = tmp_path / "na.csv"
    data.write_text("\n".join([header, f"KF01,A区,2026-10,{one_na}",
                               "KF02,A区,2026-10," + ",".join(["不适用"] * 11)]) + "\n",
                    encoding="utf-8")
    r = run("score", "--scheme", str(EXAMPLES / "property-checklist.yaml"), "--input",
            str(data), "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout, parse_float=Decimal)
    rows = {row["employee"]: row for row in doc["results"]}
    # 95 of 95 applicable points → 100.00, rescaled or not
    assert Decimal(rows["KF01"]["total"]) == Decimal("100.00") and rows["KF01"]["flags"] == []
    assert rows["KF02"]["excluded"] is True and rows["KF02"]["total"] is None
    assert any("无适用项" in w for w in doc["warnings"])


def _key_section() -> str:
    text = (EXAMPLES.parent / "schemes.md").read_text("utf-8")
    return text[text.index("## Where each key goes"):text.index("## Inputs")]


def test_the_key_table_names_every_key_of_the_scheme_models() -> None:
    from pydantic import BaseModel

    from kaohe.scheme import models

    keys = _key_section()
    classes = [c for c in vars(models).values()
               if isinstance(c, type) and issubclass(c, models.Model) and c is not models.Model]
    assert len(classes) >= 20
    for cls in classes:
        assert issubclass(cls, BaseModel)
        for name in cls.model_fields:
            if name in ("kind", "rule") or cls.__name__ in ("Band", "Bands"):
                continue  # a rule is written as its own key; a band as `interval: score`
            assert f"`{name}`" in keys, f"{cls.__name__}.{name} missing from 'Where each key goes'"


def test_the_function_table_names_every_function() -> None:
    from kaohe.engine.exprs import AGG_FUNCTIONS, ROW_FUNCTIONS

    text = (EXAMPLES.parent / "schemes.md").read_text("utf-8")
    table = text[text.index("| function | arguments |"):text.index("`min` and `max` with one")]
    for f in sorted(ROW_FUNCTIONS | AGG_FUNCTIONS):
        assert f"`{f}(" in table, f"{f}() missing from the function table"
