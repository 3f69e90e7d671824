"""The PDF 考核表, read back with pypdf.

Expected values come from the scored record, the scheme and the xlsx form (opened with
openpyxl), never from the PDF writer. Text is compared with all whitespace removed, since
wrapping inside a cell breaks a line anywhere.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from pypdf import PdfReader

from kaohe.errors import KaoheError
from kaohe.reports.forms import write_agent_form
from kaohe.reports.pdf import agent_pdf, write_agent_pdf

from .test_forms import H41, H41_FULL, H49, ROW41, ROW41_FULL, _score

TITLE41 = "淘宝售前客服月度KPI考核表"
# taobao-policy: A1 is assessed, A3 absent 3 months is excluded (rulebook 4.9)
POLICY = (H49 + "A1,T,2026-10,90,90,90,90,90,90,90,90,90,0,3000,500,100000,100\n"
          + "A3,T,2026-10,,,,,,,,,,3,3000,0,100000,100\n")


def _reader(data: bytes) -> PdfReader:
    assert data.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(data))


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _text(data: bytes) -> str:
    """All pages' text, whitespace removed."""
    return _flat("".join(page.extract_text() for page in _reader(data).pages))


def _fen(v: Any) -> str:
    return f"{Decimal(str(v)).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"


def _in_order(text: str, parts: Iterable[str]) -> None:
    """Each part occurs in ``text``, each after the one before."""
    at = 0
    for part in parts:
        part = _flat(part)
        found = text.find(part, at)
        assert found >= 0, f"{part!r} not found after …{text[max(0, at - 60):at]!r}"
        at = found + len(part)


def _as_shown(value: Any, number_format: str) -> str:
    """An xlsx cell's value as Excel shows it."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    d = Decimal(str(value))
    if number_format == "0.00":
        return _fen(d)
    if number_format in ("0%", "0.00%"):
        places = Decimal(1) if number_format == "0%" else Decimal("0.01")
        return f"{(d * 100).quantize(places, rounding=ROUND_HALF_UP):f}%"
    if number_format == "0":
        return f"{d.quantize(Decimal(1), rounding=ROUND_HALF_UP):f}"
    return f"{d.normalize():f}"


def _xlsx_cells(path: Path) -> list[str]:
    """The xlsx form's non-empty cells as shown, row by row."""
    ws = load_workbook(path).active
    assert isinstance(ws, Worksheet)
    return [_as_shown(cell.value, cell.number_format)
            for row in ws.iter_rows() for cell in row if cell.value not in (None, "")]


# -- the worked example (rulebook 4.1) --------------------------------------------------------

def test_worked_example_pdf(tmp_path: Path) -> None:
    scored, doc = _score(tmp_path, H41_FULL + ROW41_FULL)
    rec = doc["results"][0]
    data = agent_pdf(scored, rec)
    reader = _reader(data)
    assert len(reader.pages) == 1  # the usual form fits one A4 page
    assert reader.metadata is not None and reader.metadata.title == TITLE41
    text = _text(data)
    assert text.startswith(TITLE41)
    _in_order(text, ["被考核人", f"{rec['employee']} {rec['name']}", "部门/团队", rec["team"],
                     "岗位", "售前客服", "考核周期", rec["period"]])
    _in_order(text, ["序号", "考核指标", "权重/分值", "评分标准", "数据", "得分", "理由"])

    # every indicator, in the scheme's order, with its points to the fen
    scheme = scored.scheme
    expected: list[str] = []
    for no, item in enumerate(scheme.indicators, start=1):
        expected += [str(no), item.label, _fen(rec["indicators"][item.id])]
    _in_order(text, expected)
    assert "实际销售额105,000.00÷计划销售额100,000.00=105.00%，落在「≥100%」档→100分×权重30%=30.00" \
        in text
    assert "最终下单人数190÷询单人数400=47.50%，落在「[45%,50%)」档→80分×权重20%=16.00" in text

    _in_order(text, ["加减分：差评扣分", "合计", _fen(rec["total"]), "等级", rec["grade"],
                     "名次", str(rec["rank"])])
    # each pay line, then 应发合计 to the fen
    pay = rec["pay"]
    lines: list[str] = ["薪酬"]
    for line in scheme.pay:
        lines += [line.label, _fen(pay[line.id])]
    _in_order(text, [*lines, "应发合计", _fen(pay["total"]), "标记", "无"])
    assert text.endswith("被考核人日期考核人日期复核人日期人力资源部日期")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pdf_says_what_the_xlsx_form_says(tmp_path: Path, lang: str) -> None:
    scored, doc = _score(tmp_path, H41_FULL + ROW41_FULL)
    rec = doc["results"][0]
    xlsx = tmp_path / "form.xlsx"
    write_agent_form(scored, rec, xlsx, lang=lang)
    cells = _xlsx_cells(xlsx)
    assert len(cells) > 100
    _in_order(_text(agent_pdf(scored, rec, lang=lang)), cells)


