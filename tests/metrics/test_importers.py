"""Platform exports as they are: Chinese headers, GB18030, summary rows, values as people
write them; errors name file, row and column."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from kaohe.errors import InputError
from kaohe.metrics.importers import import_export, load_mapping, parse_value

D = Decimal


@pytest.mark.parametrize(("text", "ident", "want"), [
    ("96.5%", "conversion", D("0.965")), ("96.5", "satisfaction", D("0.965")),
    ("2分30秒", "response_s", D(150)), ("45秒", "response_s", D(45)),
    ("1小时2分", "response_s", D(3720)), ("32", "response_s", D(32)),
    ("1.2万", "sales", D(12000)), ("1,234.50", "sales", D("1234.50")),
    ("¥88.00", "sales", D("88.00")), ("-", "sales", None), ("", "buyers", None),
])
def test_values_as_people_write_them(text: str, ident: str, want: Decimal | None) -> None:
    assert parse_value(text, ident) == want


FEIGE = ("客服账号,日期,人工接待人数,询单人数,询单成交人数,询单成交金额,平均响应时长,"
         "3分钟人工回复率\n"
         "小美,2026-10-31,1,200,80,1.2万,32秒,96.5%\n"
         "小王,2026-10-31,1,150,-,\"3,400.50\",1分05秒,88%\n"
         "汇总,2026-10-31,2,350,80,15400.50,-,-\n")


def test_feige_export_in_gb18030(tmp_path: Path) -> None:
    f = tmp_path / "feige.csv"
    f.write_bytes(FEIGE.encode("gb18030"))
    got = import_export(f, load_mapping("feige"))
    assert got.skipped == 1
    rows = {r["employee"]: r for r in got.rows}
    assert rows["小美"] == {"employee": "小美", "period": "2026-10", "received": D(1),
                           "inquiries": D(200), "buyers": D(80), "sales": D(12000),
                           "response_s": D(32), "fast_reply_rate": D("0.965")}
    assert rows["小王"]["buyers"] is None and rows["小王"]["response_s"] == D(65)


def test_sycm_xlsx_with_summary_rows(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["旺旺", "咨询人数", "接待人数", "询单人数", "最终付款人数", "销售额",
               "平均响应(秒)"])
    ws.append(["店铺汇总值", 900, 880, 500, 200, 250000, 30])
    ws.append(["店铺:小明", 300, 290, 160, 70, 81234.5, 28.5])
    ws.append(["店铺平均值", 300, 293, 166, 66, 83333.3, 30])
    f = tmp_path / "sycm.xlsx"
    wb.save(f)
    got = import_export(f, load_mapping("sycm"), period="2026-10")
    assert [r["employee"] for r in got.rows] == ["店铺:小明"]
    assert got.rows[0]["sales"] == D("81234.5") and got.rows[0]["period"] == "2026-10"


def test_errors_name_file_row_and_column(tmp_path: Path) -> None:
    f = tmp_path / "feige.csv"
    f.write_text(FEIGE.replace("1分05秒", "很快"), encoding="utf-8")
    with pytest.raises(InputError, match=r"feige\.csv, row 3, column '平均响应时长': value '很快'"):
        import_export(f, load_mapping("feige"))
    f.write_text("姓名,接待人数\n张三,3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no employee column"):
        import_export(f, load_mapping("feige"))


def test_cli_import_feeds_score(tmp_path: Path) -> None:
    f = tmp_path / "feige.csv"
    f.write_bytes(FEIGE.encode("gb18030"))
    out = tmp_path / "inputs.csv"
    r = subprocess.run([sys.executable, "-m", "kaohe", "metrics", "import", "--platform", "feige",
                        str(f), "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert out.read_text("utf-8").splitlines()[0].startswith("employee,period,received")
    r = subprocess.run([sys.executable, "-m", "kaohe", "metrics", "import", "--platform", "nope",
                        str(f), "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "unknown platform" in r.stderr and r.stdout == ""


def test_cli_compute(tmp_path: Path) -> None:
    from kaohe.metrics.sample import generate, write

    folder = write(tmp_path / "logs", *generate(2000, agents=4, seed=5))
    out = tmp_path / "inputs.csv"
    r = subprocess.run([sys.executable, "-m", "kaohe", "metrics", "compute", "--logs",
                        str(folder), "--period", "2026-10", "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = out.read_text("utf-8").splitlines()
    assert lines[0].split(",")[:3] == ["employee", "period", "consulted"]
    assert len(lines) == 5  # four agents
    bad = tmp_path / "rules.yaml"
    bad.write_text("idle_gap: 5\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "kaohe", "metrics", "compute", "--logs",
                        str(folder), "--rules", str(bad), "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "unknown key" in r.stderr
