"""不适用 levels and the rescaled total, sections in the results, and YAML templates
(anchors and merge keys) with alias bombs refused (issue 10, part 1)."""

from __future__ import annotations

import io
import json
import textwrap
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaohe.engine.load import load_scheme_text
from kaohe.engine.results import to_document
from kaohe.engine.score import score_file, score_table
from kaohe.errors import SchemeError
from kaohe.ingest.table import prepare
from kaohe.presets import load_preset
from kaohe.reports import output

NA_SCHEME = """\
id: na
name: 不适用
inputs:
  a: {label: 甲, type: level, levels: [好, 中, 差, 不适用]}
  b: {label: 乙, type: level, levels: [好, 中, 差, 不适用]}
  c: {label: 丙, type: level, levels: [好, 差]}
  bonus: {label: 加分, type: number}
sections:
  - {id: s1, label: 一, points: 30}
  - {id: s2, label: 二, points: 20}
indicators:
  - id: a
    label: 甲
    section: s1
    points: 10
    levels: {scale: fraction, points: {好: 1, 中: 0.5, 差: 0}, not_applicable: [不适用]}
  - id: b
    label: 乙
    section: s1
    points: 20
    levels: {scale: fraction, points: {好: 1, 中: 0.5, 差: 0}, not_applicable: 不适用}
  - {id: c, label: 丙, section: s2, points: 20, levels: {scale: fraction, points: {好: 1, 差: 0}}}
adjustments:
  - {id: extra, label: 加分, points: bonus}
total: {rescale: applicable}
"""


def _doc(text: str, csv: str, tmp_path: Path) -> dict:
    scheme = load_scheme_text(text, "s.yaml")
    path = tmp_path / "in.csv"
    path.write_text(csv, encoding="utf-8")
    scored = score_file(scheme, path)
    return to_document(scored.outcome, scored.table)


def test_rescale_with_an_item_that_always_applies_and_an_adjustment(tmp_path: Path) -> None:
    csv = ("employee,a,b,c,bonus\n"
           "p,不适用,中,好,1.5\n"      # 10 + 20 = 30 of 40, × 50 (the full scale) → 37.5 + 1.5
           "q,不适用,不适用,差,0\n"    # 0 of 20 → 0; c always applies, so not excluded
           "r,好,好,好,0\n")           # 50 of 50 → 50 (the full scale is 50)
    doc = _doc(NA_SCHEME, csv, tmp_path)
    got = {r["employee"]: r for r in doc["results"]}
    assert Decimal(str(got["p"]["total"])) == Decimal("39")
    assert got["p"]["indicators"] == {"b": 10, "c": 20}
    assert got["p"]["sections"] == {"s1": 10, "s2": 20}
    assert (got["q"]["total"], got["q"]["excluded"], got["q"]["sections"]) == (
        0, False, {"s1": 0, "s2": 0})
    assert got["r"]["total"] == 50
    assert doc["warnings"] == []


