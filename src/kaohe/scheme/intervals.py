"""Interval notation for bands: ``>=100%``, ``[90%,100%)``, ``(30,45]``, ``<=30``, ``<40%``.

A band table must cover the whole number line with no overlap and no gap; a table that
leaves a boundary value uncovered (``[50,60) → 4; >60 → 0`` leaves 60) is rejected.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from kaohe.numbers import parse_number

_NUM = r"-?\d+(?:\.\d+)?\s*(?:%|‰)?"
_HALF = re.compile(rf"^(>=|≥|>|<=|≤|<|=)\s*({_NUM})$")
_RANGE = re.compile(rf"^([\[(])\s*({_NUM})\s*,\s*({_NUM})\s*([\])])$")


@dataclass(frozen=True, order=False)
class Interval:
    lo: Decimal | None  # None: unbounded below
    lo_closed: bool
    hi: Decimal | None  # None: unbounded above
    hi_closed: bool
    text: str

    def contains(self, x: Decimal) -> bool:
        if self.lo is not None and (x < self.lo or (x == self.lo and not self.lo_closed)):
            return False
        return not (
            self.hi is not None and (x > self.hi or (x == self.hi and not self.hi_closed))
        )

    def describe(self) -> str:
        return self.text


class IntervalSyntaxError(ValueError):
    pass


def _num(text: str) -> Decimal:
    try:
        return parse_number(text.replace(" ", ""))
    except (InvalidOperation, ValueError) as exc:
        raise IntervalSyntaxError(f"not a number: {text!r}") from exc


def parse_interval(text: str) -> Interval:
    raw = str(text).strip()
    m = _HALF.match(raw)
    if m:
        op, num = m.group(1), _num(m.group(2))
        if op in (">=", "≥"):
            return Interval(num, True, None, False, raw)
        if op == ">":
            return Interval(num, False, None, False, raw)
        if op in ("<=", "≤"):
            return Interval(None, False, num, True, raw)
        if op == "<":
            return Interval(None, False, num, False, raw)
        return Interval(num, True, num, True, raw)  # "=X"
    m = _RANGE.match(raw)
    if m:
        lo, hi = _num(m.group(2)), _num(m.group(3))
        if lo > hi or (lo == hi and not (m.group(1) == "[" and m.group(4) == "]")):
            raise IntervalSyntaxError(f"empty interval {raw!r}: the lower end must be below the upper")
        return Interval(lo, m.group(1) == "[", hi, m.group(4) == "]", raw)
    raise IntervalSyntaxError(
        f"cannot read band {raw!r}; write it as >=X, >X, <=X, <X, [a,b), (a,b], [a,b] or (a,b) "
        "(X may be a percent such as 95%)"
    )


def _lo_key(iv: Interval) -> tuple[int, Decimal, int]:
    if iv.lo is None:
        return (0, Decimal(0), 0)
    return (1, iv.lo, 0 if iv.lo_closed else 1)


def _fmt(x: Decimal) -> str:
    return format(x.normalize(), "f")


def order_and_check(intervals: list[Interval]) -> list[int]:
    """Return the band indexes ordered from the lowest interval up.

    Raises ``ValueError`` when two bands overlap or a value is left uncovered. A top band
    written closed (``[90,100]``, ``=100%``) is read as open-ended: nothing is left above.
    """
    order = sorted(range(len(intervals)), key=lambda i: _lo_key(intervals[i]))
    ivs = [intervals[i] for i in order]
    first = ivs[0]
    if first.lo is not None:
        edge = "below" if first.lo_closed else "at or below"
        raise ValueError(
            f"gap: values {edge} {_fmt(first.lo)} fall in no band (lowest band is {first.text!r})"
        )
    for a, b in itertools.pairwise(ivs):
        if a.hi is None:
            raise ValueError(f"bands {a.text!r} and {b.text!r} overlap")
        assert b.lo is not None
        if b.lo < a.hi or (b.lo == a.hi and a.hi_closed and b.lo_closed):
            raise ValueError(f"bands {a.text!r} and {b.text!r} overlap at {_fmt(b.lo)}")
        if b.lo > a.hi:
            raise ValueError(
                f"gap: values between {_fmt(a.hi)} and {_fmt(b.lo)} fall in no band "
                f"({a.text!r} ends, {b.text!r} starts)"
            )
        if not a.hi_closed and not b.lo_closed:
            raise ValueError(
                f"gap: the value {_fmt(a.hi)} falls in no band ({a.text!r} excludes it, "
                f"so does {b.text!r})"
            )
    return order


def open_top(iv: Interval) -> Interval:
    """A closed top band (``[90,100]``) read as open-ended (``>=90``)."""
    if iv.hi is not None and iv.hi_closed:
        return Interval(iv.lo, iv.lo_closed, None, False, iv.text)
    return iv


def open_ended(intervals: list[Interval]) -> list[Interval]:
    """The intervals with the top one, when written closed (``[90,100]``, ``=100%``) and
    nothing lies above it, read as open-ended (rulebook §6)."""
    ivs = list(intervals)
    top = max(
        (i for i, iv in enumerate(ivs) if iv.hi is not None),
        key=lambda i: (ivs[i].hi, ivs[i].hi_closed),
        default=None,
    )
    if top is None:
        return ivs
    hi = ivs[top].hi
    assert hi is not None
    if ivs[top].hi_closed and not any(
        iv.lo is not None and iv.lo >= hi for j, iv in enumerate(ivs) if j != top
    ) and not any(iv.hi is None for iv in ivs):
        ivs[top] = open_top(ivs[top])
    return ivs