def test_form_without_period_team_or_name(tmp_path: Path) -> None:
    scored, doc = _score(tmp_path, H41 + ROW41)
    text = _text(agent_pdf(scored, doc["results"][0]))
    _in_order(text, ["被考核人", "E001", "部门/团队", "—", "岗位", "售前客服", "考核周期", "—"])


def test_english_pdf(tmp_path: Path) -> None:
    scored, doc = _score(tmp_path, H41_FULL + ROW41_FULL)
    rec = doc["results"][0]
    data = agent_pdf(scored, rec, lang="en")
    reader = _reader(data)
    title = "Taobao pre-sales agent monthly KPI — Appraisal form"
    assert reader.metadata is not None and reader.metadata.title == title
    text = _text(data)
    assert text.startswith(_flat(title))
    _in_order(text, ["Employee", "E001 张三", "Team", "一组", "Position", "Period", "2026-10",
                     "No.", "Indicator", "Weight / points", "Standard", "Data", "Points",
                     "Reason"])
    expected: list[str] = []
    for item in scored.scheme.indicators:
        assert item.label_en
        expected += [item.label_en, _fen(rec["indicators"][item.id])]
    _in_order(text, expected)
    grade = next(g for g in scored.scheme.grades if g.name == rec["grade"])
    _in_order(text, ["Total", _fen(rec["total"]), "Grade", grade.label_en or grade.name,
                     "Pay total", _fen(rec["pay"]["total"]), "Flags", "none",
                     "Employee", "Date", "Appraiser", "Date", "Reviewer", "Date",
                     "HR department", "Date"])
    assert ("Sales105,000.00÷Salestarget100,000.00=105.00%,inband“≥100%”→100points×weight30%"
            "=30.00") in text
    for chinese in ("被考核人", "考核指标", "得分", "理由", "应发合计", "考核人", "日期"):
        assert chinese not in text, chinese


@pytest.mark.parametrize("write", [False, True])
def test_unknown_language(tmp_path: Path, write: bool) -> None:
    scored, doc = _score(tmp_path, H41 + ROW41)
    out = tmp_path / "x.pdf"
    with pytest.raises(ValueError, match=r"^unknown language 'fr'; use zh or en$"):
        if write:
            write_agent_pdf(scored, doc["results"][0], out, lang="fr")
        else:
            agent_pdf(scored, doc["results"][0], lang="fr")
    assert list(tmp_path.glob("*.pdf*")) == []


# -- exclusion, warnings, other schemes --------------------------------------------------------

def test_excluded_row_says_why(tmp_path: Path) -> None:
    scored, doc = _score(tmp_path, POLICY, "taobao-policy")
    rec = next(r for r in doc["results"] if r["employee"] == "A3")
    assert rec["excluded"]
    elig = scored.scheme.eligibility
    assert elig is not None and elig.reason
    text = _text(agent_pdf(scored, rec))
    _in_order(text, ["被考核人", "A3", "考核周期", "2026-10", "考核结果", "不参加考核",
                     "原因", elig.reason, "依据", f"{elig.reason}（缺勤月数 3 > 2）",
                     "被考核人", "日期"])
    for scored_only in ("得分", "合计", "应发合计"):
        assert scored_only not in text, scored_only
    # the assessed colleague's form is an ordinary one
    a1 = next(r for r in doc["results"] if r["employee"] == "A1")
    assert "不参加考核" not in _text(agent_pdf(scored, a1))