def test_a_scheme_without_sections_prints_empty_sections(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        id: t
        name: t
        inputs: {x: {type: number}}
        indicators: [{id: x, label: 甲, formula: x}]
        """)
    doc = _doc(text, "employee,x\na,1\n", tmp_path)
    assert doc["results"][0]["sections"] == {}


@pytest.mark.parametrize(("old", "new", "words"), [
    ("not_applicable: [不适用]", "not_applicable: [无]",
     r"^bad\.yaml:\d+: indicators\[0\]\.levels\.not_applicable: '无' is not a level of input 'a'"),
    ("not_applicable: [不适用]", "not_applicable: [差]",
     r"^bad\.yaml:\d+: indicators\[0\]\.levels\.not_applicable: level '差' both scores"),
    ("not_applicable: [不适用]}", "}",
     r"^bad\.yaml:\d+: indicators\[0\]\.levels: level '不适用' of input 'a' has no score"),
    ("total: {rescale: applicable}", "total: {rescale: applicable, formula: a}",
     r"^bad\.yaml:\d+: total: .*`rescale` rescales the default total"),
    ("total: {rescale: applicable}", "total: {rescale: all}",
     r"^bad\.yaml:\d+: total\.rescale: Input should be 'applicable'"),
])
def test_not_applicable_and_rescale_are_checked_at_load(old: str, new: str, words: str) -> None:
    assert old in NA_SCHEME
    with pytest.raises(SchemeError, match=words):
        load_scheme_text(NA_SCHEME.replace(old, new, 1), "bad.yaml")


def test_rescale_needs_every_indicators_points() -> None:
    text = NA_SCHEME.replace("adjustments:", "  - {id: f, label: 公式, formula: bonus}\n"
                             "adjustments:")
    with pytest.raises(SchemeError, match=r"indicators\[3\]\.points: `total\.rescale` needs"):
        load_scheme_text(text, "bad.yaml")


# -- the JSON writer and the row document agree on 不适用 and sections --------------------

LEVELS = ["符合", "基本符合", "一般符合", "不符合", "不适用"]
POINTS = [10, 10, 5, 5, 5, 5, 15, 10, 10, 15, 10]
FRACTION = {"符合": Decimal(1), "基本符合": Decimal("0.8"), "一般符合": Decimal("0.6"),
            "不符合": Decimal(0)}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from(LEVELS), min_size=11, max_size=11), min_size=1,
                max_size=12))
def test_property_service_json_matches_the_rulebook_and_the_row_document(
        rows: list[list[str]]) -> None:
    scheme = load_preset("property-service")
    ids = [i.id for i in scheme.indicators]
    data: dict[str, list[str]] = {"employee": [f"e{k:02d}" for k in range(len(rows))],
                                  "period": ["2026-10"] * len(rows)}
    for j, ident in enumerate(ids):
        data[ident] = [r[j] for r in rows]
    table = prepare(pl.DataFrame(data), scheme, "in.csv")
    scored = score_table(scheme, table)
    buf = io.BytesIO()
    output.write_json(output.collect(scored), buf)
    doc = to_document(scored.outcome, scored.table)
    assert buf.getvalue().decode("utf-8") == json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    for levels, res in zip(rows, doc["results"], strict=True):
        applicable = [(p, lv) for p, lv in zip(POINTS, levels, strict=True) if lv != "不适用"]
        if not applicable:
            assert res["excluded"] and res["total"] is None
            continue
        got = sum((p * FRACTION[lv] for p, lv in applicable), Decimal(0))
        std = sum(p for p, _ in applicable)
        want = (got * 100 / std).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert Decimal(str(res["total"])) == want
        assert set(res["indicators"]) == {i for i, lv in zip(ids, levels, strict=True)
                                          if lv != "不适用"}
        assert Decimal(str(res["sections"]["phone"])) + Decimal(
            str(res["sections"]["reception"])) == got
        assert ("需整改" in res["flags"]) == any(lv == "不符合" for _, lv in applicable)


# -- YAML templates: anchors and merge keys ------------------------------------------------

MERGED = """\
id: merged
name: 合并键
templates:
  judged: &judged {type: level, levels: [好, 差]}
  item: &item {points: 10, levels: {scale: fraction, points: {好: 1, 差: 0}}}
inputs:
  a: {<<: *judged, label: 甲}
  b: {<<: *judged, label: 乙, levels: [好, 差, 中]}
indicators:
  - {<<: *item, id: a, label: 甲}
  - <<: *item
    id: b
    label: 乙
    points: 20
    levels: {scale: fraction, points: {好: 1, 差: 0, 中: 0.5}}
"""


def test_merge_keys_bring_in_a_template_and_written_keys_win(tmp_path: Path) -> None:
    scheme = load_scheme_text(MERGED, "m.yaml")
    assert scheme.inputs["a"].levels == {"好": [], "差": []}
    assert list(scheme.inputs["b"].levels or {}) == ["好", "差", "中"]
    assert [i.points for i in scheme.indicators] == [10, 20]
    doc = _doc(MERGED, "employee,a,b\nx,好,中\n", tmp_path)
    assert doc["results"][0]["indicators"] == {"a": 10, "b": 10}


def test_a_list_of_merges_and_errors_keep_their_lines() -> None:
    text = MERGED.replace("  - {<<: *item, id: a, label: 甲}",
                          "  - {<<: [*item, *judged], id: a, label: 甲}")
    with pytest.raises(SchemeError, match=r"^m\.yaml:\d+: indicators\[0\]\.type: Extra inputs"):
        load_scheme_text(text, "m.yaml")
    bad = MERGED.replace("  - {<<: *item, id: a, label: 甲}", "  - {<<: 3, id: a}")
    with pytest.raises(SchemeError, match=r"^m\.yaml:10: indicators\[0\]: `<<` merges a mapping"):
        load_scheme_text(bad, "m.yaml")
    dup = MERGED.replace("{<<: *item, id: a, label: 甲}", "{<<: *item, id: a, id: b}")
    with pytest.raises(SchemeError, match=r"^m\.yaml:10: indicators\[0\]\.id: this key appears"):
        load_scheme_text(dup, "m.yaml")


def test_alias_bombs_and_recursive_aliases_are_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefghi", "bcdefghij", strict=True)) + "id: x\n"
    with pytest.raises(SchemeError, match=r"aliases expand the scheme to more than 50000"):
        load_scheme_text(bomb, "bomb.yaml")
    merge_bomb = "a: &a {k0: 1, k1: 1, k2: 1, k3: 1, k4: 1, k5: 1, k6: 1, k7: 1, k8: 1}\n" + \
        "".join(f"{c}: &{c} {{x0: *{p}, x1: *{p}, x2: *{p}, x3: *{p}, x4: *{p}, x5: *{p}, "
                f"x6: *{p}, x7: *{p}, x8: *{p}}}\n"
                for p, c in zip("abcdefghi", "bcdefghij", strict=True))
    with pytest.raises(SchemeError, match=r"aliases expand the scheme to more than 50000"):
        load_scheme_text(merge_bomb, "bomb.yaml")
    with pytest.raises(SchemeError, match=r"^r\.yaml:1: .*nested more than 40 levels"):
        load_scheme_text("a: &a [1, *a]\n", "r.yaml")


def test_a_rescaled_total_is_not_shown_as_a_floor_or_cap_line() -> None:
    from kaohe.workflow.scoring import _limit_line

    rec = {"total": 80, "indicators": {"a": 10, "b": 58}, "adjustments": {}}
    assert _limit_line(load_preset("property-service"), rec) is None
    capped = load_scheme_text(NA_SCHEME.replace("total: {rescale: applicable}",
                                                "total: {cap: 40}"), "s.yaml")
    assert _limit_line(capped, {"total": 40, "indicators": {"a": 10, "b": 40}}) == -10
