"""Typed, immutable scheme models.

A scheme is data: inputs, indicators (bands, levels, deductions, formulas, rated sections),
adjustments, total, grades, pools, pay lines, flags, eligibility and aggregates. Every
formula is a string in the language of :mod:`kaohe.scheme.expr`; the loader checks that
each one parses and reads only names the scheme defines.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    field_validator,
    model_validator,
)

from kaohe.errors import ExprError, SchemeError
from kaohe.numbers import parse_number
from kaohe.scheme.expr import Node, parse
from kaohe.scheme.intervals import Interval, open_ended, order_and_check, parse_interval


def _to_decimal(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number, got a yes/no value")
    if isinstance(value, str):
        try:
            return parse_number(value)
        except Exception as exc:
            raise ValueError(f"expected a number such as 30, 0.3 or 30%, got {value!r}") from exc
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


class FormulaText(str):
    """A formula's source text with its syntax tree, parsed once when the scheme loads."""

    tree: Node

    def __new__(cls, text: str) -> FormulaText:
        obj = super().__new__(cls, text)
        try:
            obj.tree = parse(text)
        except ExprError as exc:
            raise ValueError(str(exc)) from None
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (FormulaText, (str(self),))


def _formula_text(value: Any) -> FormulaText:
    if isinstance(value, FormulaText):
        return value
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a formula (text), got {type(value).__name__}")
    return FormulaText(value)


Num = Annotated[Decimal, BeforeValidator(_to_decimal)]
Formula = Annotated[FormulaText, PlainValidator(_formula_text), PlainSerializer(str)]
Ident = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


InputType = Literal["number", "money", "ratio", "count", "flag", "level", "score"]


class InputSpec(Model):
    """One column of the input table."""

    label: str = ""
    label_en: str = ""
    type: InputType = "number"
    #: level name → accepted spellings (a plain list means no extra spellings)
    levels: dict[str, list[str]] | None = None
    min: Num | None = None
    max: Num | None = None
    #: who gives this input (for display; rated sections use ``raters``)
    rater: str | None = None
    #: rated input: one column per rater, named ``<id>@<rater>``
    raters: list[Ident] | None = None
    required: bool = True
    #: formula: the value is required only on rows where this holds
    required_when: Formula | None = None
    default: Num | None = None
    #: the same value must be repeated on every row of a team and period
    team_level: bool = False
    aliases: list[str] = Field(default_factory=list)
    #: the kind of row that carries this input: ``month`` rows (``2026-10``), or the
    #: ``year`` (``2026``) / ``quarter`` (``2026-Q4``) row of an employee, which feeds that
    #: year's or quarter's aggregate; a cell of the other kind of row is ignored
    period: Literal["month", "quarter", "year"] = "month"

    @field_validator("levels", mode="before")
    @classmethod
    def _levels(cls, v: Any) -> Any:
        if isinstance(v, list):
            return {str(x): [] for x in v}
        if isinstance(v, dict):
            return {str(k): [str(a) for a in (al or [])] for k, al in v.items()}
        return v

    @model_validator(mode="after")
    def _check(self) -> InputSpec:
        if self.type == "level" and not self.levels:
            raise ValueError("an input of type level needs its levels listed")
        if self.type != "level" and self.levels:
            raise ValueError(f"levels are only for inputs of type level, not {self.type}")
        return self


class Band(Model):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    interval: Interval
    score: Decimal


def _bands(value: Any) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = []
        for item in value:
            if not isinstance(item, dict) or len(item) != 1:
                raise ValueError("each band is written `interval: score`, e.g. `'>=100%': 100`")
            items.extend(item.items())
    else:
        raise ValueError("bands are a mapping of interval → score")
    if not items:
        raise ValueError("a band table needs at least one band")
    out = []
    for key, score in items:
        try:
            iv = parse_interval(str(key))
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        out.append({"interval": iv, "score": _to_decimal(score)})
    return out


class Bands(Model):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    bands: tuple[Band, ...]

    @model_validator(mode="after")
    def _coverage(self) -> Bands:
        order_and_check([b.interval for b in self.bands])
        return self

    @property
    def ascending(self) -> list[Band]:
        order = order_and_check([b.interval for b in self.bands])
        return [self.bands[i] for i in order]

    @property
    def lowest_score(self) -> Decimal:
        return self.ascending[0].score


