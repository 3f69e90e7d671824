"""Grades in interval notation and lookup tables with two or more keys (issue 10, part 1)."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaohe.engine.load import load_scheme_text
from kaohe.engine.results import to_document
from kaohe.engine.score import score_file
from kaohe.errors import InputError, SchemeError

GRADED = """\
id: graded
name: 区间等级
inputs:
  score: {label: 考核分, type: score, min: -50, max: 200}
indicators:
  - {id: score, label: 考核分, formula: score}
grades:
  - {name: 优, range: ">90", coefficient: 1.2}
  - {name: 良, range: "(80,90]", coefficient: 1}
  - {name: 中, range: "(60,80]", coefficient: 0.8}
  - {name: 不合格, range: "<=60", coefficient: 0}
"""


def _score(text: str, csv: str, tmp_path: Path) -> dict:
    scheme = load_scheme_text(text, "s.yaml")
    path = tmp_path / "in.csv"
    path.write_text(csv, encoding="utf-8")
    scored = score_file(scheme, path)
    return to_document(scored.outcome, scored.table)


def _grade_by_hand(total: Decimal) -> str:
    if total > 90:
        return "优"
    if total > 80:
        return "良"
    if total > 60:
        return "中"
    return "不合格"


def test_interval_grades_at_every_boundary(tmp_path: Path) -> None:
    values = ["90", "90.01", "80", "80.01", "60", "60.01", "59.99", "100", "150", "-5"]
    csv = "employee,score\n" + "".join(f"e{i},{v}\n" for i, v in enumerate(values))
    doc = _score(GRADED, csv, tmp_path)
    got = {r["employee"]: (r["grade"], r["coefficient"]) for r in doc["results"]}
    coef = {"优": Decimal("1.2"), "良": 1, "中": Decimal("0.8"), "不合格": 0}
    for i, v in enumerate(values):
        g = _grade_by_hand(Decimal(v))
        assert got[f"e{i}"][0] == g, v
        assert Decimal(str(got[f"e{i}"][1])) == coef[g]


def test_a_closed_top_grade_is_open_ended(tmp_path: Path) -> None:
    text = GRADED.replace('">90"', '"(90,100]"')
    doc = _score(text, "employee,score\na,120\nb,100\n", tmp_path)
    assert [r["grade"] for r in doc["results"]] == ["优", "优"]


def test_the_old_min_form_still_works(tmp_path: Path) -> None:
    text = GRADED.split("grades:")[0] + textwrap.dedent("""\
        grades:
          - {name: A, min: 90}
          - {name: B, min: 60}
          - {name: C}
        """)
    doc = _score(text, "employee,score\na,90\nb,89.99\nc,59.99\n", tmp_path)
    assert [r["grade"] for r in doc["results"]] == ["A", "B", "C"]


@pytest.mark.parametrize(("old", "new", "line", "words"), [
    ('"(80,90]"', '"(80,89]"', 9, r"grades\[1\]\.range: gap: values between 89 and 90"),
    ('"<=60"', '"<60"', 11, r"grades\[3\]\.range: gap: the value 60 falls in no grade"),
    ('"<=60"', '"<=70"', 11, r"grades\[3\]\.range: grades '<=70' and '\(60,80\]' overlap"),
    ('"<=60"', '"[0,60]"', 11, r"grades\[3\]\.range: gap: values below 0 fall in no grade"),
    ('"<=60"', '"60 to 70"', 11, r"grades\[3\]\.range: cannot read band"),
])
def test_gaps_and_overlaps_between_grades_are_load_errors(old: str, new: str, line: int,
                                                         words: str) -> None:
    with pytest.raises(SchemeError, match=rf"^bad\.yaml:{line}: {words}"):
        load_scheme_text(GRADED.replace(old, new), "bad.yaml")


def test_ranges_and_mins_do_not_mix() -> None:
    with pytest.raises(SchemeError, match=r"grades\[3\]\.range: grade '不合格' has no range"):
        load_scheme_text(GRADED.replace('range: "<=60"', "min: 0"), "bad.yaml")


def test_aggregate_grades_take_ranges_too(tmp_path: Path) -> None:
    text = GRADED + textwrap.dedent("""\
        aggregates:
          - period: quarter
            score: mean(total)
            grades: [{name: 好, range: ">=80"}, {name: 差, range: "<80"}]
        """)
    csv = ("employee,period,score\na,2026-10,80\na,2026-11,79.98\nb,2026-10,80\n"
           "b,2026-11,79.99\n")
    doc = _score(text, csv, tmp_path)
    grades = {a["employee"]: (a["score"], a["grade"]) for a in doc["aggregates"]}
    # a: mean 79.99 → 差; b: mean 79.995, rounded half-up to 80 before grading → 好
    assert grades == {"a": (79.99, "差"), "b": (80, "好")}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.decimals(min_value=-50, max_value=200, places=2), min_size=1, max_size=20))
def test_every_total_gets_exactly_one_grade_and_grades_are_monotone(
        tmp_path_factory: pytest.TempPathFactory, totals: list[Decimal]) -> None:
    folder = tmp_path_factory.mktemp("g")
    csv = "employee,score\n" + "".join(f"e{i:02d},{v}\n" for i, v in enumerate(totals))
    doc = _score(GRADED, csv, folder)
    order = ["不合格", "中", "良", "优"]
    rows = sorted((Decimal(str(r["total"])), r["grade"]) for r in doc["results"])
    for total, grade in rows:
        assert grade == _grade_by_hand(total)
    ranks = [order.index(g) for _, g in rows]
    assert ranks == sorted(ranks)


# -- lookups with two or more keys ---------------------------------------------------------

LOOKUP = """\
id: salary
name: 职位职等工资
inputs:
  position:  {label: 职位, type: level, levels: [业务员, 主管]}
  job_grade: {label: 职等, type: level, levels: {Ⅰ级: ["1"], Ⅱ级: ["2"], Ⅲ级: ["3"]}}
  months:    {label: 司龄月数, type: count}
