"""The payroll workbook opened back with openpyxl: 总分 and 等级 beside every pay line, team
subtotals and the grand total equal to the sums of the rounded lines (checked by hand and as a
property), ¥ formats, frozen header, filter and a landscape page one sheet wide; and the
input template, whose cells filled in as HR types them read back as typed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from kaohe.reports.payroll_xlsx import GRAND_TOTAL, MONEY_FORMAT, SUBTOTAL, layout, write_payroll_xlsx

HEADER = ["工号", "姓名", "团队", "周期", "底薪", "岗位奖金", "奖金池分配", "应发合计"]


def D(s: str) -> Decimal:
    return Decimal(s)


ROWS: list[list[Any]] = [
    ["E001", "员工1", "售前一组", "2026-11", D("1280.00"), D("400.00"), D("123.45"), D("1803.45")],
    ["E003", "员工3", "售前一组", "2026-11", D("1280.00"), D("200.00"), D("0.01"), D("1480.01")],
    ["E002", "员工2", "售前二组", "2026-11", D("1280.00"), None, D("99.99"), D("1379.99")],
]
SCORES = {"E001": (D("92.50"), "高级"), "E003": (D("81.00"), "中级"), "E002": (D("65.25"), "不合格")}


def _open(tmp_path: Path) -> Any:
    path = tmp_path / "工资表.xlsx"
    write_payroll_xlsx(path, HEADER, ROWS, SCORES, title="工资表 2026-11")
    return load_workbook(path)


def test_lines_subtotals_and_grand_total_by_hand(tmp_path: Path) -> None:
    ws = _open(tmp_path).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == ["工号", "姓名", "团队", "周期", "总分", "等级", "底薪", "岗位奖金",
                             "奖金池分配", "应发合计"]
    assert rows[1][:6] == ("E001", "员工1", "售前一组", "2026-11", 92.5, "高级")
    assert rows[2][:6] == ("E003", "员工3", "售前一组", "2026-11", 81, "中级")
    # the first team's subtotal: 1280+1280, 400+200, 123.45+0.01, 1803.45+1480.01
    assert rows[3][1:3] == (SUBTOTAL, "售前一组")
    assert [D(str(v)) for v in rows[3][6:]] == [D("2560"), D("600"), D("123.46"), D("3283.46")]
    assert rows[4][:6] == ("E002", "员工2", "售前二组", "2026-11", 65.25, "不合格")
    assert rows[4][7] is None  # no position bonus: blank, not 0
    assert rows[5][1:3] == (SUBTOTAL, "售前二组")
    assert [D(str(v)) for v in rows[5][6:]] == [D("1280"), D("0"), D("99.99"), D("1379.99")]
    assert rows[6][1] == GRAND_TOTAL
    assert [D(str(v)) for v in rows[6][6:]] == [D("3840"), D("600"), D("223.45"), D("4663.45")]
    assert len(rows) == 7


def test_formats_frozen_header_filter_and_print_setup(tmp_path: Path) -> None:
    ws = _open(tmp_path).active
    assert ws.title == "工资表"
    assert ws.freeze_panes == "C2"
    assert ws.auto_filter.ref == "A1:J6"  # people and subtotals; the grand total stays below
    assert ws.cell(2, 7).number_format == MONEY_FORMAT and "¥" in MONEY_FORMAT
    assert ws.cell(7, 10).number_format == MONEY_FORMAT  # the grand total too
    assert ws.cell(2, 5).number_format == "0.00"
    assert ws.cell(4, 2).font.b and ws.cell(7, 2).font.b
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.paperSize in (9, "9")
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.fitToWidth in (1, "1", None)  # 1 is the default
    assert ws.page_setup.fitToHeight in (0, "0")
    assert ws.print_title_rows.replace("$", "") == "1:1"  # the header on every page
    assert "2026-11" in ws.oddHeader.center.text


money = st.decimals(min_value=-5000, max_value=50000, places=2, allow_nan=False,
                    allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["一组", "二组", "三组"]), money, money | st.none()),
                min_size=1, max_size=25))
def test_every_subtotal_is_the_sum_of_its_rounded_lines(lines: list[tuple[str, Decimal,
                                                                          Decimal | None]]) -> None:
    rows = sorted(([f"E{i:03d}", f"员工{i}", team, "2026-11", a, b,
                    a + (b or 0)] for i, (team, a, b) in enumerate(lines)), key=lambda r: r[2])
    header = ["工号", "姓名", "团队", "周期", "底薪", "奖金", "应发合计"]
    sheet = layout(header, rows, {})
    subtotal = [line for line, kind in zip(sheet.lines, sheet.kinds, strict=True)
                if kind == "subtotal"]
    assert [s[2] for s in subtotal] == sorted({r[2] for r in rows})
    for s in subtotal:
        mine = [r for r in rows if r[2] == s[2]]
        for j, col in ((6, 4), (7, 5), (8, 6)):
            assert s[j] == sum((r[col] or Decimal(0) for r in mine), Decimal(0))
    total = sheet.lines[-1]
    assert sheet.kinds[-1] == "total" and total[1] == GRAND_TOTAL
    for j in (6, 7, 8):
        assert total[j] == sum((s[j] for s in subtotal), Decimal(0))
    assert sheet.kinds.count("person") == len(rows)


# -- the input template: what HR types into it is what the upload reads ---------------------
LEVELS = ["非常满意", "比较满意", "一般", "不满意"]
typed_rows = st.lists(st.tuples(
    st.decimals(0, 10**7, places=2), st.sampled_from(LEVELS),
    st.decimals(0, 1, places=4), st.integers(0, 999)), min_size=1, max_size=8)


@settings(max_examples=25, deadline=None)
@given(typed_rows)
def test_a_filled_template_reads_back_as_typed(tmp_path_factory: Any, typed: list[Any]) -> None:
    from kaohe.columns import EMPLOYEE, NAME, TEAM, input_col
    from kaohe.ingest.table import prepare, read_raw
    from kaohe.presets import load_preset
    from kaohe.reports.template_xlsx import write_template

    scheme = load_preset("taobao-presales")
    folder = tmp_path_factory.mktemp("template")
    people = [(f"{i:03d}", f"员工{i}", "售前一组" if i % 2 else "售前二组")
              for i in range(1, len(typed) + 1)]
    path = folder / "模板.xlsx"
    write_template(scheme, people, path, period="2026-11")
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    col = {c.value: c.column for c in ws[1]}
    for i, (sales, level, ratio, bad) in enumerate(typed, start=2):
        ws.cell(i, col["实际销售额"]).value = float(sales)
        ws.cell(i, col["执行力"]).value = level
        ws.cell(i, col["旺旺满意度"]).value = float(ratio)  # a percent cell holds the fraction
        ws.cell(i, col["差评数"]).value = bad
    wb.save(path)
    frame, source = read_raw(path)
    table = prepare(frame, scheme, source, default_period="2026-11", partial=True).frame
    rows = table.sort(EMPLOYEE).iter_rows(named=True)
    for (code, name, team), (sales, level, ratio, bad), row in zip(people, typed, rows,
                                                                   strict=True):
        assert (row[EMPLOYEE], row[NAME], row[TEAM]) == (code, name, team)  # "001" stays text
        assert row[input_col("sales")] == sales
        assert row[input_col("execution")] == level
        assert row[input_col("satisfaction")] == ratio
        assert row[input_col("bad_reviews")] == bad
