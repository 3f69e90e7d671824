"""The scheme language's year/quarter rows, item tables and aggregate rank/values: the
engine's Python API (``score_table(..., tables=...)``), load errors, bad input, and the JSON
writer against the per-row document."""

from __future__ import annotations

import io
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaohe.engine.load import load_scheme_text
from kaohe.engine.results import to_document
from kaohe.engine.score import score_table
from kaohe.errors import InputError, SchemeError
from kaohe.ingest.table import prepare
from kaohe.reports import output

DOC = Path(__file__).resolve().parents[1] / "docs" / "schemes.md"

QUARTERLY = """
id: quarterly
name: 季度输入
inputs:
  mark: {label: 考评分, type: score, min: 0, max: 100}
  target: {label: 季度目标, type: number, period: quarter}
  bonus: {label: 季度加分, type: number, period: quarter, default: 0}
indicators:
  - {id: mark, label: 考评分, formula: mark}
aggregates:
  - period: quarter
    score: mean(total) + bonus
    values:
      - {id: hit, label: 达标, formula: "if(score >= target, 1, 0)"}
      - {id: low_months, label: 低分月数, formula: "count(total < 60)"}
    flags:
      - {flag: 曾低分, when: "any(total < 60)"}
"""


def _table(text: str, scheme_text: str) -> tuple[object, object]:
    scheme = load_scheme_text(scheme_text)
    frame = pl.read_csv(io.StringIO(text), infer_schema=False)
    return scheme, prepare(frame, scheme, "in.csv")


def _doc(scheme: object, table: object, **kw: object) -> dict[str, object]:
    scored = score_table(scheme, table, **kw)  # type: ignore[arg-type]
    doc = to_document(scored.outcome, scored.table)
    buf = io.BytesIO()
    output.write_json(output.collect(scored), buf)
    # the columnar writer prints exactly the per-row document
    assert buf.getvalue().decode() == json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    return doc


def test_quarter_rows_feed_the_quarter_aggregate() -> None:
    scheme, table = _table(
        "employee,period,mark,target,bonus\n"
        "A,2026-10,50,,\nA,2026-11,70,,\nA,2026-Q4,,65,5\n"
        "B,2026-10,90,,\nB,2026-Q4,,95,\n", QUARTERLY)
    doc = _doc(scheme, table)
    assert [r["period"] for r in doc["results"]] == ["2026-10", "2026-10", "2026-11"]
    aggs = {a["employee"]: a for a in doc["aggregates"]}
    # A: mean(50, 70) = 60 + 5 = 65 ≥ 65 → hit 1; one month below 60
    assert aggs["A"]["score"] == 65 and aggs["A"]["values"] == {"hit": 1, "low_months": 1}
    assert aggs["A"]["flags"] == ["曾低分"] and aggs["A"]["rank"] is None
    # B: 90 + 0 < 95 → hit 0 (zero values are reported)
    assert aggs["B"]["values"] == {"hit": 0, "low_months": 0} and aggs["B"]["flags"] == []


def test_year_row_is_refused_without_annual_inputs() -> None:
    with pytest.raises(InputError, match=r"row 3.*2026.*YYYY-MM"):
        _table("employee,period,mark,target\nA,2026-10,50,\nA,2026,,65\n",
               QUARTERLY.replace("2026-Q4", ""))


def test_quarter_row_blank_input_and_duplicate_are_bad_input() -> None:
    with pytest.raises(InputError, match=r"in\.csv, row 3, column 'target'.*missing"):
        _table("employee,period,mark,target\nA,2026-10,50,\nA,2026-Q4,,\n", QUARTERLY)
    with pytest.raises(InputError, match=r"row 4.*'A'.*2026-Q4.*row 3"):
        _table("employee,period,mark,target\nA,2026-10,50,\nA,2026-Q4,,60\nA,2026-Q4,,70\n",
               QUARTERLY)


