"""Why each number: one reason per line of a result, rendered once, in the user's language.

The engine keeps what each line's points came from as columns: the inputs it read, the band
hit (``band:<id>``), and the reason parts its rule kind adds (:mod:`kaohe.engine.rules`:
the value a band compared, each deduction rule's amount, a rated mark). This module turns
those columns into text with Polars string expressions — no Python runs per row — through
the gettext catalogue (English message ids, Chinese in the zh_CN catalogue). HR-facing text
uses labels, never input ids or formula source:

``成交额完成度：实际销售额 88,775.90 ÷ 计划销售额 80,000.00 = 110.97%，落在「≥100%」档 → 100 分
× 权重 30% = 30.00``

:func:`reason_frame` gives one text column per indicator and per other line (adjustments,
sections, total, grade, coefficient, rank, pools, pay lines, pay total, flags, eligibility);
``kaohe explain``, ``--reasons``, the stored results, the web scorecard and the forms all
read it. :data:`REASONS` maps every rule kind to its renderer; a test fails when one is
missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from kaohe import columns as C
from kaohe.columns import ASSESSED, COHORT, EMPLOYEE, PERIOD
from kaohe.engine.exprs import Lowering, Symbol, safe_div
from kaohe.engine.plan import Plan, rescale_parts
from kaohe.errors import ExprError, KaoheError
from kaohe.formatting import (
    MINUS,
    money_expr,
    pct,
    pct_expr,
    plain,
    plain_expr,
    scaled,
    two,
    two_expr,
    written,
)
from kaohe.i18n import translations
from kaohe.numbers import dlit, round_half_up
from kaohe.scheme.expr import (
    ITEM_FUNCTIONS,
    BinOp,
    BoolOp,
    Call,
    Compare,
    Name,
    Neg,
    Node,
    Not,
    Num,
    Str,
)
from kaohe.scheme.models import (
    BandsRule,
    Deduction,
    FormulaRule,
    Levels,
    Pool,
    Rated,
    Scheme,
    ScoredItem,
    table_depth,
    table_rows,
)
from kaohe.text import N_

__all__ = [
    "ELIGIBILITY",
    "FLAGS",
    "REASONS",
    "Line",
    "aggregate_reason_frame",
    "aggregate_value_columns",
    "explain_aggregate",
    "explain_lines",
    "find_row",
    "is_aggregate_period",
    "reason_frame",
    "short_reasons",
]

#: the reason columns that are not named after a scheme id
FLAGS = "flags"
ELIGIBILITY = "eligibility"
#: the row's warnings in words (an undefined ratio, a missing rater, a pool not paid out)
WARNINGS = "warnings"

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
Piece = str | pl.Expr

#: who rates, by the rater ids the schemes use
RATER_LABELS: dict[str, str] = {
    "self": N_("self"), "supervisor": N_("supervisor"), "manager": N_("manager"),
    "peer": N_("peers"), "customer": N_("customers"), "hr": N_("HR"), "qa": N_("QA"),
}
_FUNCTION_LABELS: dict[str, str] = {
    "min": N_("the smaller of"), "max": N_("the larger of"), "clamp": N_("limited to a range"),
    "round": N_("rounded"), "ceil": N_("rounded up"), "floor": N_("rounded down"),
    "abs": N_("absolute value"), "coalesce": N_("first given of"),
    "is_missing": N_("missing"),
}
_OPS = {"+": " + ", "-": f" {MINUS} ", "*": " × ", "/": " ÷ "}
_COMPARE = {"=": " = ", "!=": " ≠ ", "<": " < ", "<=": " ≤ ", ">": " > ", ">=": " ≥ "}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def _plain4(x: pl.Expr) -> pl.Expr:
    return plain_expr(x, 4)


#: each number format of the reasons: (decimals, factor, how it is written)
#: (amounts get thousands separators; counts, scores, points and percents rarely reach
#: four digits and are written without, which keeps a 100,000-row table quick)
_FORMATS: dict[Callable[[pl.Expr], pl.Expr], tuple[int, int, dict[str, Any]]] = {
    two_expr: (2, 1, {"group": False}),
    money_expr: (2, 1, {}),
    plain_expr: (2, 1, {"trim": True, "group": False}),
    _plain4: (4, 1, {"trim": True, "group": False}),
    pct_expr: (2, 100, {"suffix": "%", "group": False}),
}


def rater_label(ident: str, lang: str) -> str:
    """Who rates, in words: ``self`` → 自评."""
    return translations(lang).gettext(RATER_LABELS[ident]) if ident in RATER_LABELS else ident


def _names_in_order(node: Node) -> list[str]:
    """The names a formula reads, in the order written, each once."""
    out: list[str] = []

    def walk(n: Node) -> None:
        match n:
            case Name(id=ident):
                if ident not in out:
                    out.append(ident)
            case Neg(operand=o) | Not(operand=o):
                walk(o)
            case BinOp(left=a, right=b) | Compare(left=a, right=b):
                walk(a)
                walk(b)
            case BoolOp(operands=ops):
                for o in ops:
                    walk(o)
            case Call(func=f, args=args):
                if f in ITEM_FUNCTIONS:
                    return  # its arguments read the item table, not the row
                for a in args[1:] if f == "lookup" else args:
                    walk(a)
            case _:
                pass

    walk(node)
    return out


def item_words(scheme: Scheme, node: Call, lang: str = "zh") -> str:
    """An item-table call in words: ``逾期未回款的逾期扣款合计``, ``逾期未回款中逾期天数 > 180
    的笔数`` (labels of the table and its columns, no ids)."""
    g = translations(lang).gettext
    en = lang == "en"
    first = node.args[0] if node.args else None
    spec = scheme.items.get(first.id) if isinstance(first, Name) else None
    if spec is None:
        return node.func
    table = (spec.label_en or spec.label or first.id) if en else (spec.label or first.id)  # type: ignore[union-attr]
    labels: dict[str, str] = {}
    for ident, col in spec.columns.items():
        labels[ident] = (col.label_en or col.label or ident) if en else (col.label or ident)
    for v in spec.values:
        labels[v.id] = (v.label_en or v.label or v.id) if en else (v.label or v.id)
    inner = Scheme.model_construct(
        id=scheme.id, name=scheme.name, inputs={}, indicators=[], values=[], sections=[],
        adjustments=[], pools=[], pay=[], tables=scheme.tables, items={})
    arg = node.args[1] if len(node.args) > 1 else None
    what = _relabel(rule_words(inner, arg, lang), labels, arg) if arg is not None else ""
    template = {
        "sum_items": N_("total %(what)s of %(table)s"),
        "max_items": N_("largest %(what)s of %(table)s"),
        "any_items": N_("any of %(table)s with %(what)s"),
        "count_items": (N_("number of %(table)s with %(what)s") if arg is not None
                        else N_("number of %(table)s")),
    }[node.func]
    return g(template) % {"table": table, "what": what}


def _relabel(text: str, labels: dict[str, str], node: Node) -> str:
    """``rule_words`` of a formula over an item row spells the row's names as ids (the
    scheme has no inputs of those names); put their labels in."""
    return re.sub(r"\b[A-Za-z_][A-Za-z0-9_]*\b", lambda m: labels.get(m.group(0), m.group(0)),
                  text)


def _interval(text: str) -> str:
    return text.replace(">=", "≥").replace("<=", "≤").replace(" ", "")


@dataclass(frozen=True)
class Line:
    """One line of ``kaohe explain``: an id, its label, its number and the reason."""

    id: str
    label: str
    points: Decimal | None
    reason: str


class Renderer:
    """Builds the reason expressions of one plan in one language."""

    def __init__(self, plan: Plan, lang: str, *, labelled: bool = True,
                 compact: bool = False) -> None:
        self.plan = plan
        self.labelled = labelled
        self.compact = compact
        self.s: Scheme = plan.scheme
        self.lang = lang
        self.en = lang == "en"
        self._gettext = translations(lang).gettext
        #: helper columns evaluated before the texts, in layers: 0 the values (reason
        #: parts, values of calls), 1 numbers scaled to whole Int64s, 2 their text,
        #: 3 texts shared by several lines
        self.layers: list[dict[str, pl.Expr]] = [{}, {}, {}, {}]
        self._computed = self._computed_labels()

    # -- words ---------------------------------------------------------------------------
    def g(self, message: str) -> str:
        return self._gettext(message)

    def t(self, template: str, **params: Piece) -> pl.Expr:
        """A translated template with its parameters filled in, as one string expression
        (null where a parameter is null)."""
        text = self.g(template)
        pieces: list[pl.Expr] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(text):
            if m.start() > pos:
                pieces.append(pl.lit(text[pos:m.start()]))
            value = params[m.group(1)]
            pieces.append(value if isinstance(value, pl.Expr) else pl.lit(value))
            pos = m.end()
        if pos < len(text):
            pieces.append(pl.lit(text[pos:]))
        return pl.concat_str(pieces) if pieces else pl.lit("")

    def label(self, obj: Any) -> str:
        ident = str(getattr(obj, "id", ""))
        zh = str(getattr(obj, "label", "") or "")
        en = str(getattr(obj, "label_en", "") or "")
        return (en or zh or ident) if self.en else (zh or ident)

    def input_label(self, name: str) -> str:
        base, _, rater = name.partition("@")
        spec = self.s.inputs.get(base)
        text = base if spec is None else (
            (spec.label_en or spec.label or base) if self.en else (spec.label or base))
        if rater:
            text += f"（{self.rater(rater)}）" if not self.en else f" ({self.rater(rater)})"
        return text

    def rater(self, ident: str) -> str:
        return rater_label(ident, self.lang)

    def _computed_labels(self) -> dict[str, str]:
        s = self.s
        out = {"total": self.g(N_("total")), "grade": self.g(N_("grade")),
               "coefficient": self.g(N_("coefficient")), "rank": self.g(N_("rank")),
               "pay_total": self.g(N_("pay total"))}
        for group in (s.values, s.indicators, s.sections, s.adjustments, s.pools, s.pay):
            for obj in group:
                out[obj.id] = self.label(obj)
        return out

    def weight(self, item: ScoredItem) -> str:
        w = item.weight
        if w == 1:
            return ""
        if w < 1:
            return self.g(N_(" × weight %(weight)s")) % {"weight": pct(w)}
        return f" × {plain(w)}"

    # -- values --------------------------------------------------------------------------
    def value(self, name: str, own: str | None = None) -> pl.Expr:
        """A name's value in this row, formatted for its kind (``—`` when blank), worked
        out once however many reasons show it."""
        return self._value(name, own)

    def _value(self, name: str, own: str | None) -> pl.Expr:
        base = name.partition("@")[0]
        spec = self.s.inputs.get(base)
        if spec is not None and ("@" in name or name == own or name not in self._computed):
            col = pl.col(C.input_col(name))
            if spec.type == "level":
                return col.fill_null("—")
            fmt = {"money": money_expr, "ratio": pct_expr}.get(spec.type, plain_expr)
            return self.text(col, fmt)
        sym = self.plan.symbols.get(name)
        if sym is None:
            return pl.lit("—")
        col = pl.col(sym.column)
        if sym.type == "str":
            text = col.cast(pl.String)
            if name == "grade" and self.en:
                for g in self.s.grades:
                    if g.label_en:
                        text = pl.when(col == g.name).then(pl.lit(g.label_en)).otherwise(text)
            return self.helper(text.fill_null("—"), 2)
        if any(p.id == name for p in self.s.pay) or any(p.id == name for p in self.s.pools) \
                or name == "pay_total":
            return self.text(col, money_expr)
        if name in ("rank", "coefficient"):
            return self.text(col, plain_expr)
        if any(v.id == name for v in self.s.values):
            return self.text(col, _plain4)  # a rate such as 0.006 keeps its digits
        return self.text(col)

    def named(self, name: str, own: str | None = None) -> pl.Expr:
        """``label value``: 实际销售额 88,775.90."""
        lbl = (self.input_label(name) if name.partition("@")[0] in self.s.inputs and (
            "@" in name or name == own or name not in self._computed)
            else self._computed.get(name, name))
        return pl.concat_str([pl.lit(f"{lbl} "), self.value(name, own)])

    def lowering(self, own: str | None) -> Lowering:
        syms: dict[str, Symbol] = dict(self.plan.symbols)
        if own is not None and own in self.s.inputs:
            spec = self.s.inputs[own]
            syms[own] = Symbol(C.input_col(own), "str" if spec.type == "level" else "num")
        return Lowering(syms, self.s.tables)

    def helper(self, expr: pl.Expr, layer: int = 0) -> pl.Expr:
        """An expression worked out once into a helper column of ``layer`` (a call's value,
        a formatted number, a shared text), however many reasons use it."""
        helpers = self.layers[layer]
        for col, existing in helpers.items():
            if existing.meta.eq(expr):
                return pl.col(col)
        col = C.reason_col("", f"{layer}.{len(helpers)}")
        helpers[col] = expr
        return pl.col(col)

    def text(self, expr: pl.Expr, fmt: Callable[[pl.Expr], pl.Expr] = two_expr) -> pl.Expr:
        """A number's text (``fmt``: one of the formatting module's ``*_expr``), worked out
        once (``—`` when blank): scaled to a whole number in one layer, written out in the
        next, so the Decimal rounding runs once per value."""
        places, factor, kw = _FORMATS[fmt]
        n = self.helper(scaled(expr, places, factor), 1)
        return self.helper(written(n, places, **kw).fill_null("—"), 2)

    def lowered(self, node: Node, own: str | None) -> pl.Expr | None:
        try:
            expr = self.lowering(own).lower(node).expr
        except ExprError:
            return None
        return self.helper(expr)

    # -- formulas in words -----------------------------------------------------------------
    def fx(self, node: Node, own: str | None = None) -> pl.Expr:
        """A formula with every name shown as its label and value."""
        return pl.concat_str(self._fx(node, own))

    def _fx(self, node: Node, own: str | None) -> list[pl.Expr]:
        match node:
            case Num(value=v):
                shown = pct(v) if 0 < abs(v) < 1 else plain(v)
                return [pl.lit(shown if v >= 0 else MINUS + shown.lstrip("-"))]
            case Str(value=text):
                return [pl.lit(f"「{text}」")]
            case Name(id=ident):
                return [self.named(ident, own)]
            case Neg(operand=o):
                inner = self._fx(o, own)
                if isinstance(o, BinOp):
                    inner = [pl.lit("("), *inner, pl.lit(")")]
                return [pl.lit(MINUS), *inner]
            case BinOp(op="*", left=a, right=b) if self._per_count(a, b, own) is not None:
                count, per = self._per_count(a, b, own) or ("", Decimal(0))
                # so much per occurrence: 差评数 2 次 × 50 (a deduction reads as one)
                return [self.named(count, own), pl.lit(self.g(N_(" times"))),
                        pl.lit(f" × {plain(abs(per))}")]
            case BinOp(op=op, left=a, right=b):
                return [*self._side(a, op, own, False), pl.lit(_OPS[op]),
                        *self._side(b, op, own, True)]
            case Compare(op=op, left=a, right=b):
                return [*self._fx(a, own), pl.lit(_COMPARE[op]), *self._fx(b, own)]
            case BoolOp(op=op, operands=ops):
                sep = self.g(N_(" and ")) if op == "and" else self.g(N_(" or "))
                out: list[pl.Expr] = []
                for k, o in enumerate(ops):
                    if k:
                        out.append(pl.lit(sep))
                    out += self._fx(o, own)
                return out
            case Not(operand=o):
                return [pl.lit(self.g(N_("not "))), *self._fx(o, own)]
            case Call():
                return [self._call(node, own)]
        return [pl.lit("—")]

    def _per_count(self, a: Node, b: Node, own: str | None) -> tuple[str, Decimal] | None:
        """(count input, amount) of ``amount * count`` or ``count * amount``."""
        for k, n in ((a, b), (b, a)):
            amount = k.value if isinstance(k, Num) else (
                -k.operand.value if isinstance(k, Neg) and isinstance(k.operand, Num) else None)
            if amount is None or not isinstance(n, Name):
                continue
            spec = self.s.inputs.get(n.id)
            if spec is not None and spec.type == "count" and (
                    n.id == own or n.id not in self._computed):
                return n.id, amount
        return None

    def _side(self, child: Node, op: str, own: str | None, right: bool) -> list[pl.Expr]:
        parts = self._fx(child, own)
        if isinstance(child, BinOp):
            mine, theirs = _PRECEDENCE[op], _PRECEDENCE[child.op]
            if theirs < mine or (right and theirs == mine and op in "-/"):
                return [pl.lit("("), *parts, pl.lit(")")]
        return parts

    def _call_value(self, node: Call, own: str | None) -> pl.Expr:
        value = self.lowered(node, own)
        if value is None:
            return pl.lit("—")
        first = node.args[0] if node.args else None
        spec = self.s.inputs.get(first.id) if isinstance(first, Name) else None
        if spec is not None and spec.type == "money" and node.func.startswith("team_") \
                and node.func not in ("team_rank", "team_count"):
            return self.text(value, money_expr)
        if node.func == "is_missing":
            return self.helper(value.cast(pl.String).fill_null("—"), 2)
        if node.func == "lookup" and isinstance(first, Name) and first.id in self.s.tables:
            # a table of rates (0.92%) reads with 4 decimals (0.0092), not rounded to 0.01
            places = max([2, *(max(0, -int(v.normalize().as_tuple().exponent))
                              for _, v in table_rows(self.s.tables[first.id]))])
            return self.text(value, _plain4 if places > 2 else plain_expr)
        return self.text(value, plain_expr)

    def _call(self, node: Call, own: str | None) -> pl.Expr:
        f, args = node.func, node.args
        what: str | None = None
        arg = args[0] if args else None
        subject = (self._computed.get(arg.id) or self.input_label(arg.id)
                   if isinstance(arg, Name) else "")
        if f == "team_sum":
            what = self.g(N_("team total of %(what)s")) % {"what": subject}
        elif f == "team_mean":
            what = self.g(N_("team average of %(what)s")) % {"what": subject}
        elif f == "team_max":
            what = self.g(N_("team highest %(what)s")) % {"what": subject}
        elif f == "team_min":
            what = self.g(N_("team lowest %(what)s")) % {"what": subject}
        elif f == "team_count":
            what = self.g(N_("members of the team"))
        elif f == "team_rank":
            what = self.g(N_("place in the team by %(what)s")) % {"what": subject}
        elif f == "prev":
            what = self.g(N_("last period's %(what)s")) % {"what": subject}
        if what is not None:
            return pl.concat_str([pl.lit(f"{what} "), self._call_value(node, own)])
        if f in ITEM_FUNCTIONS:
            return pl.concat_str([pl.lit(item_words(self.s, node, self.lang) + " "),
                                  self._call_value(node, own)])
        if f in ("streak", "count_so_far") and arg is not None:
            template = (N_("months in a row with %(cond)s") if f == "streak"
                        else N_("periods so far with %(cond)s"))
            # the condition over the periods in words (its values differ period by period)
            return pl.concat_str([
                self.t(template, cond=rule_words(self.s, arg, self.lang, own)), pl.lit(" "),
                self._call_value(node, own)])
        if f == "if" and len(args) == 3:
            return self.t(N_("if %(cond)s then %(then)s else %(else)s"),
                          cond=self.fx(args[0], own), then=self.fx(args[1], own),
                          **{"else": self.fx(args[2], own)})
        if f == "lookup" and len(args) >= 2:
            return pl.concat_str([*self._lookup_keys(node, own), pl.lit(" → "),
                                  self._call_value(node, own)])
        name = self.g(_FUNCTION_LABELS[f]) if f in _FUNCTION_LABELS else f
        inner: list[pl.Expr] = []
        for k, a in enumerate(args):
            if k:
                inner.append(pl.lit(", " if self.en else "，"))
            inner += self._fx(a, own)
        return pl.concat_str([pl.lit(f"{name}("), *inner, pl.lit(") "),
                              self._call_value(node, own)])

    def _lookup_keys(self, node: Call, own: str | None) -> list[pl.Expr]:
        """The keys a lookup reads, shown ``职位 业务员 × 职等 Ⅱ级``."""
        first = node.args[0]
        table = self.s.tables.get(first.id, {}) if isinstance(first, Name) else {}
        depth = table_depth(table) if table else 1
        out: list[pl.Expr] = []
        for k, a in enumerate(node.args[1:1 + depth]):
            if k:
                out.append(pl.lit(" × "))
            out.append(self.fx(a, own))
        return out

    def outcome(self, node: Node, result: pl.Expr, own: str | None = None) -> pl.Expr:
        """A formula and its result: ``a × b = 12.00`` for arithmetic, ``等级 高级 → 400.00``
        for a table lookup, the values read ``→ result`` for choices, the result alone for
        a constant."""
        if isinstance(node, Num):
            return result
        if isinstance(node, Name) and (node.id == own or node.id not in self._computed):
            return self.named(node.id, own)  # the amount is an input
        if isinstance(node, Name) and node.id in self._computed and node.id != own:
            return pl.concat_str([self.named(node.id, own), pl.lit(" → "), result])
        if isinstance(node, Call) and node.func == "lookup" and len(node.args) >= 2:
            return pl.concat_str([*self._lookup_keys(node, own), pl.lit(" → "), result])
        if isinstance(node, Call) and node.func == "if":
            # a choice: the values it read, then what it gave
            read = [self.named(n, own) for n in _names_in_order(node)]
            if read:
                sep = pl.lit(", " if self.en else "，")
                pieces: list[pl.Expr] = []
                for k, p in enumerate(read):
                    pieces += [sep, p] if k else [p]
                return pl.concat_str([*pieces, pl.lit(" → "), result])
        return pl.concat_str([self.fx(node, own), pl.lit(" = "), result])

    def vetoed(self, veto: Node | None, own: str | None) -> pl.Expr | None:
        if veto is None:
            return None
        cond = self.lowered(veto, own)
        if cond is None:
            return None
        return pl.when(cond.fill_null(False)).then(
            self.t(N_("; vetoed: %(cond)s → 0"), cond=self.fx(veto, own)))

    # -- lines -------------------------------------------------------------------------------
    def line(self, label: str, body: pl.Expr, veto: pl.Expr | None = None) -> pl.Expr:
        text = self.t(N_("%(label)s: %(reason)s"), label=label, reason=body) \
            if self.labelled else body
        if veto is not None:
            text = pl.concat_str([text, veto.fill_null("")])
        return text

    def indicator(self, item: ScoredItem) -> pl.Expr:
        render = REASONS.get(type(item.rule))
        if render is None:
            raise KaoheError(f"rule kind {item.kind!r} has no reason renderer")
        own = item.id if item.id in self.s.inputs else None
        body = render(self, item, item.rule)
        veto = self.vetoed(item.veto.tree if item.veto is not None else None, own)
        return pl.when(pl.col(ASSESSED)).then(self.line(self.label(item), body, veto))

    def points(self, item: ScoredItem) -> pl.Expr:
        """The indicator's points as its rule gave them (before a veto, which its reason
        states after them)."""
        natural = self.part(item, "natural")
        col = natural if natural is not None else pl.col(C.indicator_col(item.id))
        return self.text(col)

    def part(self, item: ScoredItem, name: str) -> pl.Expr | None:
        expr = self.plan.reason_parts.get(item.id, {}).get(name)
        if expr is None:
            return None
        col = C.reason_col(item.id, name)
        self.layers[0][col] = expr
        return pl.col(col)

    def adjustment(self, index: int) -> pl.Expr:
        adj = self.s.adjustments[index]
        col = pl.col(C.adjustment_col(adj.id))
        own = adj.id if adj.id in self.s.inputs else None
        node = adj.points.tree
        body = self.outcome(node, self.text(col), own)
        raw = self.lowered(node, own)
        notes: list[pl.Expr] = []
        if raw is not None and adj.floor is not None:
            notes.append(pl.when(raw < Decimal(adj.floor)).then(
                pl.lit(self.g(N_(", not below %(x)s")) % {"x": plain(adj.floor)})))
        if raw is not None and adj.cap is not None:
            notes.append(pl.when(raw > Decimal(adj.cap)).then(
                pl.lit(self.g(N_(", not above %(x)s")) % {"x": plain(adj.cap)})))
        text = self.line(self.label(adj), body)
        if notes:
            text = pl.concat_str([text, *[n.fill_null("") for n in notes]])
        return pl.when(pl.col(ASSESSED)).then(text)

    def _sum(self, names: Sequence[tuple[str, str]], result: pl.Expr,
             fmt: Callable[[pl.Expr], pl.Expr] = two_expr) -> pl.Expr:
        """``a 1.00 + b 2.00 = 3.00`` (signs folded in: ``+ −50.00`` reads ``− 50.00``)."""
        optional = {C.indicator_col(i) for i in self.plan.applies}
        if any(col in optional for _, col in names):
            return self._sum_applicable(names, result, optional, fmt)
        pieces: list[pl.Expr] = []
        for k, (label, col) in enumerate(names):
            v = pl.col(col)
            if k:
                pieces.append(pl.when(v < 0).then(pl.lit(f" {MINUS} ")).otherwise(pl.lit(" + ")))
                shown = self.text(v.abs(), fmt)
            else:
                shown = self.text(v, fmt)
            # a form lists the lines above their sum: there the numbers alone read clearly
            named = "" if self.compact else f"{label} "
            pieces.append(pl.concat_str([pl.lit(named), shown.fill_null("—")]))
        if not pieces:
            return result
        return pl.concat_str([*pieces, pl.lit(" = "), result])

    def _sum_applicable(self, names: Sequence[tuple[str, str]], result: pl.Expr,
                        optional: set[str], fmt: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
        """A sum that leaves out the items that are not applicable (``—`` when none is)."""
        pieces: list[pl.Expr] = []
        for label, col in names:
            v = pl.col(col)
            named = "" if self.compact else f"{label} "
            piece = pl.concat_str([
                pl.when(v < 0).then(pl.lit(f" {MINUS} ")).otherwise(pl.lit(" + ")),
                pl.lit(named), self.text(v.abs(), fmt).fill_null("—")])
            pieces.append(pl.when(v.is_not_null()).then(piece) if col in optional else piece)
        joined = pl.concat_str(pieces, ignore_nulls=True).str.strip_prefix(" + ").str.strip_prefix(
            " ")
        return pl.when(joined != "").then(pl.concat_str([joined, pl.lit(" = "), result])
                                          ).otherwise(result)

    def section(self, index: int) -> pl.Expr:
        sec = self.s.sections[index]
        members = [(self.label(it), C.indicator_col(it.id)) for it in self.s.indicators
                   if it.section == sec.id]
        total = self.text(pl.col(C.section_col(sec.id)))
        if sec.out_of is not None and sec.points is not None:
            # a section on another scale: the sum, then × out_of ÷ points
            raw = dlit(0)
            if members:
                raw = pl.col(members[0][1])
                for _, c in members[1:]:
                    raw = raw + pl.col(c)
            total = pl.concat_str([self.text(raw), pl.lit(
                f" × {plain(sec.out_of)} ÷ {plain(sec.points)} = "), total])
        return pl.when(pl.col(ASSESSED)).then(self.line(self.label(sec), self._sum(members, total)))

    def total(self) -> pl.Expr:
        s = self.s
        tot = s.total
        result = self.text(pl.col("total"))
        parts = [(self.label(it), C.indicator_col(it.id)) for it in s.indicators] + [
            (self.label(a), C.adjustment_col(a.id)) for a in s.adjustments]
        if tot.rescale == "applicable":
            points, std, full = rescale_parts(s, self.plan.applies)
            inds = [(self.label(it), C.indicator_col(it.id)) for it in s.indicators]
            scaled = round_half_up(safe_div(points * dlit(full), std), 2)
            body = pl.concat_str([
                self._sum(inds, self.text(points)) if len(inds) <= 12 else self.text(points),
                self.t(N_(" (points of the applicable items) × %(full)s ÷ %(std)s (their "
                          "standard points) = %(scaled)s"), full=plain(full),
                       std=self.text(std, plain_expr), scaled=self.text(scaled))])
            if s.adjustments:
                adj = pl.sum_horizontal([pl.col(C.adjustment_col(a.id)) for a in s.adjustments])
                body = pl.concat_str([body, self.t(
                    N_(" + adjustments %(adj)s = %(total)s"), adj=self.text(adj), total=result)])
            raw: pl.Expr | None = None
        elif tot.formula is not None:
            body = self.outcome(tot.formula.tree, result)
            raw = None
        else:
            raw_sum = pl.sum_horizontal([pl.col(c) for _, c in parts]) if parts else pl.lit(0)
            raw = raw_sum
            raw_text = self.text(raw_sum)
            body = (self._sum(parts, raw_text) if len(parts) <= 12 else
                    self.t(N_("sum of the indicators and adjustments %(sum)s"), sum=raw_text))
        notes: list[pl.Expr] = []
        if raw is not None and tot.floor is not None:
            notes.append(pl.when(raw < Decimal(tot.floor)).then(self.t(
                N_(" → not below %(x)s = %(total)s"), x=plain(tot.floor), total=result)))
        if raw is not None and tot.cap is not None:
            notes.append(pl.when(raw > Decimal(tot.cap)).then(self.t(
                N_(" → not above %(x)s = %(total)s"), x=plain(tot.cap), total=result)))
        veto = self.vetoed(tot.veto.tree if tot.veto is not None else None, None)
        text = self.line(self.g(N_("Total")), pl.concat_str([body, *[n.fill_null("")
                                                                    for n in notes]]), veto)
        return pl.when(pl.col(ASSESSED)).then(text)

    def grade(self) -> pl.Expr:
        s = self.s
        label = self.g(N_("Grade"))
        grade = pl.col("grade")
        if s.grade_input is not None:
            body = pl.concat_str([pl.lit(f"{self.input_label(s.grade_input)} "),
                                  grade.cast(pl.String)])
            return pl.when(grade.is_not_null()).then(self.line(label, body))
        total = self.text(pl.col("total"))
        chain: pl.Expr = pl.lit(None, dtype=pl.String)
        grades = s.grades
        for i, g in enumerate(grades):
            name = (g.label_en or g.name) if self.en else g.name
            if g.range is not None:
                shown = _interval(g.range.text)
                rule = (f" {shown[:1]} {shown[1:]} → {name}" if shown[:1] in "<>≤≥="
                        else f" ∈ {shown} → {name}")
            elif g.min is not None:
                rule = f" ≥ {plain(g.min)} → {name}"
            else:
                above = next((x.min for x in reversed(grades[:i]) if x.min is not None), None)
                rule = f" < {plain(above)} → {name}" if above is not None else f" → {name}"
            chain = pl.when(grade == g.name).then(pl.lit(rule)).otherwise(chain)
        body = pl.concat_str([pl.lit(f"{self.g(N_('total'))} "), total, chain])
        return pl.when(grade.is_not_null()).then(self.line(label, body))

    def coefficient(self) -> pl.Expr:
        grade = pl.col("grade").cast(pl.String)
        if self.en:
            names: pl.Expr = grade
            for g in self.s.grades:
                if g.label_en:
                    names = pl.when(grade == g.name).then(pl.lit(g.label_en)).otherwise(names)
            grade = names
        body = self.t(N_("grade %(grade)s → coefficient %(coefficient)s"), grade=grade,
                      coefficient=self.text(pl.col("coefficient"), plain_expr))
        return pl.when(pl.col("coefficient").is_not_null()).then(
            self.line(self.g(N_("Coefficient")), body))

    def rank(self) -> pl.Expr:
        n = pl.col("rank").is_not_null().sum().over(COHORT)
        if not self.compact:
            reason = self.t(N_("within the team and period by %(keys)s, then employee id: "
                               "%(rank)s of %(n)s"),
                            keys=rank_words(self.s, self.lang),
                            rank=self.text(pl.col("rank"), plain_expr), n=n.cast(pl.String))
        else:  # a form states the ranking keys in its own column
            reason = self.t(N_("%(rank)s of %(n)s"), rank=self.text(pl.col("rank"), plain_expr),
                            n=n.cast(pl.String))
        return pl.when(pl.col("rank").is_not_null()).then(self.line(self.g(N_("Rank")), reason))

    def pool(self, pool: Pool) -> pl.Expr:
        body = self.helper(self.pool_body(pool), 3)
        return pl.when(pl.col("rank").is_not_null()).then(self.line(self.label(pool), body))

    def pool_body(self, pool: Pool) -> pl.Expr:
        amount = self.text(pl.col(C.pool_amount_col(pool.id)), money_expr)
        share = self.text(pl.col(C.pool_col(pool.id)), money_expr)
        rank = pl.col("rank")
        explicit = sorted(s.rank for s in pool.shares if s.rank is not None)
        members = rank.is_not_null().sum().over(COHORT)
        rule: pl.Expr = pl.lit(None, dtype=pl.String)
        for s in pool.shares:
            fixed = f" + {plain(s.fixed)}" if s.fixed else ""
            if s.rank is not None:
                rule = pl.when(rank == Decimal(s.rank)).then(
                    pl.lit(f"{pct(s.share)}{fixed}")).otherwise(rule)
            else:
                others = (members - len(explicit)).cast(pl.String)
                rest = self.t(N_("the other %(n)s share %(share)s%(fixed)s"), n=others,
                              share=pct(s.share), fixed=fixed)
                rule = pl.when(rank.is_not_null() & ~rank.is_in(
                    [Decimal(k) for k in explicit])).then(rest).otherwise(rule)
        rule = rule.fill_null(pl.lit(self.g(N_("no share"))))
        return self.t(N_("%(amount_rule)s = %(amount)s; rank %(rank)s → %(rule)s = %(share)s"),
                      amount_rule=self.fx(pool.amount.tree), amount=amount,
                      rank=self.text(rank, plain_expr), rule=rule, share=share)

    def pay(self, index: int) -> pl.Expr:
        line = self.s.pay[index]
        node = line.amount.tree
        own = line.id if line.id in self.s.inputs else None
        result = self.text(pl.col(C.pay_col(line.id)), money_expr)
        pool = next((p for p in self.s.pools if isinstance(node, Name) and node.id == p.id),
                    None)
        if pool is not None:
            # a pool's share: the pool's own reason (the amount, the rank's rule)
            body = pl.when(pl.col("rank").is_not_null()).then(pl.concat_str(
                [pl.lit(f"{self.label(pool)} "), self.helper(self.pool_body(pool), 3)])
            ).otherwise(result)
        else:
            body = self.outcome(node, result, own)
        veto = self.vetoed(line.veto.tree if line.veto is not None else None, own)
        return pl.when(pl.col(ASSESSED)).then(self.line(self.label(line), body, veto))

    def pay_total(self) -> pl.Expr:
        parts = [(self.label(p), C.pay_col(p.id)) for p in self.s.pay]
        result = self.text(pl.col("pay_total"), money_expr)
        body = self._sum(parts, result, money_expr) if len(parts) <= 12 else result
        return pl.when(pl.col(ASSESSED)).then(self.line(self.g(N_("Pay total")), body))

    def flags(self) -> pl.Expr:
        shown: list[pl.Expr] = []
        for (text, col), flag in zip(self.plan.flag_columns, self.s.flags, strict=True):
            name = (flag.label_en or text) if self.en else text
            shown.append(pl.when(pl.col(col).fill_null(False)).then(
                pl.concat_str([pl.lit(f"{name}（" if not self.en else f"{name} ("),
                               self.fx(flag.when.tree),
                               pl.lit("）" if not self.en else ")")])))
        if not shown:
            return pl.lit(None, dtype=pl.String)
        joined = pl.concat_str(shown, separator="；" if not self.en else "; ",
                               ignore_nulls=True)
        return pl.when(joined != "").then(joined)

    def eligibility(self) -> pl.Expr:
        elig = self.s.eligibility
        none: pl.Expr | None = None
        if self.plan.none_applicable_excludes:
            none = ~pl.any_horizontal(list(self.plan.applies.values()))
            na = self.line(self.g(N_("Not assessed")), pl.lit(self.g(N_(
                "无适用项: no applicable item (every item is not applicable)"))))
        if elig is None:
            if none is None:
                return pl.lit(None, dtype=pl.String)
            return pl.when(~pl.col(ASSESSED) & none).then(na)
        reason = elig.reason or self.g(N_("not assessed"))
        body = self.t(N_("%(reason)s (%(rule)s)"), reason=reason,
                      rule=self.fx(elig.exclude_if.tree))
        text = self.line(self.g(N_("Not assessed")), body)
        if none is not None:
            text = pl.when(none).then(na).otherwise(text)
        return pl.when(~pl.col(ASSESSED)).then(text)

    def warnings(self) -> pl.Expr:
        """The engine's warnings of the row, worded for people (the JSON document keeps its
        own English ``warnings`` list)."""
        s = self.s
        items = {it.id: it for it in [*s.values, *s.indicators]}
        notes: list[pl.Expr] = []
        for w in self.plan.warns:
            mark = pl.col(w.column)
            if w.kind == "undefined":
                item = items[w.subject]
                rule = item.rule
                assert isinstance(rule, BandsRule)
                own = item.id if item.id in s.inputs else None
                notes.append(pl.when(mark.is_null()).then(self.t(
                    N_("%(what)s: %(value)s cannot be worked out (a zero denominator); given "
                       "%(score)s"), what=self.label(item), value=rule_words(
                        s, rule.value.tree, self.lang, own),
                    score=plain(rule.undefined_score))))
            elif w.kind == "missing_rater":
                item = items[w.subject]
                rated = item.rule
                assert isinstance(rated, Rated)
                source = rated.source(item)
                absent = pl.concat_str(
                    [pl.when(pl.col(C.input_col(f"{source}@{r}")).is_null()).then(
                        pl.lit(self.rater(r))) for r in rated.raters],
                    separator="、" if not self.en else ", ", ignore_nulls=True)
                notes.append(pl.when(mark.fill_null(False)).then(self.t(
                    N_("%(what)s: no mark from %(who)s; the weight is shared out over the "
                       "other raters"), what=self.label(item), who=absent)))
            elif w.kind == "unallocated":
                pool = next(p for p in s.pools if p.id == w.subject)
                n = pl.col("rank").is_not_null().sum().over(COHORT).cast(pl.String)
                notes.append(pl.when(mark.fill_null(False)).then(self.t(
                    N_("%(what)s: the team has %(n)s assessed members, so part of the pool "
                       "is not paid out"), what=self.label(pool), n=n)))
        if not notes:
            return pl.lit(None, dtype=pl.String)
        joined = pl.concat_str(notes, separator="\n", ignore_nulls=True)
        return pl.when(pl.col(ASSESSED) & (joined != "")).then(joined)

    # -- all -------------------------------------------------------------------------------
    def texts(self, frame_columns: Sequence[str]) -> dict[str, pl.Expr]:
        s = self.s
        out: dict[str, pl.Expr] = {}
        for item in s.indicators:
            out[item.id] = self.indicator(item)
        for i, adj in enumerate(s.adjustments):
            out[adj.id] = self.adjustment(i)
        for i, sec in enumerate(s.sections):
            out[sec.id] = self.section(i)
        if "total" in frame_columns:
            out["total"] = self.total()
        if "grade" in frame_columns:
            out["grade"] = self.grade()
        if "coefficient" in frame_columns:
            out["coefficient"] = self.coefficient()
        if "rank" in frame_columns:
            out["rank"] = self.rank()
        for pool in s.pools:
            out[pool.id] = self.pool(pool)
        for i, line in enumerate(s.pay):
            out[line.id] = self.pay(i)
        if s.pay:
            out["pay_total"] = self.pay_total()
        out[FLAGS] = self.flags()
        out[ELIGIBILITY] = self.eligibility()
        out[WARNINGS] = self.warnings()
        return out


# -- rules in words (no values: the 评分标准 column of a form) -----------------------------

def _labels(scheme: Scheme, lang: str, own: str | None,
            agg: bool = False) -> Callable[[str], str]:
    en = lang == "en"
    g = translations(lang).gettext
    computed: dict[str, str] = {"total": g(N_("total")), "grade": g(N_("grade")),
                                "coefficient": g(N_("coefficient")), "rank": g(N_("rank")),
                                "pay_total": g(N_("pay total"))}
    for group in (scheme.values, scheme.indicators, scheme.sections, scheme.adjustments,
                  scheme.pools, scheme.pay):
        for obj in group:
            computed[obj.id] = ((obj.label_en or obj.label or obj.id) if en
                                else (obj.label or obj.id))
    if agg:  # outside its calls, an aggregate formula reads the aggregate's own numbers
        computed["score"] = g(N_("aggregate score"))
        computed["months"] = g(N_("months counted"))

    def label(name: str) -> str:
        base, _, rater = name.partition("@")
        spec = scheme.inputs.get(base)
        if spec is not None and (rater or name == own or name not in computed):
            text = (spec.label_en or spec.label or base) if en else (spec.label or base)
            return f"{text}（{rater_label(rater, lang)}）" if rater else text
        return computed.get(name, name)

    return label


#: an aggregate formula's calls over the months, in words
_AGG_WORDS: dict[str, str] = {
    "sum": N_("sum of the monthly %(what)s"), "mean": N_("mean of the monthly %(what)s"),
    "min": N_("lowest monthly %(what)s"), "max": N_("highest monthly %(what)s"),
    "last": N_("last month's %(what)s"), "count": N_("months with %(what)s"),
    "any": N_("any month with %(what)s"),
}


def rule_words(scheme: Scheme, node: Node, lang: str = "zh", own: str | None = None, *,
               agg: bool = False, names: dict[str, str] | None = None) -> str:
    """A formula in words, with labels for names and no values: ``实际销售额 ÷ 计划销售额``;
    ``按等级：高级 400，中级 200，其他 0``. Inside the formula of ``own`` (an indicator,
    adjustment or pay line), its own id names the input of that id. ``agg``: an aggregate's
    formula (``sum(total)`` reads 各月总分之和; ``score``, ``months`` are the aggregate's);
    ``names``: labels of names the scheme does not define (an aggregate's own steps)."""
    g = translations(lang).gettext
    base_label = _labels(scheme, lang, own, agg)

    def label(name: str) -> str:
        return names[name] if names and name in names else base_label(name)
    comma = ", " if lang == "en" else "，"

    def words(n: Node, parent: str | None = None, right: bool = False) -> str:
        match n:
            case Num(value=v):
                shown = pct(v) if 0 < abs(v) < 1 else plain(abs(v))
                return shown if v >= 0 else MINUS + shown
            case Str(value=text):
                return f"「{text}」"
            case Name(id=ident):
                return label(ident)
            case Neg(operand=o):
                return MINUS + words(o, "*")
            case BinOp(op=op, left=a, right=b):
                text = f"{words(a, op)}{_OPS[op]}{words(b, op, True)}"
                if parent in _PRECEDENCE and (
                        _PRECEDENCE[op] < _PRECEDENCE[parent]
                        or (right and _PRECEDENCE[op] == _PRECEDENCE[parent]
                            and parent in "-/")):
                    return f"({text})"
                return text
            case Compare(op=op, left=a, right=b):
                return f"{words(a)}{_COMPARE[op]}{words(b)}"
            case BoolOp(op=op, operands=ops):
                sep = g(N_(" and ")) if op == "and" else g(N_(" or "))
                return sep.join(words(o) for o in ops)
            case Not(operand=o):
                return g(N_("not ")) + words(o)
            case Call(func="lookup", args=args) if len(args) >= 2 and isinstance(args[0], Name):
                table = scheme.tables.get(args[0].id, {})
                depth = table_depth(table) if table else 1
                entries = [f"{'/'.join(k)} {plain(v)}" for k, v in table_rows(table)]
                if len(args) == depth + 2:
                    entries.append(g(N_("otherwise %(x)s")) % {"x": words(args[-1])})
                return g(N_("by %(key)s: %(entries)s")) % {
                    "key": "/".join(words(a) for a in args[1:1 + depth]),
                    "entries": comma.join(entries)}
            case Call(func="if", args=args) if len(args) == 3:
                return g(N_("if %(cond)s then %(then)s else %(else)s")) % {
                    "cond": words(args[0]), "then": words(args[1]), "else": words(args[2])}
            case Call(func="months", args=()) if agg:
                return g(N_("months counted"))
            case Call(func=f, args=args) if agg and f in _AGG_WORDS and len(args) == 1:
                # the call's argument is read month by month: the months' own names
                inner = rule_words(scheme, args[0], lang, own)
                return g(_AGG_WORDS[f]) % {"what": inner}
            case Call(func=f, args=args):
                subject = words(args[0]) if args else ""
                named = {
                    "team_sum": N_("team total of %(what)s"),
                    "team_mean": N_("team average of %(what)s"),
                    "team_max": N_("team highest %(what)s"),
                    "team_min": N_("team lowest %(what)s"),
                    "team_rank": N_("place in the team by %(what)s"),
                    "prev": N_("last period's %(what)s"),
                    "streak": N_("months in a row with %(cond)s"),
                    "count_so_far": N_("periods so far with %(cond)s"),
                }.get(f)
                if f == "team_count":
                    return g(N_("members of the team"))
                if f in ITEM_FUNCTIONS:
                    return item_words(scheme, n, lang)
                if named is not None:
                    return g(named) % {"what": subject, "cond": subject}
                name = g(_FUNCTION_LABELS[f]) if f in _FUNCTION_LABELS else f
                return f"{name}({comma.join(words(a) for a in args)})"
        return "—"

    return words(node)


def rank_words(scheme: Scheme, lang: str = "zh") -> str:
    """The ranking keys in words: 总分从高到低、实际销售额从高到低."""
    g = translations(lang).gettext
    label = _labels(scheme, lang, None)
    keys: list[str] = []
    for text in scheme.rank_by:
        key, _, order = text.strip().rpartition(" ")
        if order not in ("asc", "desc") or not key:
            key, order = text.strip(), "desc"
        what = label(key)
        keys.append(g(N_("%(what)s high to low")) % {"what": what} if order == "desc"
                    else g(N_("%(what)s low to high")) % {"what": what})
    return (", " if lang == "en" else "、").join(keys)


# -- one reason per rule kind ----------------------------------------------------------------

def _bands(r: Renderer, item: ScoredItem, rule: BandsRule) -> pl.Expr:
    node = rule.value.tree
    own = item.id if item.id in r.s.inputs else None
    bands = rule.bands.ascending
    hit = pl.col(C.band_col(item.id))
    ks = list(range(len(bands)))
    interval = hit.replace_strict(ks, [_interval(b.interval.text) for b in bands],
                                  default=None, return_dtype=pl.String)
    score = hit.replace_strict(ks, [plain(b.score) for b in bands], default=None,
                               return_dtype=pl.String)
    shown = r.fx(node, own)
    if not isinstance(node, Name):
        value = r.part(item, "value")
        fmt = pct_expr if rule.percent else plain_expr
        result = r.text(value, fmt) if value is not None else pl.lit("—")
        shown = pl.concat_str([shown, pl.lit(" = "), result])
    weight = r.weight(item)
    found = r.t(N_("%(value)s, in band “%(band)s” → %(score)s points%(weight)s = %(points)s"),
                value=shown, band=interval, score=score, weight=weight, points=r.points(item))
    how = (N_("%(value)s cannot be worked out (a zero denominator) → the lowest score "
              "%(score)s points%(weight)s = %(points)s") if rule.undefined == "lowest" else
           N_("%(value)s cannot be worked out (a zero denominator) → %(score)s "
              "points%(weight)s = %(points)s"))
    undefined = r.t(how, value=r.fx(node, own), score=plain(rule.undefined_score),
                    weight=weight, points=r.points(item))
    return pl.when(hit.is_null()).then(undefined).otherwise(found)


def _levels(r: Renderer, item: ScoredItem, rule: Levels) -> pl.Expr:
    source = rule.source(item)
    level = pl.col(C.input_col(source))
    names = list(rule.points)
    shown = [f"{pct(v)} × {plain(rule.base(item))}" if rule.scale == "fraction" else plain(v)
             for v in rule.points.values()]
    score = level.replace_strict(names, shown, default="—", return_dtype=pl.String)
    text = r.t(N_("%(input)s “%(level)s” → %(score)s points%(weight)s = %(points)s"),
               input=r.input_label(source), level=level.fill_null("—"), score=score,
               weight=r.weight(item), points=r.points(item))
    if not rule.not_applicable:
        return text
    out = r.t(N_("%(input)s “%(level)s” → not applicable: the item is left out of the form "
                 "and of the total"), input=r.input_label(source), level=level.fill_null("—"))
    return pl.when(level.is_in(list(rule.not_applicable)).fill_null(False)).then(out).otherwise(
        text)


def _deduction(r: Renderer, item: ScoredItem, rule: Deduction) -> pl.Expr:
    assert item.points is not None
    pieces: list[pl.Expr] = [pl.lit(r.g(N_("%(start)s points")) % {"start": plain(item.points)})]
    raw: pl.Expr = pl.lit(Decimal(item.points))
    for k, d in enumerate(rule.rules):
        spec = r.s.inputs.get(d.count)
        counted = pl.col(C.input_col(d.count))
        count = r.text(counted, plain_expr)
        times = r.g(N_(" times")) if spec is not None and spec.type == "count" else ""
        label = d.label or r.input_label(d.count) if not r.en else r.input_label(d.count)
        extra: list[pl.Expr] = [pl.lit(times)]
        if d.unit is not None:
            whole = (counted / Decimal(d.unit)).ceil() * Decimal(d.unit)
            extra.append(pl.when(whole != counted).then(r.t(
                N_(" (counted as %(n)s)"), n=r.text(whole, plain_expr))).fill_null(""))
        if d.free:
            extra.append(pl.lit(r.g(N_(" (%(n)s free)")) % {"n": plain(d.free)}))
        amount = r.part(item, f"d{k}")
        if amount is not None:
            raw = raw - amount
        if d.per is not None:
            pieces.append(pl.concat_str([pl.lit(f" {MINUS} {label} "), count, *extra,
                                         pl.lit(f" × {plain(d.per)}")]))
        else:
            steps = "/".join(plain(x) for x in d.schedule or [])
            took = r.text(amount) if amount is not None else pl.lit("—")
            pieces.append(pl.concat_str([
                pl.lit(f" {MINUS} {label} "), count, *extra, pl.lit(" → "), took,
                pl.lit(r.g(N_(" (schedule %(steps)s)")) % {"steps": steps})]))
    pieces.append(pl.lit(r.weight(item)))
    pieces.append(pl.lit(" = "))
    floor_note = pl.when(raw < Decimal(rule.floor)).then(pl.concat_str([
        r.text(raw), pl.lit(r.g(N_(" → not below %(x)s = ")) % {"x": plain(rule.floor)})]))
    pieces.append(floor_note.fill_null(""))
    pieces.append(r.points(item))
    return pl.concat_str(pieces)


def _formula(r: Renderer, item: ScoredItem, rule: FormulaRule) -> pl.Expr:
    own = item.id if item.id in r.s.inputs else None
    body = r.fx(rule.formula.tree, own)
    weight = r.weight(item)
    if weight:
        body = pl.concat_str([pl.lit("("), body, pl.lit(f"){weight}")])
    return pl.concat_str([body, pl.lit(" = "), r.points(item)])


def _rated(r: Renderer, item: ScoredItem, rule: Rated) -> pl.Expr:
    source = rule.source(item)
    marks: list[pl.Expr] = []
    missing: list[pl.Expr] = []
    for rater, share in rule.raters.items():
        col = pl.col(C.input_col(f"{source}@{rater}"))
        marks.append(pl.when(col.is_not_null()).then(pl.concat_str(
            [pl.lit(f"{r.rater(rater)} "), r.text(col, plain_expr),
             pl.lit(f" × {pct(share)}")])))
        missing.append(pl.when(col.is_null()).then(pl.lit(r.rater(rater))))
    mark = r.part(item, "mark")
    weighted = r.text(mark) if mark is not None else pl.lit("—")
    joined = pl.concat_str(marks, separator=" + ", ignore_nulls=True)
    absent = pl.concat_str(missing, separator="、" if not r.en else ", ", ignore_nulls=True)
    text = r.t(N_("%(marks)s = weighted mark %(mark)s%(weight)s = %(points)s"),
               marks=joined, mark=weighted, weight=r.weight(item), points=r.points(item))
    note = pl.when((absent != "") & (joined != "")).then(
        r.t(N_(" (%(who)s missing: weight shared out over the others)"), who=absent))
    return pl.concat_str([text, note.fill_null("")])


RuleReason = Callable[[Renderer, ScoredItem, Any], pl.Expr]
#: every rule kind → its reason renderer
REASONS: dict[type[Any], RuleReason] = {
    BandsRule: _bands,
    Levels: _levels,
    Deduction: _deduction,
    FormulaRule: _formula,
    Rated: _rated,
}


# -- entry points ------------------------------------------------------------------------

def reason_frame(plan: Plan, frame: pl.DataFrame, lang: str = "zh", *,
                 labelled: bool = True, compact: bool = False) -> pl.DataFrame:
    """One text column per indicator id (and per adjustment, section, pool and pay line id,
    plus ``total``, ``grade``, ``coefficient``, ``rank``, ``pay_total``, ``flags`` and
    ``eligibility`` where the scheme has them), in the row order of ``frame`` (a scored
    frame: ``Outcome.frame``). A line that does not apply to a row is null there (an
    excluded row has only ``eligibility``). Each text starts with its line's label
    (``成交额完成度：...``) unless ``labelled`` is false (a table shows the label beside
    it); ``compact`` is for a form, which lists the lines above their sums and states the
    ranking keys in a column of its own (sums show numbers alone, the rank its place)."""
    r = Renderer(plan, lang, labelled=labelled, compact=compact)
    texts = r.texts(frame.columns)
    # each layer of helper columns once, then the texts (eagerly: the layers already share
    # what the texts have in common)
    work = frame
    for layer in r.layers:
        if layer:
            work = work.with_columns([e.alias(c) for c, e in layer.items()])
    return work.select([e.cast(pl.String).alias(k) for k, e in texts.items()])


def short_reasons(plan: Plan, frame: pl.DataFrame, lang: str = "zh") -> list[dict[str, str]]:
    """Each row's reasons as ``{line id: text}`` (lines that do not apply left out), in the
    order of the result records: period, team, employee."""
    order = frame.select(pl.int_range(pl.len()).alias("i"), *C.COHORT, EMPLOYEE).sort(
        [PERIOD, C.TEAM, EMPLOYEE], nulls_last=False)["i"]
    reasons = reason_frame(plan, frame, lang)[order]
    return [{k: v for k, v in row.items() if v is not None}
            for row in reasons.iter_rows(named=True)]


def find_row(frame: pl.DataFrame, employee: str, period: str | None) -> int:
    """The index in ``frame`` of an employee's row (in ``period``, when given)."""
    idx = frame.with_row_index("__i").filter(pl.col(EMPLOYEE) == employee)
    if idx.height == 0:
        raise KaoheError(f"no row for employee {employee!r} in the input")
    if period is not None:
        idx = idx.filter(pl.col(PERIOD) == period)
        if idx.height == 0:
            raise KaoheError(f"employee {employee!r} has no row for period {period!r}")
    elif idx.height > 1:
        periods = ", ".join(str(p) for p in idx[PERIOD].to_list())
        raise KaoheError(f"employee {employee!r} has several periods ({periods}); give --period")
    return int(idx["__i"][0])


def explain_lines(plan: Plan, frame: pl.DataFrame, index: int, lang: str = "zh") -> list[Line]:
    """The lines of one row, in the order of the form, each with its number and reason."""
    r = Renderer(plan, lang)
    texts = reason_frame(plan, frame, lang, labelled=False).row(index, named=True)
    row = frame.row(index, named=True)
    s = plan.scheme
    out: list[Line] = []

    def add(ident: str, label: str, column: str | None) -> None:
        text = texts.get(ident)
        if text is None:
            return
        value = row.get(column) if column is not None else None
        out.append(Line(ident, label, value if isinstance(value, Decimal) else None, text))

    if not row.get(ASSESSED, True):
        add(ELIGIBILITY, r.g(N_("Not assessed")), None)
        return out
    for item in s.indicators:
        add(item.id, r.label(item), C.indicator_col(item.id))
    for sec in s.sections:
        add(sec.id, r.label(sec), C.section_col(sec.id))
    for adj in s.adjustments:
        add(adj.id, r.label(adj), C.adjustment_col(adj.id))
    add("total", r.g(N_("Total")), "total")
    add("grade", r.g(N_("Grade")), None)
    add("coefficient", r.g(N_("Coefficient")), "coefficient")
    add("rank", r.g(N_("Rank")), "rank")
    for line in s.pay:
        add(line.id, r.label(line), C.pay_col(line.id))
    add("pay_total", r.g(N_("Pay total")), "pay_total")
    flags = texts.get(FLAGS)
    if flags:
        out.append(Line(FLAGS, r.g(N_("Flags")), None, flags))
    notes = texts.get(WARNINGS)
    if notes:
        out.append(Line(WARNINGS, r.g(N_("Warnings")), None, notes))
    return out


def row_points(value: Any) -> str:
    """A line's number as ``explain`` prints it."""
    return two(value) if value is not None else ""


# -- quarter and year results (aggregates) ---------------------------------------------------
#
# An aggregate is explained as the seed's 年度绩效考核表 reads: a line per term of its score
# formula (指标类型 | 平均得分 | 所占权重 | 折合分数), each with the months it read, then the
# score, grade, rank, awards, flags and values. The texts are built for every aggregate row
# at once: the months' values are joined per employee and period by a Polars group-by.

#: the reason columns of an aggregate row that are not a term, an award or a value
AGG_MONTHS = "months"
AGG_SCORE = "score"
AGG_GRADE = "grade"
AGG_RANK = "rank"
AGG_FLAGS = "flags"
_AGG_PERIOD = re.compile(r"^\d{4}(-Q[1-4])?$")


def aggregate_value_columns(outcome: Any, index: int) -> list[tuple[str, str]]:
    """The (value id, column) pairs of one aggregate (outcomes that are not money)."""
    meta = getattr(outcome, "aggregate_meta", None) or []
    return list(meta[index].values) if index < len(meta) else []


@dataclass(frozen=True)
class AggregateLine:
    """One line of an aggregate's explanation: for a term of the score formula, its value
    before the weight (平均得分), the weight (所占权重) and the weighted points (折合分数);
    for the other lines, the number in ``points``."""

    id: str
    label: str
    average: str
    weight: str
    points: str
    reason: str


def is_aggregate_period(period: str | None) -> bool:
    """A quarter (``2026-Q4``) or a year (``2026``): the period of an aggregate."""
    return period is not None and _AGG_PERIOD.match(period) is not None


def _agg_period(kind: str) -> pl.Expr:
    year = pl.col(PERIOD).str.slice(0, 4)
    if kind == "year":
        return year
    month = pl.col(PERIOD).str.slice(5, 2).cast(pl.Int32)
    return pl.concat_str([year, pl.lit("-Q"), ((month - 1) // 3 + 1).cast(pl.String)])


def _terms(node: Node, sign: int = 1) -> list[tuple[int, Node]]:
    """The signed terms of a sum: ``a + b - c`` → (+a), (+b), (−c)."""
    match node:
        case BinOp(op="+", left=a, right=b):
            return _terms(a, sign) + _terms(b, sign)
        case BinOp(op="-", left=a, right=b):
            return _terms(a, sign) + _terms(b, -sign)
    return [(sign, node)]


def _weighted(term: Node) -> tuple[Node, Decimal | None]:
    """A term's inner value and weight: ``round(mean(x) * 70%, 2)`` → (mean(x), 0.7)."""
    if isinstance(term, Call) and term.func == "round" and term.args:
        term = term.args[0]
    if isinstance(term, BinOp) and term.op == "*":
        if isinstance(term.right, Num):
            return term.left, term.right.value
        if isinstance(term.left, Num):
            return term.right, term.left.value
    if isinstance(term, BinOp) and term.op == "/" and isinstance(term.right, Num) \
            and term.right.value != 0:
        return term.left, Decimal(1) / term.right.value
    return term, None


def _calls(node: Node, acc: list[Call]) -> list[Call]:
    """The calls over the months (sum, mean, count …) in a formula, each once, in order."""
    from kaohe.engine.exprs import is_agg_call
    from kaohe.scheme.expr import outermost_calls, render

    for call in outermost_calls(node, is_agg_call):
        if all(render(c) != render(call) for c in acc):
            acc.append(call)
    return acc


def _number(e: pl.Expr) -> pl.Expr:
    """Two decimals where the value is a whole number of fen, else up to four (a raise of
    0.025 keeps its digits); ``—`` when blank."""
    d = e.cast(pl.Decimal(38, 10))
    cents = d.cast(pl.Decimal(38, 2)).cast(pl.Decimal(38, 10)) == d
    return pl.when(cents).then(two_expr(d)).otherwise(_plain4(d)).fill_null("—")


def _core(node: Node) -> Node:
    """What a value is at heart: ``round(x, 2)`` and ``coalesce(x, 0)`` are ``x``."""
    while isinstance(node, Call) and node.func in ("round", "coalesce") and node.args:
        node = node.args[0]
    return node


class _AggregateRenderer:
    """The texts of one aggregate's rows. The numbers come from the engine's aggregate
    columns (score, grade, rank, its ``compute`` and ``values`` entries, the period's own
    inputs); each call over the months (``mean(total)``) is worked out again here from the
    month rows, with the months' values in words."""

    def __init__(self, outcome: Any, index: int, lang: str, employee: str | None = None) -> None:
        from kaohe.engine.run import annual_inputs
        from kaohe.scheme.expr import render

        self.outcome = outcome
        self.employee = employee  # texts for this employee only (``kaohe explain``)
        self.plan: Plan = outcome.plan
        self.s: Scheme = self.plan.scheme
        meta = outcome.aggregate_meta[index]
        self.index = index
        self.spec = spec = meta.spec
        self.award_cols: list[tuple[str, str]] = list(meta.awards)
        self.flag_cols: list[tuple[str, str]] = list(meta.flags)
        self.value_cols: list[tuple[str, str]] = list(meta.values)
        self.r = Renderer(self.plan, lang)
        self.lang = lang
        self.en = lang == "en"
        self.g = self.r.g
        self.sep = "、" if not self.en else ", "
        self.computes = {c.id: c for c in spec.compute}
        self.reported = {v.id: v for v in spec.values}
        nodes = [c.formula.tree for c in spec.compute] + [v.formula.tree for v in spec.values]
        nodes += [spec.score.tree] + [a.amount.tree for a in spec.awards]
        nodes += [f.when.tree for f in spec.flags]
        self.calls: list[Call] = []
        for n in nodes:
            _calls(n, self.calls)
        self.call_cols = {render(c): f"__c{k}" for k, c in enumerate(self.calls)}
        agg_low = Lowering(dict(self.plan.symbols), self.s.tables, mode="agg")
        typed = {render(c): self._lower(agg_low, c, typed=True) for c in self.calls}
        call_types: dict[str, Any] = {k: t[1] for k, t in typed.items() if t is not None}
        syms: dict[str, Symbol] = {"score": Symbol("score", "num"),
                                   "months": Symbol("months", "num"),
                                   "rank": Symbol("rank", "num")}
        if spec.grades:
            syms["grade"] = Symbol("grade", "str")
        for ident in annual_inputs(self.plan, spec):
            syms[ident] = self.plan.symbols.get(ident, Symbol(C.input_col(ident), "num"))
        for c in spec.compute:
            syms[c.id] = Symbol(f"{C.AGG_COMPUTE}{c.id}", "num")
        for v in spec.values:
            syms[v.id] = Symbol(f"{C.AGG_VALUE}{v.id}", "num")
        self.syms = syms
        self.post = Lowering(syms, self.s.tables, mode="post_agg", agg_columns=self.call_cols,
                             agg_types=call_types)
        names = {k: self._own_label(o) for k, o in [*self.computes.items(),
                                                   *self.reported.items()]}
        self.names = names

    def _own_label(self, obj: Any) -> str:
        zh = str(getattr(obj, "label", "") or obj.id)
        return str(getattr(obj, "label_en", "") or zh) if self.en else zh

    def words(self, node: Node) -> str:
        return rule_words(self.s, node, self.lang, agg=True, names=self.names)

    def label(self, name: str) -> str:
        if name in self.names:
            return self.names[name]
        return _labels(self.s, self.lang, None, agg=True)(name)

    # -- the months, per employee and period -----------------------------------------------
    def monthly(self) -> pl.DataFrame:
        """Per employee and aggregate period: the months counted and not counted, each call
        over the months worked out again (``__c<k>``), its months' values in words
        (``__m<k>``) and how many values it read (``__n<k>``)."""
        frame: pl.DataFrame = self.outcome.frame
        if self.employee is not None:
            frame = frame.filter(pl.col(EMPLOYEE) == self.employee)
        monthly = pl.col(PERIOD).str.contains(r"^\d{4}-\d{2}$").fill_null(False)
        rows = (frame.filter(monthly).sort([EMPLOYEE, C.PIDX])
                .with_columns(_agg_period(self.spec.period).alias("__aggp")))
        keys = ["__aggp", EMPLOYEE]
        row_low = Lowering(dict(self.plan.symbols), self.s.tables)
        agg_low = Lowering(dict(self.plan.symbols), self.s.tables, mode="agg")
        helpers: list[pl.Expr] = []
        aggs: list[pl.Expr] = [pl.col(PERIOD).str.join(self.sep).alias("__months")]
        for k, call in enumerate(self.calls):
            value = self._lower(agg_low, call)
            aggs.append((value if value is not None else pl.lit(None, pl.Decimal(38, 10)))
                        .alias(f"__c{k}"))
            arg = call.args[0] if call.args else None
            shown = self._lower(row_low, arg, typed=True) if arg is not None else None
            if shown is None:
                continue
            expr, kind = shown
            if call.func in ("count", "any"):
                helpers.append(pl.when(expr.fill_null(False)).then(pl.col(PERIOD))
                               .alias(f"__m{k}"))
                aggs.append(pl.col(f"__m{k}").count().alias(f"__n{k}"))
            else:
                text = expr.cast(pl.String) if kind == "str" else _number(expr)
                if isinstance(arg, Call) and arg.func == "lookup" and len(arg.args) >= 2:
                    key = self._lower(row_low, arg.args[1], typed=True)
                    if key is not None:
                        key_text = (key[0].cast(pl.String) if key[1] == "str"
                                    else _number(key[0])).fill_null("—")
                        text = pl.concat_str([key_text, pl.lit(" → "), text])
                helpers.append(pl.when(expr.is_not_null()).then(pl.concat_str(
                    [pl.col(PERIOD), pl.lit(" "), text])).alias(f"__m{k}"))
                helpers.append(expr.alias(f"__v{k}"))
                aggs.append(pl.col(f"__v{k}").count().alias(f"__n{k}"))
            aggs.append(pl.col(f"__m{k}").drop_nulls().str.join(
                self.sep if call.func in ("count", "any") else " + ").alias(f"__m{k}"))
        scored = rows.filter(pl.col(ASSESSED)).with_columns(helpers)
        out = scored.group_by(keys, maintain_order=True).agg(aggs)
        skipped = (rows.filter(~pl.col(ASSESSED)).group_by(keys, maintain_order=True)
                   .agg(pl.col(PERIOD).str.join(self.sep).alias("__skipped")))
        return out.join(skipped, on=keys, how="full", coalesce=True).rename(
            {"__aggp": PERIOD})

    def _lower(self, low: Lowering, node: Node, typed: bool = False) -> Any:
        try:
            out = low.lower(node)
        except (ExprError, KaoheError):
            return None
        return (out.expr, out.type) if typed else out.expr

    # -- formulas with their values -------------------------------------------------------
    def value(self, node: Node, exact: bool | None = None) -> pl.Expr:
        """A formula's value for the aggregate row, as text (``—`` when it cannot be read):
        two decimals for points, or (``exact``; by default for inputs and reported values)
        as written, ``90``, ``0.3``."""
        if exact is None:
            from kaohe.engine.exprs import is_agg_call

            exact = (isinstance(node, Name) and node.id not in ("score", "months", "rank")
                     and (node.id in self.s.inputs or node.id in self.reported
                          or node.id in self.computes)) or (
                isinstance(node, Call) and not is_agg_call(node) and node.func != "round")
        low = self._lower(self.post, node, typed=True)
        if low is None:
            return pl.lit("—")
        expr: pl.Expr = low[0]
        kind: str = low[1]
        if kind == "str":
            return expr.cast(pl.String).fill_null("—")
        if kind == "bool":
            return pl.when(expr.fill_null(False)).then(pl.lit(self.g(N_("holds")))).otherwise(
                pl.lit(self.g(N_("does not hold"))))
        if (isinstance(node, Name) and node.id in ("rank", "months")) or (
                isinstance(node, Call) and node.func in ("count", "months")):
            return expr.cast(pl.Int64).cast(pl.String).fill_null("—")
        return _plain4(expr.cast(pl.Decimal(38, 10))).fill_null("—") if exact else _number(expr)

    def fx(self, node: Node) -> list[pl.Expr]:
        """A formula with every name and call over the months shown with its value."""
        from kaohe.engine.exprs import is_agg_call

        match node:
            case Num(value=v):
                shown = pct(v) if 0 < abs(v) < 1 else plain(abs(v))
                return [pl.lit(shown if v >= 0 else MINUS + shown)]
            case Str(value=text):
                return [pl.lit(f"「{text}」")]
            case Name(id=ident):
                return [pl.lit(f"{self.label(ident)} "), self.value(node)]
            case Neg(operand=o):
                inner = self.fx(o)
                if isinstance(o, BinOp):
                    inner = [pl.lit("("), *inner, pl.lit(")")]
                return [pl.lit(MINUS), *inner]
            case BinOp(op=op, left=a, right=b):
                return [*self._side(a, op, False), pl.lit(_OPS[op]), *self._side(b, op, True)]
            case Compare(op=op, left=a, right=b):
                return [*self.fx(a), pl.lit(_COMPARE[op]), *self.fx(b)]
            case BoolOp(op=op, operands=ops):
                sep = self.g(N_(" and ")) if op == "and" else self.g(N_(" or "))
                out: list[pl.Expr] = []
                for k, o in enumerate(ops):
                    out += ([pl.lit(sep)] if k else []) + self.fx(o)
                return out
            case Not(operand=o):
                return [pl.lit(self.g(N_("not "))), *self.fx(o)]
            case Call() if is_agg_call(node):
                return [pl.lit(f"{self.words(node)} "), self.value(node)]
            case Call(func="round" | "coalesce", args=args) if args:
                return self.fx(args[0])
            case Call(func="lookup", args=args) if len(args) >= 2:
                table = self.s.tables.get(args[0].id, {}) if isinstance(args[0], Name) else {}
                depth = table_depth(table) if table else 1
                keys: list[pl.Expr] = []
                for k, a in enumerate(args[1:1 + depth]):
                    keys += ([pl.lit(" × ")] if k else []) + self.fx(a)
                return [*keys, pl.lit(" → "), self.value(node, exact=True)]
            case Call(func=f, args=args):
                name = self.g(_FUNCTION_LABELS[f]) if f in _FUNCTION_LABELS else f
                parts: list[pl.Expr] = []
                for k, a in enumerate(args):
                    parts += ([pl.lit(", " if self.en else "，")] if k else []) + self.fx(a)
                return [pl.lit(f"{name}("), *parts, pl.lit(") "), self.value(node)]
        return [pl.lit("—")]

    def _side(self, child: Node, op: str, right: bool) -> list[pl.Expr]:
        parts = self.fx(child)
        if isinstance(child, BinOp):
            mine, theirs = _PRECEDENCE[op], _PRECEDENCE[child.op]
            if theirs < mine or (right and theirs == mine and op in "-/"):
                return [pl.lit("("), *parts, pl.lit(")")]
        return parts

    def equation(self, node: Node, result: pl.Expr) -> pl.Expr:
        """``formula with values = result``; a single name reads ``name value``, a choice
        its rule, the numbers it read and ``→ result``, a function its value once."""
        core = _core(node)
        if isinstance(core, Name | Num):
            return pl.concat_str(self.fx(core))
        if isinstance(core, Call) and core.func == "if":
            return pl.concat_str([pl.lit(self.words(core)), *self.read(core), pl.lit(" → "),
                                  result])
        if isinstance(core, Call):
            return pl.concat_str(self.fx(core))
        return pl.concat_str([*self.fx(node), pl.lit(" = "), result])

    def call_text(self, k: int) -> pl.Expr:
        """How a call over the months came out: ``(2026-01 83.60 + 2026-02 86.00) ÷ 2 =
        84.80``, ``2026-03、2026-07 → 2 months``."""
        r, call = self.r, self.calls[k]
        value = _number(pl.col(f"__c{k}"))
        listed = pl.col(f"__m{k}") if f"__m{k}" in self.columns else pl.lit(None, pl.String)
        count = (pl.col(f"__n{k}").cast(pl.String).fill_null("0") if f"__n{k}" in self.columns
                 else pl.lit("0"))
        if call.func == "months":
            return r.t(N_("%(n)s months"), n=pl.col("months").cast(pl.Int64).cast(pl.String))
        if call.func == "count":
            return r.t(N_("%(months)s → %(n)s months"),
                       months=listed.replace("", "—").fill_null("—"), n=count)
        if call.func == "any":
            return pl.concat_str([listed.replace("", "—").fill_null("—"), pl.lit(" → "),
                                  self.value(call)])
        if call.func == "sum":
            return pl.concat_str([listed.fill_null("—"), pl.lit(" = "), value])
        if call.func == "mean":
            return pl.concat_str([pl.lit("("), listed.fill_null("—"), pl.lit(") ÷ "), count,
                                  pl.lit(" = "), value])
        return pl.concat_str([listed.fill_null("—"), pl.lit(" → "), value])

    def explained(self, node: Node) -> pl.Expr:
        """How a term's value came about: the months of its call, or its own formula."""
        from kaohe.scheme.expr import render

        core = _core(node)
        if isinstance(core, Name) and core.id in self.computes:
            formula = self.computes[core.id].formula.tree
            if isinstance(_core(formula), Call) and render(_core(formula)) in self.call_cols:
                return self.explained(formula)
            return self.equation(formula, self.value(core, exact=False))
        if isinstance(core, Call) and render(core) in self.call_cols:
            k = next(i for i, c in enumerate(self.calls) if render(c) == render(core))
            return self.call_text(k)
        return self.equation(node, self.value(node, exact=False))

    # -- the texts -------------------------------------------------------------------------
    def texts(self) -> tuple[pl.DataFrame, list[tuple[str, str]]]:
        """The aggregate rows of the spec with one text column per line; and (line id,
        label) in the order of the form."""
        from kaohe.scheme.expr import render

        r, g, spec = self.r, self.g, self.spec
        node = spec.score.tree
        terms = [(sign, t, _weighted(t)) for sign, t in _terms(node)]
        part = self.outcome.aggregates.filter(pl.col("__spec") == self.index)
        # how many are ranked in each team and period (before keeping one employee's rows)
        part = part.with_columns(pl.col("rank").is_not_null().sum().over(COHORT)
                                 .alias("__ranked"))
        if self.employee is not None:
            part = part.filter(pl.col(EMPLOYEE) == self.employee)
        work = part.join(self.monthly(), on=[PERIOD, EMPLOYEE], how="left",
                         maintain_order="left")
        self.columns = set(work.columns)
        texts: dict[str, pl.Expr] = {}
        order: list[tuple[str, str]] = []
        n_months = pl.col("months").cast(pl.Int64).cast(pl.String).fill_null("0")
        skipped = pl.when(pl.col("__skipped").is_not_null()).then(
            r.t(N_("; not counted (not assessed): %(months)s"), months=pl.col("__skipped")))
        texts[AGG_MONTHS] = pl.concat_str([
            r.t(N_("%(months)s (%(n)s months)"), months=pl.col("__months").fill_null("—"),
                n=n_months), skipped.fill_null("")])
        order.append((AGG_MONTHS, g(N_("Months counted"))))
        # the score's terms, as the form's lines: 指标类型 | 平均得分 | 所占权重 | 折合分数
        used: set[str] = set()
        for k, (sign, term, (inner, weight)) in enumerate(terms):
            ident = f"term:{k}"
            core = _core(inner)
            used.add(render(core))
            if isinstance(core, Name) and core.id in self.computes:
                used.add(render(_core(self.computes[core.id].formula.tree)))
            how = self.explained(inner)
            term_value = self.value(term, exact=False)
            if weight is not None:
                how = pl.concat_str([how, pl.lit(f"; × {pct(weight)} = "), term_value])
            texts[ident] = how
            texts[f"avg:{k}"] = self.value(inner, exact=False)
            texts[f"weight:{k}"] = pl.lit(pct(weight) if weight is not None else "")
            texts[f"pts:{k}"] = pl.concat_str([pl.lit(MINUS if sign < 0 else ""), term_value])
            label = self.label(core.id) if isinstance(core, Name) else self.words(core)
            order.append((ident, label))
        # calls over the months inside the score that are not a term of their own
        for k, call in enumerate(self.calls):
            if render(call) not in used and _inside(call, node):
                texts[f"call:{k}"] = self.call_text(k)
                texts[f"call:{k}#n"] = self.value(call)
                order.append((f"call:{k}", self.words(call)))
        # the score
        score = _number(pl.col("score"))
        raw = self._lower(self.post, node)
        if len(terms) > 1:
            pieces: list[pl.Expr] = []
            for k, (sign, term, _) in enumerate(terms):
                if k or sign < 0:
                    pieces.append(pl.lit(f" {MINUS} " if sign < 0 else " + ") if k
                                  else pl.lit(MINUS))
                pieces.append(self.value(term, exact=False))
            body = pl.concat_str([*pieces, pl.lit(" = "),
                                  _number(raw) if raw is not None else score])
        else:
            body = pl.concat_str([pl.lit(self.words(node) + " = "),
                                  _number(raw) if raw is not None else score])
        if spec.round is not None and raw is not None:
            body = pl.concat_str([body, pl.when(raw != pl.col("score")).then(r.t(
                N_(", rounded half-up to %(n)s decimals = %(score)s"), n=str(spec.round),
                score=score)).fill_null("")])
        texts[AGG_SCORE] = body
        order.append((AGG_SCORE, g(N_("Score"))))
        if spec.grades:
            texts[AGG_GRADE] = self.grade(score)
            order.append((AGG_GRADE, g(N_("Grade"))))
        if "rank" in work.columns:
            n = pl.col("__ranked").cast(pl.String)
            texts[AGG_RANK] = pl.when(pl.col("rank").is_not_null()).then(r.t(
                N_("within the team by %(what)s high to low, then employee id: %(rank)s of "
                   "%(n)s"), what=g(N_("aggregate score")),
                rank=pl.col("rank").cast(pl.Int64).cast(pl.String), n=n))
            order.append((AGG_RANK, g(N_("Rank"))))
        # awards: the rule, the numbers it read, the amount
        for (aid, col), award in zip(self.award_cols, spec.awards, strict=True):
            texts[f"awards.{aid}"] = pl.concat_str([
                pl.lit(self.words(award.amount.tree)), *self.read(award.amount.tree),
                pl.lit(" → "), _number(pl.col(col))])
            texts[f"awards.{aid}#n"] = _number(pl.col(col))
            order.append((f"awards.{aid}", self._own_label(award)))
        # flags raised, each with its condition and the numbers it read
        shown_flags: list[pl.Expr] = []
        for (text, col), flag in zip(self.flag_cols, spec.flags, strict=True):
            name = (flag.label_en or text) if self.en else text
            open_, close = ("（", "）") if not self.en else (" (", ")")
            shown_flags.append(pl.when(pl.col(col).fill_null(False)).then(pl.concat_str(
                [pl.lit(f"{name}{open_}{self.words(flag.when.tree)}"),
                 *self.read(flag.when.tree), pl.lit(close)])))
        if shown_flags:
            joined = pl.concat_str(shown_flags, separator="；" if not self.en else "; ",
                                   ignore_nulls=True)
            texts[AGG_FLAGS] = pl.when(joined != "").then(joined)
            order.append((AGG_FLAGS, g(N_("Flags"))))
        # the steps not shown as a term (a step change before its range …), then the values
        for cid, comp in self.computes.items():
            if render(Name(cid)) in used:
                continue
            texts[f"compute.{cid}"] = self.equation(comp.formula.tree,
                                                     self.value(Name(cid), exact=True))
            texts[f"compute.{cid}#n"] = self.value(Name(cid), exact=True)
            order.append((f"compute.{cid}", self.names[cid]))
        for vid, col in self.value_cols:
            formula = self.reported[vid].formula.tree if vid in self.reported else None
            shown = _plain4(pl.col(col).cast(pl.Decimal(38, 10))).fill_null("—")
            texts[f"values.{vid}"] = (self.equation(formula, shown) if formula is not None
                                      else shown)
            texts[f"values.{vid}#n"] = shown
            order.append((f"values.{vid}", self.names.get(vid, vid)))
        return (work.select(PERIOD, EMPLOYEE,
                            *[e.cast(pl.String).alias(k) for k, e in texts.items()]), order)

    def grade(self, score: pl.Expr) -> pl.Expr:
        chain: pl.Expr = pl.lit(None, pl.String)
        grades = self.spec.grades or []
        for i, gr in enumerate(grades):
            shown = (gr.label_en or gr.name) if self.en else gr.name
            rng = getattr(gr, "range", None)
            if rng is not None:
                text = _interval(rng.text)
                rule = (f" {text[:1]} {text[1:]} → {shown}" if text[:1] in "<>≤≥="
                        else f" ∈ {text} → {shown}")
            elif gr.min is not None:
                rule = f" ≥ {plain(gr.min)} → {shown}"
            else:
                above = next((x.min for x in reversed(grades[:i]) if x.min is not None), None)
                rule = f" < {plain(above)} → {shown}" if above is not None else f" → {shown}"
            chain = pl.when(pl.col("grade") == gr.name).then(pl.lit(rule)).otherwise(chain)
        return pl.when(pl.col("grade").is_not_null()).then(pl.concat_str(
            [pl.lit(f"{self.g(N_('aggregate score'))} "), score, chain]))

    def read(self, node: Node) -> list[pl.Expr]:
        """``；名次 1，计入月数 3``: the numbers a rule read (its names and its calls over the
        months), or nothing."""
        found: list[pl.Expr] = []
        for name in _names_outside_calls(node):
            if name in self.syms:
                found.append(pl.concat_str([pl.lit(f"{self.label(name)} "),
                                            self.value(Name(name))]))
        for call in _calls(node, []):
            found.append(pl.concat_str([pl.lit(f"{self.words(call)} "), self.value(call)]))
        if not found:
            return []
        out: list[pl.Expr] = [pl.lit("；" if not self.en else "; ")]
        for k, f in enumerate(found):
            out += ([pl.lit("，" if not self.en else ", ")] if k else []) + [f]
        return out


def _inside(call: Call, node: Node) -> bool:
    from kaohe.scheme.expr import render

    return any(render(c) == render(call) for c in _calls(node, []))


def _names_outside_calls(node: Node) -> list[str]:
    """The names an aggregate's rule reads outside its calls over the months, in order."""
    from kaohe.engine.exprs import is_agg_call

    out: list[str] = []

    def walk(n: Node) -> None:
        match n:
            case Name(id=ident):
                if ident not in out:
                    out.append(ident)
            case Call() if is_agg_call(n):
                return
            case Call(func=f, args=args):
                for a in args[1:] if f == "lookup" else args:
                    walk(a)
            case Neg(operand=o) | Not(operand=o):
                walk(o)
            case BinOp(left=a, right=b) | Compare(left=a, right=b):
                walk(a)
                walk(b)
            case BoolOp(operands=ops):
                for o in ops:
                    walk(o)
            case _:
                pass

    walk(node)
    return out


def aggregate_reason_frame(outcome: Any, lang: str = "zh", *, employee: str | None = None,
                           ) -> list[tuple[int, pl.DataFrame, list[tuple[str, str]]]]:
    """For each aggregate of the scheme with rows: its index, its rows' texts (``period``,
    ``employee`` and one column per line: ``months``, ``term:<k>`` with ``avg:<k>``,
    ``weight:<k>`` and ``pts:<k>``, ``score``, ``grade``, ``rank``, ``awards.<id>``,
    ``flags``, ``compute.<id>``, ``values.<id>``; ``<line>#n`` its number) and the lines'
    (id, label) in the order of the form. ``employee``: that employee's rows only."""
    agg = outcome.aggregates
    if agg is None or agg.height == 0:
        return []
    out = []
    for i in range(len(outcome.aggregate_meta)):
        if agg.filter(pl.col("__spec") == i).height == 0:
            continue
        frame, order = _AggregateRenderer(outcome, i, lang, employee).texts()
        out.append((i, frame, order))
    return out


def _aggregate_grades(outcome: Any, index: int) -> list[Any]:
    return list(outcome.aggregate_meta[index].spec.grades or [])


def explain_aggregate(outcome: Any, employee: str, period: str,
                      lang: str = "zh") -> list[AggregateLine]:
    """The lines of one employee's quarter or year, in the order of the form."""
    agg = outcome.aggregates
    if agg is None or agg.height == 0:
        raise KaoheError("the scheme has no quarter or year results for this input")
    if agg.filter(pl.col(EMPLOYEE) == employee).height == 0:
        if outcome.frame.filter(pl.col(EMPLOYEE) == employee).height == 0:
            raise KaoheError(f"no row for employee {employee!r} in the input")
        raise KaoheError(f"employee {employee!r} has no quarter or year result")
    if agg.filter((pl.col(EMPLOYEE) == employee) & (pl.col(PERIOD) == period)).height == 0:
        known = ", ".join(sorted(set(agg.filter(pl.col(EMPLOYEE) == employee)[PERIOD]
                                     .to_list())))
        raise KaoheError(f"employee {employee!r} has no result for period {period!r} "
                         f"(quarters and years: {known})")
    lines: list[AggregateLine] = []
    for i, frame, order in aggregate_reason_frame(outcome, lang, employee=employee):
        hit = frame.filter((pl.col(EMPLOYEE) == employee) & (pl.col(PERIOD) == period))
        if hit.height == 0:
            continue
        row = hit.row(0, named=True)
        numbers = agg.filter((pl.col("__spec") == i) & (pl.col(EMPLOYEE) == employee)
                             & (pl.col(PERIOD) == period)).row(0, named=True)
        for ident, label in order:
            text = row.get(ident)
            if text is None:
                continue
            kind, _, key = ident.partition(":")
            average = weight = points = ""
            if kind == "term":
                average, weight, points = (row[f"avg:{key}"] or "", row[f"weight:{key}"] or "",
                                           row[f"pts:{key}"] or "")
            elif ident == AGG_MONTHS:
                points = plain(numbers["months"]) if numbers.get("months") is not None else ""
            elif ident == AGG_SCORE:
                points = two(numbers["score"])
            elif ident == AGG_GRADE and numbers.get("grade") is not None:
                grade = str(numbers["grade"])
                points = next(((gr.label_en or gr.name) if lang == "en" else gr.name
                               for gr in _aggregate_grades(outcome, i) if gr.name == grade),
                              grade)
            elif ident == AGG_RANK and numbers.get("rank") is not None:
                points = plain(numbers["rank"])
            elif row.get(f"{ident}#n") is not None:
                points = row[f"{ident}#n"]
            lines.append(AggregateLine(ident, label, average, weight, points, text))
    return lines

