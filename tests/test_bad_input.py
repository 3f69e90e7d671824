"""Bad input to `kaohe score` (rulebook 3 and 6): exit 2, nothing on stdout, a message on stderr
naming the file, row ("row N", the header being row 1), column and value; plus encodings."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

TAOBAO = "taobao-presales"
HEADER = ["employee", "period", "team", "sales", "sales_target", "inquiries", "buyers", "received",
          "replied", "response_s", "followup_amount", "execution", "satisfaction", "bad_reviews",
          "full_attendance", "silent_sales"]
ZH_HEADER = ["employee", "period", "team", "实际销售额", "计划销售额", "询单人数", "最终下单人数",
             "总接待客户数", "回复过的客户数", "平均响应时间(秒)", "协助跟进服务金额", "执行力",
             "旺旺满意度", "差评数", "全勤", "静默下单销售额"]
# rulebook 4.1 worked example (total 90.00, pay 2178.00)
WORKED = ["105000", "100000", "400", "190", "420", "410", "32", "35000", "比较满意", "98.5%", "0",
          "1", "20000"]

KNOWN_PRESETS = ["taobao-presales", "recharge-specialist", "aftersales-130", "ecommerce-commission",
                 "sales-rep", "logistics-composite", "aftersales-service", "operator-monthly",
                 "taobao-policy"]


def line(employee: str, period: str = "2026-10", team: str = "T1", **over: str) -> str:
    values = dict(zip(HEADER[3:], WORKED, strict=True))
    values.update(over)
    return ",".join([employee, period, team, *(values[c] for c in HEADER[3:])])


def taobao_csv(*lines: str, header: list[str] | None = None) -> str:
    return ",".join(header or HEADER) + "\n" + "".join(ln + "\n" for ln in lines)


def run(tmp: Path, name: str, content: str | bytes, preset: str = TAOBAO
        ) -> subprocess.CompletedProcess[str]:
    path = tmp / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "kaohe", "score", "--preset", preset, "--input", str(path),
         "--format", "json"],
        capture_output=True, text=True, timeout=180)


def assert_rejected(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert proc.stderr.strip() != ""
    for n in needles:
        assert n in proc.stderr, (n, proc.stderr)


def test_missing_column_names_the_column(tmp_path):
    header = [c for c in HEADER if c != "bad_reviews"]
    values = dict(zip(HEADER, line("E001").split(","), strict=True))
    text = ",".join(header) + "\n" + ",".join(values[c] for c in header) + "\n"
    proc = run(tmp_path, "missing-col.csv", text)
    assert_rejected(proc, "bad_reviews", "missing-col.csv")


def test_non_number_names_file_row_column_and_value(tmp_path):
    text = taobao_csv(line("E001"), line("E002", sales="12x00"))  # second data row = row 3
    proc = run(tmp_path, "non-number.csv", text)
    assert_rejected(proc, "non-number.csv", "row 3", "sales", "12x00")


def test_unknown_level_for_execution(tmp_path):
    text = taobao_csv(line("E001", execution="很好"))  # first data row = row 2
    proc = run(tmp_path, "bad-level.csv", text)
    assert_rejected(proc, "bad-level.csv", "row 2", "execution", "很好")


def test_negative_count_for_bad_reviews(tmp_path):
    text = taobao_csv(line("E001"), line("E002"), line("E003", bad_reviews="-1"))  # row 4
    proc = run(tmp_path, "negative.csv", text)
    assert_rejected(proc, "negative.csv", "row 4", "bad_reviews", "-1")


def test_duplicate_employee_and_period_row(tmp_path):
    text = taobao_csv(line("E001"), line("E001", sales="99000"), line("E001", period="2026-11"))
    proc = run(tmp_path, "dup.csv", text)
    assert_rejected(proc, "dup.csv", "E001", "2026-10")


def test_team_public_sales_disagreeing_within_team_and_period(tmp_path):
    cols = ["employee", "team", "period"]
    for section in ("performance", "ability", "attitude"):
        cols += [f"{section}@self", f"{section}@supervisor", f"{section}@manager"]
    cols += ["absent_months", "position_salary", "personal_commission", "seniority_pay",
             "team_public_sales"]
    marks = ["90", "90", "90"] * 3
    rows = [
        ["P1", "A", "2026-10", *marks, "0", "3000", "500", "100", "100000"],
        ["P2", "A", "2026-10", *marks, "0", "3000", "500", "100", "120000"],  # disagrees
        ["P3", "B", "2026-10", *marks, "0", "3000", "500", "100", "50000"],
    ]
    text = "\n".join(",".join(r) for r in [cols, *rows]) + "\n"
    proc = run(tmp_path, "policy.csv", text, preset="taobao-policy")
    assert_rejected(proc, "policy.csv", "team_public_sales")


def test_team_public_sales_agreeing_is_accepted(tmp_path):
    # control for the test above: same file with the values agreeing scores fine
    cols = ["employee", "team", "period"]
    for section in ("performance", "ability", "attitude"):
        cols += [f"{section}@self", f"{section}@supervisor", f"{section}@manager"]
    cols += ["absent_months", "position_salary", "personal_commission", "seniority_pay",
             "team_public_sales"]
    marks = ["90", "90", "90"] * 3
    rows = [
        ["P1", "A", "2026-10", *marks, "0", "3000", "500", "100", "100000"],
        ["P2", "A", "2026-10", *marks, "0", "3000", "500", "100", "100000"],
    ]
    text = "\n".join(",".join(r) for r in [cols, *rows]) + "\n"
    proc = run(tmp_path, "policy-ok.csv", text, preset="taobao-policy")
    assert proc.returncode == 0, proc.stderr


def test_undecodable_file(tmp_path):
    data = ",".join(HEADER).encode("ascii") + b"\n" + b"E001,2026-10,T1,\xff\x80\xff\xfe\x00\x81\xff\n"
    for codec in ("utf-8", "utf-8-sig", "gb18030"):
        with pytest.raises(UnicodeDecodeError):
            data.decode(codec)
    proc = run(tmp_path, "garbled.csv", data)
    assert_rejected(proc, "garbled.csv")
    low = proc.stderr.lower()
    assert any(k in low for k in ("utf-8", "utf8", "gb18030", "encod", "decod", "编码")), proc.stderr


def test_empty_file(tmp_path):
    proc = run(tmp_path, "empty.csv", b"")
    assert_rejected(proc, "empty.csv")


def test_unknown_preset_lists_known_ids(tmp_path):
    proc = run(tmp_path, "ok.csv", taobao_csv(line("E001")), preset="no-such-preset")
    assert_rejected(proc, "no-such-preset", *KNOWN_PRESETS)


def test_gb18030_and_utf8_bom_with_chinese_headers_score_like_utf8(tmp_path):
    text = taobao_csv(line("E001"), line("E002", execution="一般", satisfaction="96.5%"),
                      header=ZH_HEADER)
    docs = []
    for name, data in [("u8.csv", text.encode("utf-8")), ("bom.csv", text.encode("utf-8-sig")),
                       ("gb.csv", text.encode("gb18030"))]:
        proc = run(tmp_path, name, data)
        assert proc.returncode == 0, (name, proc.stderr)
        docs.append(json.loads(proc.stdout))
    assert docs[0]["results"] == docs[1]["results"] == docs[2]["results"]
    res = {(r["period"], r["employee"]): r for r in docs[0]["results"]}
    # worked example: 90.00; E002: execution 一般 (-2) and satisfaction 96.5% (-1) -> 87.00
    assert Decimal(str(res[("2026-10", "E001")]["total"])) == Decimal("90.00")
    assert Decimal(str(res[("2026-10", "E002")]["total"])) == Decimal("87.00")
    assert res[("2026-10", "E002")]["grade"] == "中级"