ITEMS = """
id: items
name: 明细
inputs:
  mark: {label: 考评分, type: score, min: 0, max: 100}
indicators:
  - {id: mark, label: 考评分, formula: mark}
items:
  fines:
    label: 罚款单
    columns:
      amount: {label: 金额, type: money}
      kind: {label: 类别, type: level, levels: [迟到, 其他]}
    values:
      - {id: fine, formula: "amount * 1.5", round: 0, cap: 100}
      - {id: doubled, formula: "fine * 2", round: null}
pay:
  - {id: fines, label: 罚款, amount: "-sum_items(fines, fine)"}
  - {id: doubled, label: 双倍, amount: "sum_items(fines, doubled)"}
  - {id: late, label: 迟到笔数, amount: "count_items(fines, kind = \\"迟到\\")"}
  - {id: all, label: 笔数, amount: "count_items(fines)"}
  - {id: top, label: 最大, amount: "coalesce(max_items(fines, amount), 0)"}
"""


def test_item_tables_through_the_python_api() -> None:
    scheme, table = _table("employee,period,mark\nA,2026-10,80\nB,2026-10,70\n", ITEMS)
    fines = pl.DataFrame({"employee": ["A", "A", "A"], "period": ["2026-10"] * 3,
                          "金额": ["10.3", "99", "1"], "类别": ["迟到", "其他", "迟到"],
                          "note": ["x", "y", "z"]})
    doc = _doc(scheme, table, tables={"fines": fines})
    a, b = doc["results"]
    # 15.45 → 15; 148.5 → 149 capped at 100; 1.5 → 2 (half-up): 117; doubled 234
    assert a["pay"] == {"fines": -117, "doubled": 234, "late": 2, "all": 3, "top": 99,
                        "total": 221}
    assert b["pay"] == {"fines": 0, "doubled": 0, "late": 0, "all": 0, "top": 0, "total": 0}


def test_item_row_without_its_month_is_bad_input() -> None:
    scheme, table = _table("employee,period,mark\nA,2026-10,80\n", ITEMS)
    fines = pl.DataFrame({"employee": ["A", "B"], "period": ["2026-10", "2026-10"],
                          "amount": ["1", "2"], "kind": ["迟到", "迟到"]})
    with pytest.raises(InputError, match=r"^<table fines>, row 3, column 'employee': "
                                         r"value 'B': .*'fines' row of employee 'B' in 2026-10"):
        score_table(scheme, table, tables={"fines": fines})  # type: ignore[arg-type]


def test_item_table_bad_cells() -> None:
    scheme, table = _table("employee,period,mark\nA,2026-10,80\n", ITEMS)
    bad = pl.DataFrame({"employee": ["A"], "period": ["2026-10"], "amount": ["-1"],
                        "kind": ["迟到"]})
    with pytest.raises(InputError, match=r"row 2, column 'amount': value '-1': a negative"):
        score_table(scheme, table, tables={"fines": bad})  # type: ignore[arg-type]
    blank = bad.with_columns(pl.lit(None, pl.String).alias("amount"))
    with pytest.raises(InputError, match=r"row 2, column 'amount'.*missing"):
        score_table(scheme, table, tables={"fines": blank})  # type: ignore[arg-type]


@pytest.mark.parametrize(("formula", "message"), [
    ("sum_items(nope, fine)", r"pay\[0\]\.amount: sum_items\(\)'s first argument must name an "
                              r"item table of the scheme \(fines\)"),
    ("sum_items(fines, mark)", r"pay\[0\]\.amount: unknown name 'mark'"),
    ("sum_items(fines, kind)", r"gives a text, expected a number"),
    ("count_items(fines, amount)", r"gives a number, expected a yes/no"),
    ("any_items(fines)", r"any_items\(\) takes 2 arguments, got 1"),
])
def test_item_function_load_errors(formula: str, message: str) -> None:
    text = re.sub(r'pay:\n(.|\n)*', f'pay:\n  - {{id: p, amount: "{formula}"}}\n', ITEMS)
    with pytest.raises(SchemeError, match=message):
        load_scheme_text(text)


