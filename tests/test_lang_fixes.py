"""Fixes to the scheme language found by writing the seed schemes from docs/schemes.md.

1. Every function in every kind of formula (row, aggregate, item) either works or is a
   load error naming the file, line and field — never an internal error when scoring.
2. The error names only the functions usable in that kind of formula.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import polars as pl
import pytest

from kaohe.engine.explain import explain_aggregate, explain_lines, reason_frame
from kaohe.engine.load import load_scheme_text
from kaohe.engine.results import to_document
from kaohe.engine.score import score_table
from kaohe.errors import SchemeError
from kaohe.ingest.table import prepare

ROOT = Path(__file__).resolve().parents[1]

# Which functions each kind of formula may call, as docs/schemes.md's function table says
# (written out here, not read from the engine).
SCALAR = {"min", "max", "clamp", "if", "round", "ceil", "floor", "abs", "lookup",
          "is_missing", "coalesce"}
TEAM = {"team_sum", "team_mean", "team_max", "team_min", "team_rank", "team_count"}
HISTORY = {"streak", "count_so_far", "prev"}
ITEMS = {"sum_items", "count_items", "any_items", "max_items"}
AGG = {"sum", "mean", "count", "any", "last", "min1", "max1", "months"}
USABLE = {
    "row": SCALAR | TEAM | HISTORY | ITEMS,
    "agg": SCALAR | {"team_count"} | AGG,
    "agg_arg": SCALAR,
    "item": SCALAR,
    "item_arg": SCALAR,
}

# One call of each function, as a number; ``V`` is a number the context can read.
CALLS = {
    "min": "min(V, 1)", "max": "max(V, 1)", "clamp": "clamp(V, 0, 10)",
    "if": "if(V > 1, 1, 2)", "round": "round(V, 1)", "ceil": "ceil(V)", "floor": "floor(V)",
    "abs": "abs(V)", "lookup": "lookup(rate, 1, 0) * V", "is_missing": "if(is_missing(V), 1, 0)",
    "coalesce": "coalesce(V, 0)",
    "team_sum": "team_sum(V)", "team_mean": "team_mean(V)", "team_max": "team_max(V)",
    "team_min": "team_min(V)", "team_rank": "team_rank(V)", "team_count": "team_count() + V",
    "streak": "streak(V > 1)", "count_so_far": "count_so_far(V > 1)", "prev": "prev(V)",
    "sum_items": "sum_items(deals, amount)", "count_items": "count_items(deals)",
    "any_items": "if(any_items(deals, amount > 1), 1, 0)",
    "max_items": "coalesce(max_items(deals, amount), 0)",
    "sum": "sum(x)", "mean": "mean(x)", "count": "count(x > 1)", "any": "if(any(x > 1), 1, 0)",
    "last": "last(x)", "min1": "min(x)", "max1": "max(x)", "months": "months()",
}
# the number each kind of formula reads
READS = {"row": "x", "agg": "score", "agg_arg": "x", "item": "amount", "item_arg": "amount"}

BASE = """
id: probe
name: 探针
inputs:
  x: {{label: 数, type: number}}
tables:
  rate: {{1: 2}}
indicators:
  - {{id: x, label: 数, formula: x}}
items:
  deals:
    label: 明细
    columns:
      amount: {{label: 金额, type: money}}
    values:
      - {{id: one, label: 一, formula: "{item}"}}
values:
  - {{id: probe, label: 探针, formula: "{row}"}}
  - {{id: deal_sum, label: 明细合计, formula: "sum_items(deals, {item_arg})"}}
aggregates:
  - period: quarter
    score: mean(total)
    values:
      - {{id: agg_probe, label: 季度探针, formula: "{agg}"}}
      - {{id: agg_arg, label: 月均探针, formula: "mean({agg_arg})"}}