def make_bands(value: Any) -> Bands:
    raw = _bands(value)
    # A top band written closed ([90,100], =100%) is open-ended: nothing is left above.
    ivs = open_ended([r["interval"] for r in raw])
    return Bands(bands=tuple(Band(interval=iv, score=r["score"]) for iv, r in zip(ivs, raw, strict=True)))


BandTable = Annotated[Bands, BeforeValidator(lambda v: v if isinstance(v, Bands) else make_bands(v))]


# -- rule kinds ---------------------------------------------------------------------------
# Each way an indicator can be scored is one node: it knows its maximum points and its own
# checks. The engine lowers each kind to Polars in one place (kaohe.engine.rules) and words
# each kind's reason in one place (kaohe.engine.explain); a test fails when a kind lacks
# either, or a runnable example in docs/schemes.md.


class BandsRule(Model):
    """区间计分: the value falls in one band of a table and gets its score."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    kind: Literal["bands"] = "bands"
    value: Formula
    bands: BandTable
    #: score when the value is undefined (a zero denominator): the lowest band, or a number
    undefined: Literal["lowest"] | Num = "lowest"

    @property
    def undefined_score(self) -> Decimal:
        return self.bands.lowest_score if self.undefined == "lowest" else Decimal(self.undefined)

    @property
    def percent(self) -> bool:
        """The bands are written in percent, so the value is shown as one."""
        return any("%" in b.interval.text for b in self.bands.bands)

    def max_points(self, item: ScoredItem) -> Decimal | None:
        return max(b.score for b in self.bands.bands) * item.weight

    def check_item(self, item: ScoredItem) -> None:
        return None

    def check(self, scheme: Scheme, item: ScoredItem, where: str) -> None:
        return None


class Levels(Model):
    """定性等级: a rater picks a level; each level gives points, or a fraction of the
    indicator's points."""

    kind: Literal["levels"] = "levels"
    input: Ident | None = None
    points: dict[str, Num]
    #: ``fraction``: each level's number multiplies the indicator's ``points``
    scale: Literal["points", "fraction"] = "points"
    #: levels meaning "not applicable" (不适用): the item is taken out of the form — it
    #: gives no points, is left out of ``indicators`` and of its section, and a total with
    #: ``rescale: applicable`` is rescaled over the items that apply
    not_applicable: list[str] = Field(default_factory=list)

    @field_validator("not_applicable", mode="before")
    @classmethod
    def _na(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [v]
        if isinstance(v, list):
            return [str(x) for x in v]
        return v

    @field_validator("points", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): val for k, val in v.items()}
        return v

    def source(self, item: ScoredItem) -> str:
        return self.input or item.id

    def base(self, item: ScoredItem) -> Decimal:
        """What each level's number multiplies: the indicator's points (fraction) or 1."""
        if self.scale == "fraction":
            assert item.points is not None
            return item.points
        return Decimal(1)

    def max_points(self, item: ScoredItem) -> Decimal | None:
        return max(self.points.values()) * self.base(item) * item.weight

    def check_item(self, item: ScoredItem) -> None:
        if self.scale == "fraction" and item.points is None:
            raise ValueError("fractional levels need the indicator's `points`")

    def check(self, scheme: Scheme, item: ScoredItem, where: str) -> None:
        source = self.source(item)
        spec = scheme.inputs.get(source)
        if spec is None or spec.type != "level":
            raise SchemeError(f"{where}.levels.input: {source!r} is not an input of type level")
        assert spec.levels is not None
        both = [name for name in self.not_applicable if name in self.points]
        if both:
            raise SchemeError(f"{where}.levels.not_applicable: level {both[0]!r} both scores "
                              "and is not applicable; list it in one of the two")
        stray = [name for name in self.not_applicable if name not in spec.levels]
        if stray:
            raise SchemeError(
                f"{where}.levels.not_applicable: {stray[0]!r} is not a level of input "
                f"{source!r} (levels: {', '.join(spec.levels)})")
        missing = [name for name in spec.levels
                   if name not in self.points and name not in self.not_applicable]
        if missing:
            raise SchemeError(
                f"{where}.levels: level {missing[0]!r} of input {source!r} has no score")
        unknown = [name for name in self.points if name not in spec.levels]
        if unknown:
            raise SchemeError(
                f"{where}.levels: {unknown[0]!r} is not a level of input {source!r} "
                f"(levels: {', '.join(spec.levels)})"
            )


