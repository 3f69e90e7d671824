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


# a 飞鸽 export whose headers differ from the built-in spellings, as new users meet them
DRIFTED = ("客服昵称,日期,人工接待人数（人）,询单人数,询单成交人数,询单成交金额(元),"
           "平均响应时长 (秒),3分钟人工回复率(%),平均响应时长(分钟),人工 满意 率,备注\n"
           "小美,2026-10-31,120,80,30,1.2万,32,96.5%,0.5,98%,老员工\n"
           "小王,2026-10-31,90,60,20,3400.50,65,88%,1.1,95%,\n")


def test_units_and_full_width_forms_are_matched() -> None:
    from kaohe.metrics.importers import normalise

    assert normalise("人工接待人数（人）") == "人工接待人数"
    assert normalise("平均响应时长 (秒)") == normalise("平均响应时长")
    assert normalise("平均响应时长(分钟)") != normalise("平均响应时长")  # minutes ≠ seconds


def test_unmapped_columns_are_listed_with_the_closest_known_header(tmp_path: Path) -> None:
    f = tmp_path / "feige.csv"
    f.write_text(DRIFTED, encoding="utf-8")
    got = import_export(f, load_mapping("feige"))
    assert got.columns == ["employee", "period", "received", "inquiries", "buyers", "sales",
                           "response_s", "fast_reply_rate"]
    rows = {r["employee"]: r for r in got.rows}
    assert rows["小美"]["response_s"] == D(32) and rows["小美"]["sales"] == D(12000)
    missing = {u.header: u for u in got.unmapped}
    assert set(missing) == {"平均响应时长(分钟)", "人工 满意 率", "备注"}
    assert missing["平均响应时长(分钟)"].ident == "response_s"
    assert missing["人工 满意 率"].ident == "satisfaction"
    assert missing["人工 满意 率"].known == "满意率"
    assert missing["备注"].ident is None


def test_strict_refuses_to_drop_a_column(tmp_path: Path) -> None:
    f = tmp_path / "feige.csv"
    f.write_text(DRIFTED, encoding="utf-8")
    with pytest.raises(InputError, match=r"--strict: these columns would not be imported:"
                                         r"\n  '平均响应时长\(分钟\)': not imported; closest"):
        import_export(f, load_mapping("feige"), strict=True)
    out = tmp_path / "inputs.csv"
    r = subprocess.run([sys.executable, "-m", "kaohe", "metrics", "import", "--platform", "feige",
                        str(f), "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "'备注': not imported (no known header is close)" in r.stderr
    assert "closest known header '满意率' (satisfaction" in r.stderr
    out.unlink()
    r = subprocess.run([sys.executable, "-m", "kaohe", "metrics", "import", "--platform", "feige",
                        "--strict", str(f), "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--strict" in r.stderr and not out.exists()


def test_mapping_init_writes_best_guesses_that_import(tmp_path: Path) -> None:
    f = tmp_path / "feige.csv"
    f.write_text(DRIFTED, encoding="utf-8")
    m = tmp_path / "mapping.yaml"
    r = subprocess.run([sys.executable, "-m", "kaohe", "metrics", "mapping", "init", str(f),
                        "-o", str(m)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "based on feige" in r.stdout
    text = m.read_text("utf-8")
    assert "GUESS: like '满意率'" in text and "# not mapped, nothing close: 备注" in text
    mapping = load_mapping(path=m)
    assert mapping.employee == ["客服昵称"]
    got = import_export(f, mapping)
    assert got.rows[0]["satisfaction"] == D("0.98")
    # the minutes column is guessed as response_s too, behind the exact one: the user decides
    assert mapping.columns["response_s"][0] == "平均响应时长 (秒)"
    assert [u.header for u in got.unmapped] == ["平均响应时长(分钟)", "备注"]
    r = subprocess.run([sys.executable, "-m", "kaohe", "metrics", "mapping", "init", str(f),
                        "-o", str(m)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "exists" in r.stderr


def test_qianniu_sub_accounts(tmp_path: Path) -> None:
    f = tmp_path / "qn.csv"
    f.write_text("子账号,接待人数,询单人数,最终付款人数,销售额,平均响应时间\n"
                 "店:小明,300,160,70,81234.5,28.5\n全部子账号,300,160,70,81234.5,28.5\n",
                 encoding="utf-8")
    got = import_export(f, load_mapping("qianniu"), period="2026-10")
    assert [r["employee"] for r in got.rows] == ["店:小明"] and got.unmapped == []
    assert got.rows[0]["response_s"] == D("28.5")