"""
# the line of each context's formula in BASE (after the leading newline)
LINES = {"item": 16, "row": 18, "item_arg": 19, "agg": 24, "agg_arg": 25}


def _scheme_text(context: str, call: str) -> str:
    fill = dict(READS)
    fill[context] = call.replace("V", READS[context])
    return BASE.format(**fill)


def _score_everything(text: str) -> None:
    scheme = load_scheme_text(text, "probe.yaml")
    frame = pl.read_csv(io.StringIO(
        "employee,team,period,x\nA,t,2026-01,3\nA,t,2026-02,5\nB,t,2026-01,2\n"),
        infer_schema=False)
    deals = pl.DataFrame({"employee": ["A", "A", "B"],
                          "period": ["2026-01", "2026-01", "2026-01"],
                          "amount": ["10", "20", "5"]})
    scored = score_table(scheme, prepare(frame, scheme, "in.csv"), tables={"deals": deals})
    doc = to_document(scored.outcome, scored.table)
    assert len(doc["results"]) == 3 and len(doc["aggregates"]) == 2
    out = scored.outcome
    reason_frame(out.plan, out.frame)
    for i in range(out.frame.height):
        explain_lines(out.plan, out.frame, i)
    assert explain_aggregate(out, "A", "2026-Q1")


def test_the_probe_scheme_scores() -> None:
    _score_everything(_scheme_text("row", "x"))


@pytest.mark.parametrize("context", sorted(USABLE))
@pytest.mark.parametrize("func", sorted(CALLS))
def test_every_function_in_every_formula_works_or_is_a_load_error(context: str,
                                                                  func: str) -> None:
    text = _scheme_text(context, CALLS[func])
    name = {"min1": "min", "max1": "max"}.get(func, func)
    if func in USABLE[context]:
        _score_everything(text)
        return
    with pytest.raises(SchemeError) as err:
        load_scheme_text(text, "probe.yaml")
    msg = str(err.value)
    assert msg.startswith(f"probe.yaml:{LINES[context]}: "), msg
    assert name in msg
    # the functions the message offers are only those usable here
    listed = re.search(r"functions usable (?:here|in [^:]*): (.*)$", msg)
    if listed is None:  # a one-argument min/max outside an aggregate: its arity is named
        assert func in ("min1", "max1") and "takes 2 to 99 arguments" in msg, msg
        return
    offered = set(listed.group(1).split(", "))
    assert name not in offered
    want = {f for f in USABLE[context] if f not in ("min1", "max1")}
    assert offered == want, msg


def test_item_formula_with_a_team_function_is_refused_by_check(tmp_path: Path) -> None:
    """The reviewer's repro: the foreign-trade example with ``team_sum`` in an item value."""
    text = (ROOT / "docs/examples/foreign-trade.yaml").read_text("utf-8")
    marker = "      - {id: penalty,"
    assert marker in text
    for probe in ("team_sum(amount)", "sum_items(late_payments, amount)", "prev(amount)"):
        bad = text.replace(marker, f'      - {{id: probe, formula: "{probe}"}}\n{marker}')
        line = bad.splitlines().index(f'      - {{id: probe, formula: "{probe}"}}') + 1
        with pytest.raises(SchemeError) as err:
            load_scheme_text(bad, "ft.yaml")
        msg = str(err.value)
        assert msg.startswith(f"ft.yaml:{line}: items.late_payments.values[0].formula: "), msg
        assert "item formula" in msg and "functions usable here: abs, ceil, clamp" in msg


# -- 3. awards have a label, shown wherever an award is shown --------------------------------
AWARDS = """
id: awards
name: 奖项
inputs:
  mark: {label: 考评分, type: score, min: 0, max: 100}
indicators:
  - {id: mark, label: 考评分, formula: mark}
aggregates:
  - period: quarter
    label: 季度汇总
    score: mean(total)
    rank: true
    awards:
      - {id: quarter_award, label: 季度个人奖, label_en: Quarterly personal award, amount: "if(rank = 1, 2000, 0)"}
      - {id: plain_award, amount: "if(rank = 2, 500, 0)"}
"""


def _awards_scored() -> object:
    scheme = load_scheme_text(AWARDS, "awards.yaml")
    frame = pl.read_csv(io.StringIO(
        "employee,team,period,mark\nA,t,2026-10,90\nA,t,2026-11,80\nB,t,2026-10,70\n"),
        infer_schema=False)
    return score_table(scheme, prepare(frame, scheme, "in.csv"))


def test_an_award_takes_a_label() -> None:
    from kaohe.scheme.models import Award

    assert {"label", "label_en"} <= set(Award.model_fields)
    scheme = load_scheme_text(AWARDS, "awards.yaml")
    award = scheme.aggregates[0].awards[0]
    assert (award.label, award.label_en) == ("季度个人奖", "Quarterly personal award")