class DeductionRule(Model):
    """One counted event: ``per`` points each after ``free`` occurrences, or an escalating
    ``schedule`` (the n-th entry is the total for n occurrences, the last one holds)."""

    count: Ident
    per: Num | None = None
    free: Num = Decimal(0)
    schedule: list[Num] | None = None
    #: counts are rounded up to whole units of this size (半天按1天计: unit 1)
    unit: Num | None = None
    label: str = ""

    @model_validator(mode="after")
    def _one_kind(self) -> DeductionRule:
        if (self.per is None) == (self.schedule is None):
            raise ValueError("a deduction rule needs exactly one of `per` or `schedule`")
        if self.schedule is not None and not self.schedule:
            raise ValueError("a deduction schedule needs at least one step")
        if self.unit is not None and self.unit <= 0:
            raise ValueError("unit must be positive")
        return self


class Deduction(Model):
    """扣分: start from the indicator's points, subtract per counted event, not below the
    floor."""

    kind: Literal["deduction"] = "deduction"
    rules: list[DeductionRule]
    floor: Num = Decimal(0)

    def max_points(self, item: ScoredItem) -> Decimal | None:
        assert item.points is not None
        return item.points * item.weight

    def check_item(self, item: ScoredItem) -> None:
        if item.points is None:
            raise ValueError("a deduction starts from `points`; give the indicator's points")

    def check(self, scheme: Scheme, item: ScoredItem, where: str) -> None:
        for rule in self.rules:
            if rule.count not in scheme.inputs:
                raise SchemeError(f"{where}.deduction: {rule.count!r} is not an input of the scheme")


class FormulaRule(Model):
    """公式: the points are a formula over inputs and other quantities."""

    kind: Literal["formula"] = "formula"
    formula: Formula

    def max_points(self, item: ScoredItem) -> Decimal | None:
        return item.points * item.weight if item.points is not None else None

    def check_item(self, item: ScoredItem) -> None:
        return None

    def check(self, scheme: Scheme, item: ScoredItem, where: str) -> None:
        return None


class Rated(Model):
    """多人评分: a mark given by several raters, weighted; a missing rater's weight is shared
    out over the raters present."""

    kind: Literal["rated"] = "rated"
    input: Ident | None = None
    raters: dict[Ident, Num]
    #: the full mark each rater gives (the weighted mark times the weight is the points)
    scale: Num = Decimal(100)

    @model_validator(mode="after")
    def _weights(self) -> Rated:
        if sum(self.raters.values(), Decimal(0)) <= 0:
            raise ValueError("rater weights must add up to more than 0")
        return self

    def source(self, item: ScoredItem) -> str:
        return self.input or item.id

    def max_points(self, item: ScoredItem) -> Decimal | None:
        return self.scale * item.weight

    def check_item(self, item: ScoredItem) -> None:
        return None

    def check(self, scheme: Scheme, item: ScoredItem, where: str) -> None:
        total = sum(self.raters.values(), Decimal(0))
        if total != 1:
            raise SchemeError(
                f"{where}.rated.raters: rater weights must add up to 100%, "
                f"they add up to {format((total * 100).normalize(), 'f')}%"
            )
        source = self.source(item)
        spec = scheme.inputs.get(source)
        if spec is None or not spec.raters:
            raise SchemeError(f"{where}.rated.input: {source!r} is not an input with raters")
        unknown = [r for r in self.raters if r not in spec.raters]
        if unknown:
            raise SchemeError(
                f"{where}.rated.raters: {unknown[0]!r} is not a rater of input {source!r}")


Rule = Annotated[BandsRule | Levels | Deduction | FormulaRule | Rated,
                 Field(discriminator="kind")]
#: every rule kind, by its ``kind`` tag (the YAML key that introduces it)
RULE_KINDS: dict[str, type[Model]] = {
    "bands": BandsRule, "levels": Levels, "deduction": Deduction, "formula": FormulaRule,
    "rated": Rated,
}