indicators: []
total: {none: true}
tables:
  salary:
    业务员: {Ⅰ级: 3000, Ⅱ级: 3500, Ⅲ级: 4000}
    主管:   {Ⅰ级: 5000, Ⅱ级: 5500, Ⅲ级: 6000}
  rate:
    业务员: {1: 0.5%, 2: 0.6%}
pay:
  - {id: base, label: 基本工资, amount: "lookup(salary, position, job_grade)"}
  - {id: extra, label: 司龄奖, amount: "lookup(rate, position, months, 0) * 10000"}
"""


def test_a_two_key_lookup_reads_levels_and_their_spellings(tmp_path: Path) -> None:
    csv = ("employee,position,job_grade,months\na,业务员,2,1\nb,主管,Ⅲ级,2\n"
           "c,业务员,1,3\nd,主管,3,1\n")
    doc = _score(LOOKUP, csv, tmp_path)
    pay = {r["employee"]: r["pay"] for r in doc["results"]}
    assert pay["a"] == {"base": 3500, "extra": 50, "total": 3550}
    assert pay["b"] == {"base": 6000, "extra": 0, "total": 6000}  # no 主管 row: the default
    assert pay["c"] == {"base": 3000, "extra": 0, "total": 3000}  # no 3-month key: default
    assert pay["d"]["base"] == 6000


def test_an_unknown_level_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"row 2.*job_grade.*Ⅳ级"):
        _score(LOOKUP, "employee,position,job_grade,months\na,业务员,Ⅳ级,1\n", tmp_path)


@pytest.mark.parametrize(("old", "new", "words"), [
    ("主管:   {Ⅰ级: 5000, Ⅱ级: 5500, Ⅲ级: 6000}", "主管:   {Ⅰ级: 5000, Ⅱ级: 5500}",
     r"^bad\.yaml:10: tables\.salary: no entry for 主管 × Ⅲ级"),
    ("主管:   {Ⅰ级: 5000, Ⅱ级: 5500, Ⅲ级: 6000}", "主管:   {Ⅰ级: 5000, 2: 5500, Ⅲ级: 6000}",
     r"^bad\.yaml:10: tables\.salary: key '2' is not a level of input 'job_grade'; '2' is a "
     r"spelling of level 'Ⅱ级'"),
    ("主管:   {Ⅰ级: 5000, Ⅱ级: 5500, Ⅲ级: 6000}", "经理:   {Ⅰ级: 5000, Ⅱ级: 5500, Ⅲ级: 6000}",
     r"^bad\.yaml:10: tables\.salary: key '经理' is not a level of input 'position'"),
    ("lookup(salary, position, job_grade)", "lookup(salary, position)",
     r"^bad\.yaml:16: pay\[0\]\.amount: table 'salary' has 2 keys"),
    ("主管:   {Ⅰ级: 5000, Ⅱ级: 5500, Ⅲ级: 6000}", "主管: 5000",
     r"^bad\.yaml:\d+: tables\.salary: every entry of a table needs the same number of keys"),
    ("主管:   {Ⅰ级: 5000, Ⅱ级: 5500, Ⅲ级: 6000}", "主管:   {Ⅰ级: 5000, Ⅱ级: 高, Ⅲ级: 6000}",
     r"^bad\.yaml:\d+: tables\.salary: .*主管 × Ⅱ级: expected a number"),
])
def test_two_key_tables_are_checked_at_load(old: str, new: str, words: str) -> None:
    assert old in LOOKUP
    with pytest.raises(SchemeError, match=words):
        load_scheme_text(LOOKUP.replace(old, new), "bad.yaml")


def test_grades_written_like_bands(tmp_path: Path) -> None:
    text = GRADED.split("grades:")[0] + textwrap.dedent("""\
        grades: {">90": {name: 优, coefficient: 1.2}, "(60,90]": 合格, "<=60": 不合格}
        """)
    doc = _score(text, "employee,score\na,90.01\nb,90\nc,60\n", tmp_path)
    assert [(r["grade"], r["coefficient"]) for r in doc["results"]] == [
        ("优", 1.2), ("合格", None), ("不合格", None)]
    with pytest.raises(SchemeError, match=r"^bad\.yaml:7: grades\[2\]\.range: .*overlap at 60"):
        load_scheme_text(text.replace('"(60,90]"', '"[60,90]"'), "bad.yaml")
