"""The columnar writers against the contract.

JSON: the columnar writer must print, byte for byte, what Python's ``json.dumps`` prints for
the per-row document (``to_document``, still used by the store and the forms), for any
strings (quotes, backslashes, control characters, Chinese) and any numbers the engine holds
(many digits, tiny fractions, negatives), with names, flags, exclusions, pay, aggregates
with awards and reasons. CSV and xlsx: the same rows, read back (csv module, openpyxl)."""

from __future__ import annotations

import csv
import io
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from kaohe.engine.results import to_document
from kaohe.engine.score import Scored, score_file, score_table
from kaohe.ingest.table import prepare
from kaohe.presets import load_preset
from kaohe.reports import output
from kaohe.scheme.loader import load_scheme_text

SCHEME = load_scheme_text(
    """
id: edge
name: 边界 "quoted" \\ scheme
inputs:
  x: {type: number}
  y: {type: number}
  lv: {type: level, levels: [高, 低]}
  gone: {type: count}
eligibility:
  exclude_if: gone > 0
  reason: 离职
indicators:
  - {id: raw, label: 原值, formula: x}
  - {id: share, label: 份额, formula: y / 3, weight: 50%, round: 8}
  - {id: band, label: 档, value: x, bands: {">=100": 10, "[0,100)": 5, "<0": 0}}
  - {id: lv, label: 等级, levels: {points: {高: 10, 低: 2}}}
total:
  floor: -1000000000
grades:
  - {name: "A\\"好\\"", min: 50}
  - {name: B}
pay:
  - {id: base, label: 底薪, amount: x * 2}
  - {id: tiny, label: 零头, amount: y / 1000000}
flags:
  - {flag: "红\\t旗", when: x > 500}
  - {flag: 'back\\slash', when: y < 0}
aggregates:
  - period: quarter
    label: 季度
    score: sum(total) / 7000000
    round: 8
    awards:
      - {id: big, amount: "if(score > 0, score, 0)"}
      - {id: none, amount: "0"}
""",
    "edge.yaml",
)

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
                max_size=8).map(str.strip).filter(lambda s: s != "" and "," not in s)
numbers = st.one_of(
    st.integers(-10**12, 10**12).map(Decimal),
    st.integers(-10**15, 10**15).map(lambda n: Decimal(n).scaleb(-4)),
    st.integers(-10**17, 10**17).map(lambda n: Decimal(n).scaleb(-10)),
    st.integers(-10**20, 10**20).map(lambda n: Decimal(n).scaleb(-2)),
    st.sampled_from([Decimal("0.00001"), Decimal("-0.0000123"), Decimal("123456789012.3456"),
                     Decimal("0.1"), Decimal("2.675"), Decimal("1e10"), Decimal("0")]),
)


def _json_old(scored: Scored, reasons: bool) -> str:
    return json.dumps(to_document(scored.outcome, scored.table, reasons=reasons),
                      ensure_ascii=False, indent=2) + "\n"


def _json_new(scored: Scored, reasons: bool) -> str:
    buf = io.BytesIO()
    output.write_json(output.collect(scored, reasons=reasons), buf)
    return buf.getvalue().decode("utf-8")


row = st.tuples(texts, texts, st.sampled_from(["2026-01", "2026-02", "2026-04"]), numbers,
                numbers, st.sampled_from(["高", "低"]), st.sampled_from(["0", "0", "0", "1"]))


@given(st.lists(row, min_size=1, max_size=25, unique_by=lambda r: (r[0], r[2])),
       st.booleans(), st.booleans())
@settings(max_examples=80, deadline=None)
def test_json_is_byte_identical_to_the_row_document(
        rows: list[tuple[str, str, str, Decimal, Decimal, str, str]], reasons: bool,
        named: bool) -> None:
    data = {
        "employee": [r[0] for r in rows],
        "team": [r[1] for r in rows],
        "period": [r[2] for r in rows],
        "x": [f"{r[3]:f}" for r in rows],
        "y": [f"{r[4]:f}" for r in rows],
        "lv": [r[5] for r in rows],
        "gone": [r[6] for r in rows],
    }
    if named:
        data["name"] = [f'{r[1]}"名' for r in rows]
    table = prepare(pl.DataFrame(data), SCHEME, "edge.csv")
    scored = score_table(SCHEME, table)
    assert _json_new(scored, reasons) == _json_old(scored, reasons)


def test_presets_json_identical_with_and_without_period(tmp_path: Path) -> None:
    from kaohe.demo import write_inputs

    scored = score_file(load_preset("taobao-presales"), write_inputs(tmp_path / "in.csv"))
    assert scored.outcome.frame.height > 100
    for reasons in (False, True):
        assert _json_new(scored, reasons) == _json_old(scored, reasons)
    one = tmp_path / "one.csv"
    pl.read_csv(tmp_path / "in.csv", infer_schema=False).filter(
        pl.col("period") == "2026-10").drop("period", "team").write_csv(one)
    scored = score_file(load_preset("taobao-presales"), one)
    assert _json_new(scored, False) == _json_old(scored, False)