def _lift_rule(data: Any) -> Any:
    """The YAML writes a rule under its own key (``bands:`` with ``value:``, ``levels:``,
    ``deduction:``, ``formula:``, ``rated:``); the model keeps it as one ``rule`` node."""
    if not isinstance(data, dict) or "rule" in data:
        return data
    kinds = [k for k in RULE_KINDS if data.get(k) is not None]
    if len(kinds) != 1:
        raise ValueError(
            "an indicator needs exactly one rule: bands, levels, deduction, formula or rated"
            + (f" (found {', '.join(kinds)})" if kinds else "")
        )
    kind = kinds[0]
    data = dict(data)
    if kind == "bands":
        if data.get("value") is None:
            raise ValueError("bands need a `value` formula to read")
        rule: Any = {"kind": "bands", "value": data.pop("value"), "bands": data.pop("bands")}
        if "undefined" in data:
            rule["undefined"] = data.pop("undefined")
    else:
        if data.get("value") is not None:
            raise ValueError("`value` is only used with bands; use `formula` for points")
        if "undefined" in data:
            raise ValueError("`undefined` is only used with bands")
        body = data.pop(kind)
        if kind == "formula":
            rule = {"kind": "formula", "formula": body}
        elif isinstance(body, dict):
            rule = {"kind": kind, **body}
        else:
            rule = body
    data.pop("value", None)
    data["rule"] = rule
    return data


class ScoredItem(Model):
    """An indicator (or a computed value that is not reported as one)."""

    id: Ident
    label: str = ""
    label_en: str = ""
    section: Ident | None = None
    #: multiplier of the score (30% of a 0–100 band score gives 0–30 points)
    weight: Num = Decimal(1)
    #: the most the indicator can give (start of a deduction; base of fractional levels)
    points: Num | None = None
    rule: Rule
    #: formula: when it holds the indicator gives 0 (单项否决)
    veto: Formula | None = None
    #: decimals to round to (indicators: 2 by default; values: not rounded by default)
    round: int | None = None
    source: str = ""
    standard: str = ""

    @model_validator(mode="before")
    @classmethod
    def _rule(cls, data: Any) -> Any:
        return _lift_rule(data)

    @model_validator(mode="after")
    def _item_checks(self) -> ScoredItem:
        self.rule.check_item(self)
        return self

    @property
    def kind(self) -> str:
        return self.rule.kind

    @property
    def max_points(self) -> Decimal | None:
        """The most the indicator can give, after its weight (None when a formula decides)."""
        return self.rule.max_points(self)


class Section(Model):
    id: Ident
    label: str = ""
    label_en: str = ""
    points: Num | None = None
    #: report the section on this scale: round(sum × out_of / points, 2) (a form whose items
    #: add up to 110 read as points out of 100)
    out_of: Num | None = None

    @model_validator(mode="after")
    def _scaled(self) -> Section:
        if self.out_of is not None and (self.points is None or self.points <= 0):
            raise ValueError("`out_of` rescales the section's `points`; give its points")
        return self


class Adjustment(Model):
    id: Ident
    label: str = ""
    label_en: str = ""
    points: Formula
    floor: Num | None = None
    cap: Num | None = None


class Total(Model):
    #: formula over indicators, sections and adjustments; default: their sum
    formula: Formula | None = None
    floor: Num | None = None
    cap: Num | None = None
    #: formula: when it holds the total is 0 (总分否决)
    veto: Formula | None = None
    #: the scheme gives no total (e.g. a grade entered directly)
    none: bool = False
    #: ``applicable``: with some items not applicable, the total is the applicable items'
    #: points rescaled to the full scale: round(Σ points × Σ all standard points ÷ Σ
    #: standard points of the applicable items, 2), plus the adjustments
    rescale: Literal["applicable"] | None = None

    @model_validator(mode="after")
    def _rescale(self) -> Total:
        if self.rescale is not None and (self.formula is not None or self.none):
            raise ValueError("`rescale` rescales the default total (the sum of the "
                             "indicators); it cannot go with a total `formula` or `none`")
        return self


def _grade_range(value: Any) -> Any:
    if value is None or isinstance(value, Interval):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError("a grade's range is an interval such as '>90', '(80,90]' or '<=60'")
    try:
        return parse_interval(str(value))
    except ValueError as exc:
        raise ValueError(str(exc)) from None


GradeRange = Annotated[Interval | None, BeforeValidator(_grade_range),
                       PlainSerializer(lambda iv: iv.text if iv is not None else None)]