AGG = """
id: agg
name: 汇总
inputs:
  mark: {label: 考评分, type: score, min: 0, max: 100}
indicators:
  - {id: mark, label: 考评分, formula: mark}
aggregates:
  - period: quarter
    score: mean(total)
    %s
    awards:
      - {id: top, amount: "if(rank = 1, 100, 0)"}
"""


@pytest.mark.parametrize(("rank_key", "reported"), [("", True), ("rank: false", False),
                                                    ("rank: true", True)])
def test_aggregate_rank_is_reported_where_declared(rank_key: str, reported: bool) -> None:
    scheme, table = _table("employee,period,mark\nA,2026-10,80\nB,2026-10,90\n",
                           AGG % rank_key)
    aggs = {a["employee"]: a for a in _doc(scheme, table)["aggregates"]}
    assert aggs["B"]["awards"] == {"top": 100}  # the rank is computed either way
    assert (aggs["B"]["rank"], aggs["A"]["rank"]) == ((1, 2) if reported else (None, None))


@pytest.mark.parametrize(("extra", "message"), [
    ("compute: [{id: a, formula: b}, {id: b, formula: a}]", r"depends on itself"),
    ("values: [{id: score, formula: '1'}]", r"used twice"),
    ("values: [{id: v, formula: 'mean(nope)'}]", r"unknown name 'nope'"),
    ("values: [{id: v, formula: 'nope'}]", r"unknown name 'nope'"),
])
def test_aggregate_load_errors(extra: str, message: str) -> None:
    with pytest.raises(SchemeError, match=message):
        load_scheme_text(AGG % extra)


def test_min_max_with_two_arguments_are_row_functions_in_aggregates() -> None:
    scheme, table = _table("employee,period,mark\nA,2026-10,40\nA,2026-11,50\n",
                           AGG % "values: [{id: v, formula: 'max(mean(total), 60)'}, "
                                 "{id: w, formula: 'min(total)'}]")
    [a] = _doc(scheme, table)["aggregates"]
    assert a["values"] == {"v": 60, "w": 40}


def test_section_out_of() -> None:
    scheme, table = _table("employee,period,a,b\nA,2026-10,7,3.5\n", """
id: sec
name: 折算
inputs: {a: {type: number}, b: {type: number}}
sections: [{id: s, points: 11, out_of: 100}]
indicators:
  - {id: a, section: s, points: 8, formula: a}
  - {id: b, section: s, points: 3, formula: b}
total: {formula: s}
""")
    [r] = _doc(scheme, table)["results"]
    assert r["total"] == 95.45  # 10.5 × 100 / 11 = 95.4545… → 95.45


def test_docs_name_every_aggregate_and_item_function_and_key() -> None:
    from kaohe.engine.exprs import AGG_FUNCTIONS
    from kaohe.scheme.expr import ITEM_FUNCTIONS
    from kaohe.scheme.models import AggregateSpec, AggregateValue, ItemTable, ItemValue

    text = DOC.read_text("utf-8")
    for f in sorted(AGG_FUNCTIONS | ITEM_FUNCTIONS):
        assert f"`{f}(" in text, f"docs/schemes.md does not document {f}()"
    for model in (AggregateSpec, AggregateValue, ItemTable, ItemValue):
        for key in model.model_fields:
            assert re.search(rf"\b{key}\b", text), f"{model.__name__}.{key} undocumented"
    for key in ("period: year", "out_of", "warn: true", "--table"):
        assert key in text


