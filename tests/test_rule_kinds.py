"""Every rule kind is complete: a lowering, a reason renderer and a runnable example in
docs/schemes.md — and every YAML block of that doc loads, scores and explains itself."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import polars as pl
import pytest

from kaohe.columns import ASSESSED
from kaohe.engine.explain import REASONS, reason_frame
from kaohe.engine.load import load_scheme_text
from kaohe.engine.rules import LOWERINGS
from kaohe.engine.score import score_file
from kaohe.scheme.models import RULE_KINDS, Scheme, ScoredItem

from .scheme_samples import sample_csv, sample_items_csv

DOC = Path(__file__).resolve().parents[1] / "docs" / "schemes.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC.read_text("utf-8"), flags=re.S)


def _kinds() -> set[type]:
    """The members of the rule union, read from the model itself."""
    annotation = ScoredItem.model_fields["rule"].annotation
    return set(typing.get_args(annotation))


def test_the_union_and_the_kind_table_agree() -> None:
    assert _kinds() == set(RULE_KINDS.values())
    for tag, kind in RULE_KINDS.items():
        assert kind.model_fields["kind"].default == tag


@pytest.mark.parametrize("kind", sorted(_kinds(), key=lambda k: k.__name__))
def test_every_kind_has_a_lowering_and_a_reason(kind: type) -> None:
    assert kind in LOWERINGS, f"{kind.__name__} has no lowering in kaohe.engine.rules"
    assert kind in REASONS, f"{kind.__name__} has no reason renderer in kaohe.engine.explain"


def _schemes() -> list[Scheme]:
    return [load_scheme_text(block, f"docs/schemes.md block {i + 1}")
            for i, block in enumerate(BLOCKS)]


def test_every_kind_has_a_runnable_example_in_the_docs() -> None:
    used = {type(item.rule) for s in _schemes() for item in [*s.values, *s.indicators]}
    missing = sorted(k.__name__ for k in _kinds() - used)
    assert missing == [], f"no example in docs/schemes.md for {missing}"


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_yaml_block_of_the_docs_loads_scores_and_explains(index: int,
                                                               tmp_path: Path) -> None:
    scheme = load_scheme_text(BLOCKS[index], f"docs/schemes.md block {index + 1}")
    path = tmp_path / "input.csv"
    path.write_text(sample_csv(scheme), encoding="utf-8")
    tables = {}
    for name in scheme.items:
        tables[name] = tmp_path / f"{name}.csv"
        tables[name].write_text(sample_items_csv(scheme, name), encoding="utf-8")
    scored = score_file(scheme, path, tables=tables)
    frame = scored.outcome.frame
    assert frame.height > 0
    ids = {i for i in scheme.inputs if "_" in i}  # ids no label would spell
    for lang in ("zh", "en"):
        texts = reason_frame(scored.outcome.plan, frame, lang)
        assert texts.height == frame.height
        assessed = frame[ASSESSED]
        for item in scheme.indicators:
            col = texts[item.id]
            # an assessed row always has its reason, and the reason names no input id
            assert col.filter(assessed).null_count() == 0, item.id
            for text in col.drop_nulls():
                label = (item.label_en or item.label) if lang == "en" else item.label
                assert text.startswith(label or item.id)
                words = set(re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", text))
                leaked = words & ids
                assert leaked == set(), (item.id, text)
        if scheme.eligibility is not None:
            excluded = texts.filter(~pl.Series(assessed))["eligibility"]
            assert excluded.null_count() == 0


def test_every_aggregate_and_item_function_runs_in_a_docs_example() -> None:
    """The functions of quarter/year formulas and of item tables each appear in a YAML block
    (which the test above loads and scores)."""
    from kaohe.engine.exprs import AGG_FUNCTIONS
    from kaohe.scheme.expr import ITEM_FUNCTIONS

    blocks = "\n".join(BLOCKS)
    missing = sorted(f for f in AGG_FUNCTIONS | ITEM_FUNCTIONS
                     if not re.search(rf"\b{f}\(", blocks))
    assert missing == [], f"no runnable example in docs/schemes.md for {missing}"