class Grade(Model):
    """A grade: either the scores in its ``range`` (interval notation, as bands:
    ``'>90'``, ``'(80,90]'``, ``'<=60'``) or, the older form, every score from ``min`` up
    to the next grade's min (grades listed from the highest down, the last without min)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: str
    label_en: str = ""
    min: Num | None = None
    range: GradeRange = None
    coefficient: Num | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Grade:
        if self.min is not None and self.range is not None:
            raise ValueError("a grade has a `range` or a `min`, not both")
        return self


def _grade_list(value: Any) -> Any:
    """Grades may also be written like bands, as a mapping of range → name (or → the rest
    of the grade): ``{">90": 优, "(80,90]": {name: 良, coefficient: 1}}``."""
    if not isinstance(value, dict):
        return value
    out = []
    for key, body in value.items():
        if isinstance(body, dict):
            out.append({"range": key, **body})
        else:
            out.append({"range": key, "name": body})
    return out


GradeList = Annotated[list[Grade], BeforeValidator(_grade_list)]


def grade_intervals(grades: list[Grade]) -> list[Interval] | None:
    """The grades' ranges as read (a closed top range is open-ended), or None for grades
    written with ``min``."""
    if not grades or any(g.range is None for g in grades):
        return None
    return open_ended([g.range for g in grades if g.range is not None])


#: a lookup table has at most this many keys (职位 × 职等 × … )
MAX_TABLE_KEYS = 4


def _lookup_table(value: Any) -> Any:
    """A lookup table: ``key: number``, or nested mappings for two or more keys
    (``业务员: {Ⅰ级: 3000, Ⅱ级: 3500}``); every entry has the same number of keys."""
    if not isinstance(value, dict) or not value:
        raise ValueError("a table is a mapping of key → number (or key → mapping, for more "
                         "than one key)")
    depths: set[int] = set()

    def walk(node: dict[Any, Any], depth: int, path: tuple[str, ...]) -> dict[str, Any]:
        if depth > MAX_TABLE_KEYS:
            raise ValueError(f"a table has at most {MAX_TABLE_KEYS} keys")
        out: dict[str, Any] = {}
        for k, v in node.items():
            key = str(k)
            if isinstance(v, dict):
                if not v:
                    raise ValueError(f"entry {' × '.join((*path, key))} is empty")
                out[key] = walk(v, depth + 1, (*path, key))
            else:
                try:
                    out[key] = _to_decimal(v)
                    if not isinstance(out[key], Decimal | int):
                        raise ValueError
                    out[key] = Decimal(out[key])
                except ValueError:
                    raise ValueError(f"entry {' × '.join((*path, key))}: expected a number, "
                                     f"got {v!r}") from None
                depths.add(depth)
        return out

    out = walk(value, 1, ())
    if len(depths) > 1:
        raise ValueError(f"every entry of a table needs the same number of keys; found entries "
                         f"with {' and '.join(str(d) for d in sorted(depths))} keys")
    return out


LookupTable = Annotated[dict[str, Any], BeforeValidator(_lookup_table)]


def table_depth(table: dict[str, Any]) -> int:
    """How many keys a table's entries have."""
    depth, node = 0, table
    while isinstance(node, dict):
        depth += 1
        node = next(iter(node.values()))
    return depth


def table_rows(table: dict[str, Any]) -> list[tuple[tuple[str, ...], Decimal]]:
    """Every entry of a table as (keys, value), in the order written."""
    out: list[tuple[tuple[str, ...], Decimal]] = []

    def walk(node: dict[str, Any], keys: tuple[str, ...]) -> None:
        for k, v in node.items():
            if isinstance(v, dict):
                walk(v, (*keys, k))
            else:
                out.append(((*keys, k), v))

    walk(table, ())
    return out


class ShareRule(Model):
    rank: int | None = None
    #: the members not given an explicit rank share this part equally
    rest: bool = False
    share: Num = Decimal(0)
    fixed: Num = Decimal(0)

    @model_validator(mode="after")
    def _one(self) -> ShareRule:
        if (self.rank is None) == (not self.rest):
            raise ValueError("a pool share is either for a `rank` or for the `rest`")
        return self


class Pool(Model):
    id: Ident
    label: str = ""
    label_en: str = ""
    #: formula evaluated per team and period (use team_sum(...))
    amount: Formula
    shares: list[ShareRule]

    @model_validator(mode="after")
    def _shares(self) -> Pool:
        total = sum((s.share for s in self.shares), Decimal(0))
        if total > 1:
            raise ValueError(f"pool shares add up to {total:%}, more than 100%")
        ranks = [s.rank for s in self.shares if s.rank is not None]
        if len(set(ranks)) != len(ranks):
            raise ValueError("a rank appears twice among the pool shares")
        if sum(1 for s in self.shares if s.rest) > 1:
            raise ValueError("only one `rest` share is allowed")
        return self