def test_json_chunks_join_into_one_document(tmp_path: Path, monkeypatch: object) -> None:
    import pytest

    from kaohe.demo import write_inputs

    scored = score_file(load_preset("taobao-presales"), write_inputs(tmp_path / "in.csv"))
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(output, "CHUNK", 7)  # many chunks, the last one short
        assert _json_new(scored, True) == _json_old(scored, True)
    finally:
        mp.undo()


def _half_up(v: Decimal | None) -> str:
    return "" if v is None else f"{v.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"


def test_csv_and_xlsx_hold_the_results(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        "employee,team,period,x,y,lv,gone\n"
        "E1,T,2026-01,600.005,-3,高,0\n"
        "E2,T,2026-01,2.675,0.125,低,0\n"
        "E3,T,2026-01,5,5,低,1\n", encoding="utf-8")
    scored = score_file(SCHEME, src)
    res = output.collect(scored, reasons=True)
    buf = io.BytesIO()
    output.write_csv(res, buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue().decode("utf-8"))))
    assert [r["employee"] for r in rows] == ["E1", "E2", "E3"]
    e1, e2, e3 = rows
    # exact half-up to the fen (binary floats would give 2.67 for 2.675)
    assert e1["indicator:raw"] == "600.01" and e2["indicator:raw"] == "2.68"
    assert e1["pay:base"] == "1200.01" and e1["pay:total"] == _half_up(
        Decimal("1200.01") + Decimal("-0.000003"))
    assert e1["flags"] == "红\t旗;back\\slash" and e1["excluded"] == "0"
    # numbers Python spells with an exponent are spelt so in the JSON too
    text = _json_new(scored, False)
    assert text == _json_old(scored, False) and "e-05" in text
    assert e3["excluded"] == "1" and e3["total"] == "" and e3["indicator:raw"] == ""
    assert e3["rank"] == "" and e1["rank"] in ("1", "2")
    assert e1["reason:raw"] and e3["reason:raw"] == ""
    assert list(rows[0])[:7] == ["period", "employee", "team", "total", "grade",
                                 "coefficient", "rank"]

    xlsx = tmp_path / "out.xlsx"
    output.write_xlsx(res, xlsx)
    ws = load_workbook(xlsx, read_only=True).worksheets[0]
    sheet = [list(r) for r in ws.iter_rows(values_only=True)]
    assert sheet[0] == list(rows[0])
    by_emp = {r[1]: dict(zip(sheet[0], r, strict=True)) for r in sheet[1:]}
    assert by_emp["E2"]["indicator:raw"] == 2.68  # a number, not text
    assert by_emp["E3"]["total"] is None and by_emp["E3"]["excluded"] == "1"
    assert by_emp["E1"]["flags"] == "红\t旗;back\\slash"
    assert not (tmp_path / "out.xlsx.part").exists()


def test_cli_reasons_in_every_format(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.test_cli_score import HEADER, ROW

    src = tmp_path / "in.csv"
    src.write_text(f"{HEADER}\n{ROW}\n{ROW.replace('E001', 'E002', 1)}\n", encoding="utf-8")
    ids = [i.id for i in load_preset("taobao-presales").indicators]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        r = subprocess.run([sys.executable, "-m", "kaohe", "score", "--preset", "taobao-presales",
                            "-i", str(src), "--reasons", *args], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        return r

    rows = list(csv.DictReader(io.StringIO(run("-f", "csv").stdout)))
    assert len(rows) == 2 and all(r[f"reason:{i}"] for r in rows for i in ids)
    doc = json.loads(run("-f", "json").stdout)
    # every indicator explained, and the other lines too (total, grade, pay lines, …)
    assert all(set(ids) < set(r["reasons"]) for r in doc["results"])
    assert {"total", "grade", "pay_total"} <= set(doc["results"][0]["reasons"])
    assert rows[0]["reason:completion"] == doc["results"][0]["reasons"]["completion"]
    run("-f", "xlsx", "-o", str(tmp_path / "r.xlsx"))
    header = next(load_workbook(tmp_path / "r.xlsx", read_only=True).worksheets[0].iter_rows(
        values_only=True))
    reason_heads = [h for h in header if str(h).startswith("reason:")]
    assert set(reason_heads) >= {f"reason:{k}" for r in doc["results"] for k in r["reasons"]}
    run("-o", str(tmp_path / "t.txt"))
    text = (tmp_path / "t.txt").read_text(encoding="utf-8")
    assert "理由 reasons" in text
    assert text.count("E002") == 1 + len(doc["results"][1]["reasons"])


@pytest.mark.parametrize("fmt", ["json", "csv", "xlsx"])
def test_unwritable_output_is_a_clean_error(tmp_path: Path, fmt: str) -> None:
    import subprocess
    import sys

    from tests.test_cli_score import HEADER, ROW

    src = tmp_path / "in.csv"
    src.write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    target = tmp_path / "no-such-folder" / f"out.{fmt}"
    r = subprocess.run([sys.executable, "-m", "kaohe", "score", "--preset", "taobao-presales",
                        "-i", str(src), "-f", fmt, "-o", str(target)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith(f"error: cannot write {target}") and "Traceback" not in r.stderr
    assert not target.parent.exists()
