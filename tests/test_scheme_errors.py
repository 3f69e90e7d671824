"""Scheme load errors name the file, line and field and say what was expected."""

from __future__ import annotations

import re
import textwrap

import pytest

from kaohe.engine.load import load_scheme_text
from kaohe.errors import SchemeError

BASE = """\
id: t
name: 测试
inputs:
  a: {type: number}
  b: {type: number}
  lvl: {type: level, levels: [好, 中, 差]}
indicators:
  - id: x
    value: a / b
    bands: {BANDS}
"""


def scheme(bands: str = '{">=50%": 10, "<50%": 0}', extra: str = "") -> str:
    return BASE.replace("{BANDS}", bands) + textwrap.dedent(extra)


def test_a_valid_scheme_loads() -> None:
    s = load_scheme_text(scheme(), "ok.yaml")
    assert s.indicators[0].kind == "bands"


def test_overlapping_bands_name_file_line_and_both_bands() -> None:
    with pytest.raises(SchemeError, match=r"^bad\.yaml:10: indicators\[0\]\.bands: .*overlap"):
        load_scheme_text(scheme('{">=50%": 10, "[40%,60%)": 5, "<40%": 0}'), "bad.yaml")


def test_gap_at_a_boundary_is_a_load_error_not_a_silent_zero() -> None:
    with pytest.raises(SchemeError, match=r"gap: the value 60 falls in no band"):
        load_scheme_text(scheme('{"[50,60)": 4, ">60": 0, "<50": 0}'), "gap.yaml")


def test_gap_between_bands() -> None:
    with pytest.raises(SchemeError, match=r"values between 40 and 50 fall in no band"):
        load_scheme_text(scheme('{">=50": 4, "<40": 0}'), "gap.yaml")


def test_nothing_below_the_lowest_band_is_a_gap() -> None:
    with pytest.raises(SchemeError, match=r"gap: values below 0 fall in no band"):
        load_scheme_text(scheme('{">=50": 4, "[0,50)": 0}'), "gap.yaml")


def test_unknown_input_in_a_formula() -> None:
    text = scheme().replace("value: a / b", "value: a / nosuch")
    with pytest.raises(SchemeError, match=r"^u\.yaml:\d+: indicators\[0\].*'nosuch'"):
        load_scheme_text(text, "u.yaml")


def test_unknown_function() -> None:
    text = scheme(extra="""\
    adjustments:
      - {id: adj, points: "sqrt(a)"}
    """)
    with pytest.raises(SchemeError, match=r"adjustments\[0\]\.points: unknown function 'sqrt'"):
        load_scheme_text(text, "f.yaml")


def test_formula_that_does_not_parse_points_at_the_column() -> None:
    text = scheme(extra="""\
    adjustments:
      - {id: adj, points: "a + * b"}
    """)
    with pytest.raises(SchemeError, match=r"cannot parse formula 'a \+ \* b' at column 5"):
        load_scheme_text(text, "p.yaml")


def test_level_with_no_score() -> None:
    text = scheme() + "  - id: y\n    levels: {input: lvl, points: {好: 10, 中: 5}}\n"
    with pytest.raises(SchemeError, match=r"level '差' of input 'lvl' has no score"):
        load_scheme_text(text, "l.yaml")


def test_formula_that_depends_on_itself() -> None:
    text = scheme(extra="""\
    adjustments:
      - {id: p1, points: "p2 + 1"}
      - {id: p2, points: "p1 + 1"}
    """)
    with pytest.raises(SchemeError, match=r"depends on itself: p[12] → p[12] → p[12]"):
        load_scheme_text(text, "c.yaml")


def test_points_that_do_not_add_up() -> None:
    text = "max_total: 100\n" + scheme()
    with pytest.raises(SchemeError, match=r"max_total: the indicators add up to 10 points, "
                                          r"the scheme says 100"):
        load_scheme_text(text, "m.yaml")


def test_rater_weights_that_do_not_add_up() -> None:
    text = """\
id: t
name: t
inputs:
  perf: {type: score, raters: [self, boss]}
indicators:
  - {id: perf, rated: {raters: {self: 20%, boss: 70%}}}
"""
    with pytest.raises(SchemeError, match=r"rater weights must add up to 100%, they add up to 90%"):
        load_scheme_text(text, "r.yaml")


def test_type_errors_are_reported() -> None:
    text = scheme(extra="""\
    flags:
      - {flag: x, when: "lvl > 3"}
    """)
    with pytest.raises(SchemeError, match=re.escape("cannot compare 'lvl' (text) with '3' (number)")):
        load_scheme_text(text, "t.yaml")


def test_grades_out_of_order() -> None:
    text = scheme(extra="""\
    grades:
      - {name: A, min: 80}
      - {name: B, min: 90}
      - {name: C}
    """)
    with pytest.raises(SchemeError, match=r"grades\[1\]\.min: grades are listed from the highest"):
        load_scheme_text(text, "g.yaml")


def test_pydantic_errors_carry_the_line() -> None:
    text = scheme().replace("a: {type: number}", "a: {type: numbr}")
    with pytest.raises(SchemeError, match=r"^x\.yaml:4: inputs\.a\.type: "):
        load_scheme_text(text, "x.yaml")


def test_every_preset_loads() -> None:
    from kaohe.presets import PRESET_IDS, load_preset

    for pid in PRESET_IDS:
        assert load_preset(pid).id == pid