class PayLine(Model):
    id: Ident
    label: str = ""
    label_en: str = ""
    amount: Formula
    veto: Formula | None = None


class Flag(Model):
    flag: str
    when: Formula
    label_en: str = ""


class Eligibility(Model):
    exclude_if: Formula
    reason: str = ""
    #: list each excluded row, with the reason, in the results' warnings
    warn: bool = False


class Award(Model):
    id: Ident
    amount: Formula
    #: money paid with the cycle that closes the quarter or year (payroll carries it);
    #: ``false`` for an outcome that is not paid, such as a raise ratio
    paid: bool = True


class AggregateValue(Model):
    """A quantity of a quarter or year: ``compute`` ones are steps of other formulas, the
    ``values`` ones are reported (outcomes that are not money, zeros included)."""

    id: Ident
    label: str = ""
    label_en: str = ""
    formula: Formula
    #: decimals to round to (none: not rounded)
    round: int | None = None


class AggregateSpec(Model):
    period: Literal["quarter", "year"]
    label: str = ""
    #: aggregate formula: sum(x), mean(x), count(cond), months(), last(x), min(x), max(x)
    #: over the months; the names of the period's own inputs (``period: year``) and of the
    #: ``compute``/``values`` entries read one value per employee
    score: Formula
    round: int | None = 2
    grades: GradeList | None = None
    #: report the rank within team (score desc, then employee id); by default reported when
    #: an award or flag reads ``rank``
    rank: bool | None = None
    compute: list[AggregateValue] = Field(default_factory=list)
    values: list[AggregateValue] = Field(default_factory=list)
    awards: list[Award] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)

    @property
    def ranked(self) -> bool:
        """Whether the aggregate's rank is reported."""
        if self.rank is not None:
            return self.rank
        return any(re.search(r"\brank\b", str(x.amount)) for x in self.awards) or any(
            re.search(r"\brank\b", str(f.when)) for f in self.flags)


class ItemValue(Model):
    """A quantity computed on each row of an item table (per-item rounding and caps)."""

    id: Ident
    label: str = ""
    label_en: str = ""
    formula: Formula
    round: int | None = 2
    floor: Num | None = None
    cap: Num | None = None


class ItemTable(Model):
    """A second input table: rows per employee and period (none or many), e.g. late deals.
    Read with ``--table NAME=FILE.csv``; summed into formulas with ``sum_items``,
    ``count_items``, ``any_items``."""

    label: str = ""
    label_en: str = ""
    #: the table's columns besides ``employee`` and ``period`` (as inputs are written)
    columns: dict[Ident, InputSpec]
    values: list[ItemValue] = Field(default_factory=list)


class Scheme(Model):
    id: str
    name: str
    name_en: str = ""
    description: str = ""
    description_en: str = ""
    period: Literal["month", "quarter", "year"] = "month"
    position: str = ""
    #: the nominal full score; when given, the indicators' maximum points must add up to it
    max_total: Num | None = None
    inputs: dict[Ident, InputSpec]
    values: list[ScoredItem] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    indicators: list[ScoredItem]
    adjustments: list[Adjustment] = Field(default_factory=list)
    total: Total = Field(default_factory=Total)
    grade_input: Ident | None = None
    grades: GradeList = Field(default_factory=list)
    #: ranking keys after the total: formulas with `desc`/`asc`, e.g. "sales desc"
    rank_by: list[str] = Field(default_factory=lambda: ["total desc"])
    #: lookup tables: key → number, or nested mappings for two or more keys
    tables: dict[Ident, LookupTable] = Field(default_factory=dict)
    eligibility: Eligibility | None = None
    pools: list[Pool] = Field(default_factory=list)
    pay: list[PayLine] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)
    aggregates: list[AggregateSpec] = Field(default_factory=list)
    #: item tables (a second input table per name), see :class:`ItemTable`
    items: dict[Ident, ItemTable] = Field(default_factory=dict)
    #: a place for YAML anchors (``&item``) that items merge in (``<<: *item``); not read
    templates: dict[str, Any] = Field(default_factory=dict)