def test_missing_rater_points_and_warning(tmp_path: Path) -> None:
    body = (H49 + "A1,T,2026-01,90,90,90,90,90,90,90,90,90,0,3000,500,100000,100\n"
            + "A2,T,2026-01,,80,70,80,80,80,80,80,80,0,3000,400,100000,100\n")
    scored, doc = _score(tmp_path, body, "taobao-policy")
    rec = next(r for r in doc["results"] if r["employee"] == "A2")
    text = _text(agent_pdf(scored, rec))
    _in_order(text, ["工作业绩", "自评=—；主管=80；经理=70", _fen(rec["indicators"]["performance"]),
                     "加权分76.25", "自评缺评", "合计", _fen(rec["total"]), "应发合计",
                     _fen(rec["pay"]["total"]), "提示", "工作业绩：自评未评分"])


def test_coefficient_and_sections(tmp_path: Path) -> None:
    scored, doc = _score(
        tmp_path, "employee,satisfaction,service_level,revisit_target_met,revisit_rate,unmet,"
        "perf_pay_base\nA1,90,3级,1,,1,2000\n", "aftersales-service")
    rec = doc["results"][0]
    _in_order(_text(agent_pdf(scored, rec)), [
        "合计", _fen(rec["total"]), "等级", rec["grade"], "系数", _fen(rec["coefficient"]),
        "应发合计", _fen(rec["pay"]["total"])])

    scored, doc = _score(
        tmp_path, "employee,period,dealer_lapses,weekly_report_points,market_feedback,"
        "quality_feedback,ad_plan_lapses,promo_plan_lapses,promo_review_lapses,"
        "vehicle_violations,absent_days,salary_total,plan_completion,over_plan_bonus\n"
        "P1,2026-01,1,33.5,如实,不符,1,0,3,0,1.5,5000,90%,100\n", "sales-rep")
    rec = doc["results"][0]
    sections = [s.label for s in scored.scheme.sections]
    assert sections
    text = _text(agent_pdf(scored, rec))
    _in_order(text, [*sections, "合计", _fen(rec["total"])])
    assert "100分−缺勤天数1.5（按2计）×4=92.00" in text


def test_text_is_printed_not_parsed_as_markup(tmp_path: Path) -> None:
    name = "A&B <b>x</b> &amp;"
    scored, doc = _score(tmp_path, H41_FULL + ROW41_FULL.replace("张三", name))
    rec = doc["results"][0]
    assert rec["name"] == name
    assert _flat(f"E001 {name}") in _text(agent_pdf(scored, rec))


# -- files -----------------------------------------------------------------------------------

def test_output_is_deterministic(tmp_path: Path) -> None:
    scored, doc = _score(tmp_path, H41_FULL + ROW41_FULL)
    rec = doc["results"][0]
    one, two = tmp_path / "one.pdf", tmp_path / "two.pdf"
    write_agent_pdf(scored, rec, one)
    write_agent_pdf(scored, rec, two)
    assert one.read_bytes() == two.read_bytes() == agent_pdf(scored, rec)
    assert not list(tmp_path.glob("*.part"))
    # a re-scored run gives the same bytes too; another language does not
    again, doc2 = _score(tmp_path, H41_FULL + ROW41_FULL)
    assert agent_pdf(again, doc2["results"][0]) == one.read_bytes()
    assert agent_pdf(scored, rec, lang="en") != one.read_bytes()


def test_write_replaces_an_existing_file(tmp_path: Path) -> None:
    scored, doc = _score(tmp_path, H41_FULL + ROW41_FULL)
    out = tmp_path / "form.pdf"
    out.write_bytes(b"old")
    write_agent_pdf(scored, doc["results"][0], out)
    assert "E001张三" in _text(out.read_bytes())
    assert sorted(p.name for p in tmp_path.glob("*.pdf*")) == ["form.pdf"]


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    scored, doc = _score(tmp_path, H41 + ROW41)
    ghost = {**doc["results"][0], "employee": "NOBODY"}
    out = tmp_path / "ghost.pdf"
    with pytest.raises(KaoheError, match=r"^no scored row for employee 'NOBODY'$"):
        write_agent_pdf(scored, ghost, out)
    assert list(tmp_path.glob("*.pdf*")) == []