def test_docs_annual_and_items_examples_give_their_results(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text("utf-8"), flags=re.S)
    annual = next(b for b in blocks if "id: annual-example" in b)
    scheme, table = _table("employee,period,attitude,ability,kpi,step\n"
                           "E1,2026-01,优,良,,\nE1,2026-02,良,优,,\nE1,2026,,,90,5\n", annual)
    [a] = _doc(scheme, table)["aggregates"]
    # kpi 90 → 63.00; manner mean (30 + 24) / 2 = 27 → 90.00: 优秀, above 80: one step up
    assert a["score"] == 90 and a["grade"] == "优秀" and a["rank"] is None
    assert a["values"] == {"step_change": 1, "new_step": 6} and a["months"] == 2
    items = next(b for b in blocks if "id: items-example" in b)
    scheme, table = _table("employee,period,mark\nA,2026-10,80\n", items)
    deals = pl.DataFrame({"employee": ["A"] * 3, "period": ["2026-10"] * 3,
                          "amount": ["100000", "80000", "5000"], "days_late": ["16", "60", "200"],
                          "deal_commission": ["920", "100", "1"]})
    [r] = _doc(scheme, table, tables={"late_payments": deals})["results"]
    assert r["pay"]["late_penalty"] == -151  # 50 + 100 + min(32.5, 1)
    assert r["flags"] == ["风险赔偿审查", "多笔逾期", "长期逾期"]
    assert Decimal(str(r["total"])) == 80


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000_000), st.integers(0, 400),
                          st.integers(0, 500_000)), max_size=6))
def test_item_sums_are_the_sums_of_each_items_rounded_penalty(
        deals: list[tuple[int, int, int]]) -> None:
    """Each deal's penalty (in fen) is rounded on its own, never above the deal's commission
    and never negative; the month's line is their sum; the flag is any deal past 180 days."""
    from kaohe.presets import load_preset

    scheme = load_preset("foreign-trade")
    main = pl.DataFrame({"employee": ["A"], "period": ["2026-10"], "position": ["业务员"],
                         "job_grade": ["Ⅱ级"], "score@self": ["80"], "score@supervisor": ["80"],
                         "score@manager": ["80"], "attendance_days": ["21"],
                         "collected": ["0"], "costs": ["0"]})
    table = prepare(main, scheme, "in.csv")
    items = pl.DataFrame({
        "employee": ["A"] * len(deals), "period": ["2026-10"] * len(deals),
        "amount": [str(Decimal(a) / 100) for a, _, _ in deals],
        "days_late": [str(d) for _, d, _ in deals],
        "deal_commission": [str(Decimal(c) / 100) for _, _, c in deals]},
        schema={"employee": pl.String, "period": pl.String, "amount": pl.String,
                "days_late": pl.String, "deal_commission": pl.String})
    scored = score_table(scheme, table, tables={"late_payments": items})
    [r] = to_document(scored.outcome, scored.table)["results"]
    want = Decimal(0)
    for amount, days, commission in deals:
        if days > 15:
            steps = -(-(days - 15) // 15)
            raw = min(Decimal(amount) / 100 * Decimal("0.0005") * steps, Decimal(commission) / 100)
            want += raw.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert Decimal(str(r["pay"]["late_penalty"])) == -want
    assert r["flags"] == (["风险赔偿审查"] if any(d > 180 for _, d, _ in deals) else [])


def test_monthly_formula_reading_a_year_input_is_a_load_error() -> None:
    text = QUARTERLY.replace("formula: mark}", "formula: mark + target}")
    with pytest.raises(SchemeError, match=r"indicators\[0\].*'target' is an input of the "
                                          r"quarter row"):
        load_scheme_text(text)


def test_last_of_a_text_is_text_in_aggregates() -> None:
    scheme, table = _table(
        "employee,period,mark,lv\nA,2026-10,40,高\nA,2026-11,50,低\n",
        (AGG % "values: [{id: v, formula: 'if(last(lv) = \"低\", 1, 0)'}]").replace(
            "  mark: {label: 考评分, type: score, min: 0, max: 100}\n",
            "  mark: {label: 考评分, type: score, min: 0, max: 100}\n"
            "  lv: {type: level, levels: [高, 低]}\n"))
    [a] = _doc(scheme, table)["aggregates"]
    assert a["values"] == {"v": 1}
