"""`kaohe score` and friends through the real command line: the JSON contract, the other
formats, and bad input — exit 2, one message naming file, row, column and value, nothing on
stdout, no output file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

HEADER = ("employee,sales,sales_target,inquiries,buyers,received,replied,response_s,"
          "followup_amount,execution,satisfaction,bad_reviews,full_attendance,silent_sales")
ROW = "E001,105000,100000,400,190,420,410,32,35000,比较满意,98.5%,0,1,20000"
ZH_HEADER = ("工号,实际销售额,计划销售额,询单人数,最终下单人数,总接待客户数,回复过的客户数,"
             "平均响应时间(秒),协助跟进服务金额,执行力,旺旺满意度,差评数,全勤,静默下单销售额")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kaohe", *args], capture_output=True,
                          text=True, timeout=120)


def write(tmp: Path, text: str | bytes, name: str = "in.csv") -> Path:
    p = tmp / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def test_json_contract(tmp_path: Path) -> None:
    r = run("score", "--preset", "taobao-presales", "--input",
            str(write(tmp_path, f"{HEADER}\n{ROW}\n")), "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"scheme", "results", "aggregates", "warnings"}
    assert doc["scheme"] == "taobao-presales"
    res = doc["results"][0]
    assert {"period", "employee", "team", "total", "grade", "coefficient", "rank",
            "indicators", "pay", "flags", "excluded"} <= set(res)
    assert res["total"] == 90 and res["pay"]["total"] == 2178 and res["excluded"] is False


def test_chinese_headers_gb18030_and_bom_score_the_same(tmp_path: Path) -> None:
    text = f"{ZH_HEADER}\n{ROW}\n"
    outs = []
    for name, data in [("utf8.csv", text.encode("utf-8")),
                       ("bom.csv", text.encode("utf-8-sig")),
                       ("gb.csv", text.encode("gb18030"))]:
        r = run("score", "--preset", "taobao-presales", "--input", str(write(tmp_path, data, name)),
                "--format", "json")
        assert r.returncode == 0, r.stderr
        outs.append(json.loads(r.stdout)["results"])
    assert outs[0] == outs[1] == outs[2]
    assert outs[0][0]["total"] == 90


def test_csv_table_and_xlsx_formats(tmp_path: Path) -> None:
    inp = write(tmp_path, f"{HEADER}\n{ROW}\n")
    r = run("score", "--preset", "taobao-presales", "--input", str(inp), "--format", "csv")
    assert r.returncode == 0 and "indicator:completion" in r.stdout and "90.00" in r.stdout
    r = run("score", "--preset", "taobao-presales", "--input", str(inp))
    assert r.returncode == 0 and "高级" in r.stdout
    out = tmp_path / "res.xlsx"
    r = run("score", "--preset", "taobao-presales", "--input", str(inp), "--format", "xlsx",
            "-o", str(out))
    assert r.returncode == 0
    ws = load_workbook(out).active
    header = [c.value for c in ws[1]]
    assert ws.cell(2, header.index("total") + 1).value == 90


BAD = [
    ("missing column", HEADER.replace(",bad_reviews", "") + "\n"
     + ROW.replace(",98.5%,0,", ",98.5%,") + "\n", ["bad_reviews"]),
    ("non-number", f"{HEADER}\n{ROW}\n{ROW.replace('E001,105000', 'E002,lots')}\n",
     ["in.csv", "row 3", "'sales'", "'lots'"]),
    ("unknown level", f"{HEADER}\n{ROW.replace('比较满意', '还行')}\n",
     ["row 2", "'execution'", "'还行'", "非常满意"]),
    ("negative count", f"{HEADER}\n{ROW.replace(',98.5%,0,', ',98.5%,-1,')}\n",
     ["row 2", "'bad_reviews'", "'-1'", "negative"]),
    ("duplicate row", f"{HEADER}\n{ROW}\n{ROW}\n", ["row 3", "'E001'", "row 2"]),
    ("empty file", "", ["in.csv", "empty"]),
    ("header only", f"{HEADER}\n", ["no data rows"]),
]


@pytest.mark.parametrize(("case", "text", "needles"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_exits_2(tmp_path: Path, case: str, text: str, needles: list[str]) -> None:
    out = tmp_path / "out.json"
    r = run("score", "--preset", "taobao-presales", "--input", str(write(tmp_path, text)),
            "--format", "json", "-o", str(out))
    assert r.returncode == 2, (case, r.stderr)
    assert r.stdout == ""
    for n in needles:
        assert n in r.stderr, (case, n, r.stderr)
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_undecodable_file(tmp_path: Path) -> None:
    data = f"{HEADER}\n".encode() + b"E001,\xff\xfe\x00\x81\xff\n"
    for enc in ("utf-8", "gb18030"):
        with pytest.raises(UnicodeDecodeError):
            data.decode(enc)
    r = run("score", "--preset", "taobao-presales", "--input", str(write(tmp_path, data)),
            "--format", "json")
    assert r.returncode == 2 and r.stdout == ""
    assert "cannot decode" in r.stderr and "row 2" in r.stderr


def test_team_level_values_that_disagree(tmp_path: Path) -> None:
    head = ("employee,team,period,performance@supervisor,ability@supervisor,attitude@supervisor,"
            "position_salary,personal_commission,team_public_sales,seniority_pay")
    rows = ["A1,T,2026-10,90,90,90,3000,0,100000,0", "A2,T,2026-10,80,80,80,3000,0,99999,0"]
    r = run("score", "--preset", "taobao-policy", "--input",
            str(write(tmp_path, "\n".join([head, *rows]) + "\n")), "--format", "json")
    assert r.returncode == 2 and r.stdout == ""
    assert "row 3" in r.stderr and "'team_public_sales'" in r.stderr and "99999" in r.stderr


def test_unknown_preset_lists_the_known_ones(tmp_path: Path) -> None:
    r = run("score", "--preset", "nope", "--input", str(write(tmp_path, f"{HEADER}\n{ROW}\n")),
            "--format", "json")
    assert r.returncode == 2 and r.stdout == ""
    assert "nope" in r.stderr and "taobao-presales" in r.stderr and "taobao-policy" in r.stderr


def test_check_explain_presets(tmp_path: Path) -> None:
    r = run("presets")
    assert r.returncode == 0 and "operator-monthly" in r.stdout
    r = run("check", "src/kaohe/presets/sales-rep.yaml")
    assert r.returncode == 0 and "ok" in r.stdout
    bad = write(tmp_path, "id: x\nname: x\ninputs: {a: {type: number}}\nindicators:\n"
                "  - {id: i, value: a, bands: {'>=1': 1, '<0': 0}}\n", "bad.yaml")
    r = run("check", str(bad))
    assert r.returncode == 2 and "bad.yaml:5" in r.stderr and "gap" in r.stderr
    r = run("explain", "--preset", "taobao-presales", "--input",
            str(write(tmp_path, f"{HEADER}\n{ROW}\n")), "--employee", "E001")
    assert r.returncode == 0 and "「[45%,50%)」档" in r.stdout and "80 分 × 权重 20%" in r.stdout
    # labels, not input ids or formula source
    assert "buyers / inquiries" not in r.stdout and "lookup(" not in r.stdout


def test_reasons_line_up_with_their_rows(tmp_path: Path) -> None:
    rows = [ROW.replace("E001", "E009").replace("比较满意", "不满意"), ROW]
    r = run("score", "--preset", "taobao-presales", "--input",
            str(write(tmp_path, "\n".join([HEADER, *rows]) + "\n")), "--format", "json",
            "--reasons")
    doc = json.loads(r.stdout)
    by = {x["employee"]: x for x in doc["results"]}
    assert "不满意" in by["E009"]["reasons"]["execution"]
    assert "比较满意" in by["E001"]["reasons"]["execution"]


def test_several_input_files_join_on_employee_and_period(tmp_path: Path) -> None:
    """Metrics computed from logs beside a sheet of the other inputs feed score directly."""
    metrics = write(tmp_path, "employee,period,consulted,received,inquiries,replied,buyers,"
                    "sales,conversion,response_s\nE001,2026-10,430,420,400,410,190,105000,"
                    "0.4750,32\n", "metrics.csv")
    rest = write(tmp_path, "工号,period,计划销售额,协助跟进服务金额,执行力,旺旺满意度,差评数,全勤,"
                 "静默下单销售额\nE001,2026-10,100000,35000,比较满意,98.5%,0,1,20000\n", "rest.csv")
    r = run("score", "--preset", "taobao-presales", "--input", str(metrics), "--input", str(rest),
            "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["results"][0]["total"] == 90
    clash = write(tmp_path, "employee,period,sales\nE001,2026-10,1\n", "clash.csv")
    r = run("score", "--preset", "taobao-presales", "--input", str(metrics), "--input",
            str(clash), "--format", "json")
    assert r.returncode == 2 and "'sales'" in r.stderr and "clash.csv" in r.stderr


@pytest.mark.parametrize(("text", "needles"), [
    (f"{HEADER},sales\n{ROW},1\n", ["'sales'", "appears twice"]),
    (f"{HEADER}\n{ROW},extra\n", ["row 2", "15 fields", "14"]),
])
def test_malformed_csv(tmp_path: Path, text: str, needles: list[str]) -> None:
    r = run("score", "--preset", "taobao-presales", "--input", str(write(tmp_path, text)),
            "--format", "json")
    assert r.returncode == 2 and r.stdout == ""
    for n in needles:
        assert n in r.stderr, r.stderr


def test_windows_line_endings_blank_lines_and_thousands(tmp_path: Path) -> None:
    row = ROW.replace("105000", '"105,000"')
    text = f"{HEADER}\r\n{row}\r\n\r\n\r\n"
    r = run("score", "--preset", "taobao-presales", "--input", str(write(tmp_path, text)),
            "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["results"][0]["total"] == 90
