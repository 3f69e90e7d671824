"""Reasons as an agent reads them: labels and values, in Chinese and English, never input ids
or formula source; the same text on every surface (the CLI, --reasons, the forms)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import polars as pl

from kaohe.engine.explain import reason_frame, short_reasons
from kaohe.engine.score import score_file
from kaohe.presets import load_preset

HEADER = ("employee,team,period,sales,sales_target,inquiries,buyers,received,replied,"
          "response_s,followup_amount,execution,satisfaction,bad_reviews,full_attendance,"
          "silent_sales")
ROWS = [
    # all eight indicators at the top band: 100 → 高级; silent sales 50,000
    "E1,T,2026-10,88775.90,80000,400,210,420,415,25,45000,非常满意,99%,0,1,50000",
    # two bad reviews: −100, the total floored at 0
    "E2,T,2026-10,50000,80000,400,150,420,400,50,10000,一般,91%,2,0,40000",
    "E3,T,2026-10,60000,80000,400,160,420,400,40,20000,比较满意,96%,0,1,32778.33",
]


def _scored(tmp_path: Path, rows: list[str] = ROWS, preset: str = "taobao-presales"):  # type: ignore[no-untyped-def]
    path = tmp_path / "in.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return score_file(load_preset(preset), path)


def _row(tmp_path: Path, employee: str, lang: str = "zh") -> dict[str, str | None]:
    scored = _scored(tmp_path)
    texts = reason_frame(scored.outcome.plan, scored.outcome.frame, lang)
    i = scored.outcome.frame["employee"].to_list().index(employee)
    return texts.row(i, named=True)


def test_the_issue_examples_in_chinese(tmp_path: Path) -> None:
    e1 = _row(tmp_path, "E1")
    assert e1["completion"] == ("成交额完成度：实际销售额 88,775.90 ÷ 计划销售额 80,000.00 = 110.97%，"
                                "落在「≥100%」档 → 100 分 × 权重 30% = 30.00")
    assert e1["position_bonus"] == "岗位奖金：等级 高级 → 400.00"
    # 122,778.33 × 0.6% = 736.67; rank 1 gets 40% + 200
    assert e1["silent_pool"] == ("静默销售奖金池：本组静默下单销售额合计 122,778.33 × 0.6% = 736.67；"
                                 "名次 1 → 40% + 200 = 494.67")
    assert e1["execution"] == "执行力：执行力「非常满意」→ 100 分 × 权重 10% = 10.00"
    assert e1["grade"] == "等级：总分 100.00 ≥ 90 → 高级"
    e2 = _row(tmp_path, "E2")
    assert e2["bad_review_deduction"] == "差评扣分：差评数 2 次 × 50 = −100.00"
    assert e2["total"] is not None and e2["total"].endswith("→ 不低于 0 = 0.00")
    assert e2["full_attendance"] == "全勤奖：全勤 0 → 0.00"
    e3 = _row(tmp_path, "E3")
    assert e3["silent_pool"] is not None
    assert e3["silent_pool"].endswith("名次 2 → 30% + 100 = 321.00")


def test_english_uses_the_english_labels(tmp_path: Path) -> None:
    e1 = _row(tmp_path, "E1", "en")
    assert e1["completion"] == ("Sales completion: Sales 88,775.90 ÷ Sales target 80,000.00 = "
                                "110.97%, in band “≥100%” → 100 points × weight 30% = 30.00")
    assert e1["position_bonus"] == "Position bonus: grade Senior → 400.00"
    assert e1["grade"] == "Grade: total 100.00 ≥ 90 → Senior"


def test_no_input_ids_or_formula_source(tmp_path: Path) -> None:
    scheme = load_preset("taobao-presales")
    for lang in ("zh", "en"):
        # English labels may use the same words as the ids ("Inquiring buyers")
        ids = {i for i in scheme.inputs if "_" in i or lang == "zh"}
        scored = _scored(tmp_path)
        texts = reason_frame(scored.outcome.plan, scored.outcome.frame, lang)
        for row in texts.iter_rows(named=True):
            for line, text in row.items():
                if text is None:
                    continue
                words = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", text))
                assert not words & ids, (line, text)
                assert "lookup(" not in text and "team_sum(" not in text, (line, text)


def test_rows_keep_their_order_and_stored_reasons_follow_the_records(tmp_path: Path) -> None:
    scored = _scored(tmp_path, list(reversed(ROWS)))
    frame = scored.outcome.frame
    texts = reason_frame(scored.outcome.plan, frame)
    for employee, text in zip(frame["employee"], texts["completion"], strict=True):
        assert (employee == "E1") == text.startswith("成交额完成度：实际销售额 88,775.90")
    # short_reasons lists the rows as the result records do: period, team, employee
    stored = short_reasons(scored.outcome.plan, frame)
    assert [s["completion"].split("实际销售额 ")[1][:9] for s in stored] == [
        "88,775.90", "50,000.00", "60,000.00"]


def test_cross_period_flag_and_exclusion_are_explained(tmp_path: Path) -> None:
    low = "E2,T,{p},50000,80000,400,150,420,400,50,10000,一般,91%,2,0,40000"
    scored = _scored(tmp_path, [low.format(p="2026-09"), low.format(p="2026-10")])
    texts = reason_frame(scored.outcome.plan, scored.outcome.frame)
    flags = dict(zip(scored.outcome.frame["period"], texts["flags"], strict=True))
    assert flags["2026-09"] is None
    assert flags["2026-10"] == "淘汰（总分 0.00 < 70 且 累计满足（总分 < 70）的期数 2 = 2）"

    header = ("employee,team,period,performance@self,performance@supervisor,"
              "performance@manager,ability@self,ability@supervisor,ability@manager,"
              "attitude@self,attitude@supervisor,attitude@manager,absent_months,"
              "position_salary,personal_commission,team_public_sales,seniority_pay")
    path = tmp_path / "policy.csv"
    path.write_text(header + "\nA1,T,2026-10,90,90,90,90,90,90,90,90,90,0,3000,500,100000,100\n"
                    "A3,T,2026-10,,,,,,,,,,3,3000,0,100000,100\n", encoding="utf-8")
    scored = score_file(load_preset("taobao-policy"), path)
    texts = reason_frame(scored.outcome.plan, scored.outcome.frame)
    a3 = texts.filter(pl.Series(scored.outcome.frame["employee"] == "A3")).row(0, named=True)
    assert a3["eligibility"] == "不参加考核：考核期内缺勤超过2个月，不参加考核（缺勤月数 3 > 2）"
    assert a3["performance"] is None and a3["total"] is None


def test_cli_reasons_and_explain_say_the_same(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    run = [sys.executable, "-m", "kaohe"]
    doc = json.loads(subprocess.run(
        [*run, "score", "--preset", "taobao-presales", "--input", str(path), "--format",
         "json", "--reasons"], capture_output=True, text=True, check=True).stdout)
    e1 = next(r for r in doc["results"] if r["employee"] == "E1")
    assert e1["reasons"]["position_bonus"] == "岗位奖金：等级 高级 → 400.00"
    out = subprocess.run([*run, "explain", "--preset", "taobao-presales", "--input", str(path),
                          "--employee", "E1", "--lang", "en"],
                         capture_output=True, text=True, check=True).stdout
    assert "grade Senior → 400.00" in out and "Position bonus" in out