def test_award_labels_in_explain_and_the_table_but_ids_in_json_and_csv() -> None:
    from rich.console import Console

    from kaohe.reports import output

    scored = _awards_scored()
    out = scored.outcome  # type: ignore[attr-defined]
    # A: mean(90, 80) = 85, first → 2000; B: 70, second → 500
    doc = to_document(out, scored.table)  # type: ignore[attr-defined]
    awards = {a["employee"]: a["awards"] for a in doc["aggregates"]}
    assert awards == {"A": {"quarter_award": 2000}, "B": {"plain_award": 500}}
    zh = {line.id: line for line in explain_aggregate(out, "A", "2026-Q4")}
    assert zh["awards.quarter_award"].label == "季度个人奖"
    assert zh["awards.quarter_award"].points == "2000.00"
    assert zh["awards.plain_award"].label == "plain_award"  # no label: the id
    en = {line.id: line for line in explain_aggregate(out, "A", "2026-Q4", "en")}
    assert en["awards.quarter_award"].label == "Quarterly personal award"
    res = output.collect(scored)  # type: ignore[arg-type]
    [table] = output.aggregate_tables(res)
    console = Console(width=200, record=True)
    console.print(table)
    text = console.export_text()
    assert "季度个人奖" in text and "quarter_award" not in text
    buf = io.BytesIO()
    output.write_aggregates_csv(res, buf)
    header = buf.getvalue().decode().splitlines()[0].split(",")
    assert "award:quarter_award" in header and "award:plain_award" in header


@pytest.mark.parametrize(("preset", "period", "award", "label"), [
    ("foreign-trade", "quarter", "quarter_award", "季度个人奖"),
    ("foreign-trade", "year", "annual_award", "年度个人奖"),
    ("ecommerce-commission", "quarter", "quarterly_award", "季度奖励"),
    ("operator-monthly", "year", "raise", "次年调薪"),
])
def test_presets_name_their_awards(preset: str, period: str, award: str, label: str) -> None:
    from kaohe.presets import PRESET_IDS, load_preset

    found = {(p, spec.period, a.id): a for p in PRESET_IDS for spec in load_preset(p).aggregates
             for a in spec.awards}
    assert found[(preset, period, award)].label == label
    assert all(a.label and a.label_en for a in found.values()), "every preset award is named"


# -- 4. a wide table stays readable in a narrow terminal --------------------------------------
PS_LABELS = ["服务时间", "服务资源", "接听速度", "规范用语", "倾听、记录与复述", "致谢与道别",
             "入伙办理", "装修管理", "收费服务", "报修、咨询、求助", "投诉处理"]
PS_CSV = (
    "employee,team,period,phone_hours,phone_staffing,answer_speed,greeting,listening,closing,"
    "move_in,renovation,billing,requests,complaints\n"
    # rulebook 4.10's worked example: 68 of 85 applicable points → 80.00
    "W01,前台,2026-10,符合,基本符合,一般符合,不适用,符合,不符合,符合,不适用,基本符合,一般符合,符合\n"
    "W02,前台,2026-10,符合,符合,符合,符合,符合,符合,符合,符合,符合,符合,符合\n")


def _score_text(tmp_path: Path, columns: int, *extra: str) -> str:
    import os
    import subprocess
    import sys

    src = tmp_path / "ps.csv"
    src.write_text(PS_CSV, encoding="utf-8")
    env = {**os.environ, "COLUMNS": str(columns), "PYTHONPATH": str(ROOT / "src")}
    r = subprocess.run([sys.executable, "-m", "kaohe", "score", "--preset", "property-service",
                        "--input", str(src), *extra], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_an_eleven_indicator_table_folds_in_an_80_column_terminal(tmp_path: Path) -> None:
    from rich.cells import cell_len

    text = _score_text(tmp_path, 80)
    assert max(cell_len(line.rstrip()) for line in text.splitlines()) <= 80
    # every label whole, and each employee's numbers beside them
    for label in PS_LABELS:
        assert label in text, label
    w01 = re.split(r"\n\s*\n", text[text.index("工号 W01"):])[0]
    assert re.search(r"总分\s+80\.00", w01) and re.search(r"规范用语\s+-", w01)
    assert re.search(r"致谢与道别\s+0\.00", w01) and re.search(r"标记\s+需整改", w01)
    assert "…" not in text


def test_a_wide_terminal_keeps_the_table_with_no_cell_cut(tmp_path: Path) -> None:
    text = _score_text(tmp_path, 200)
    assert "┃ 周期" in text and "工号 W01" not in text  # a table, not folded
    assert "…" not in text  # no header cut short: a long one folds onto two lines
    row = next(line for line in text.splitlines() if "W01" in line and "2026-10" in line)
    cells = [c.strip() for c in row.split("│")[1:-1]]
    assert cells[:7] == ["2026-10", "前台", "2", "W01", "", "80.00", "-"]
    assert cells[7:18] == ["10.00", "8.00", "3.00", "-", "5.00", "0.00", "15.00", "-", "8.00",
                           "9.00", "10.00"]
    assert cells[-1] == "需整改"
