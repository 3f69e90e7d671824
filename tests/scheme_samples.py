"""Input tables made up for any scheme: every input filled with a plausible value of its
type, several employees in two teams and two months. For tests that must run every scheme
(the docs' examples, every preset's reasons), not for checking numbers."""

from __future__ import annotations

import csv
import io
import random
from decimal import Decimal

from kaohe.scheme.models import InputSpec, Scheme


def _value(rng: random.Random, spec: InputSpec) -> str:
    lo = spec.min if spec.min is not None else None
    hi = spec.max if spec.max is not None else None
    match spec.type:
        case "level":
            assert spec.levels is not None
            return rng.choice(list(spec.levels))
        case "flag":
            return rng.choice(["0", "1", "1"])
        case "count":
            top = int(hi) if hi is not None else 4
            return str(rng.randint(int(lo or 0), max(int(lo or 0), top)))
        case "ratio":
            return f"{rng.uniform(0.80, 1.0) * 100:.1f}%"
        case "money":
            return f"{rng.uniform(1000, 150000):.2f}"
        case _:
            a = Decimal(lo) if lo is not None else Decimal(0)
            b = Decimal(hi) if hi is not None else Decimal(3)
            return format(a + (b - a) * Decimal(rng.randint(0, 100)) / 100, "f")


def sample_csv(scheme: Scheme, *, employees: int = 5, seed: int = 7) -> str:
    rng = random.Random(seed)
    header = ["employee", "team", "period"]
    for ident, spec in scheme.inputs.items():
        header += [f"{ident}@{r}" for r in spec.raters] if spec.raters else [ident]
    periods = {"month": ["2026-10", "2026-11"], "quarter": ["2026-10"],
               "year": ["2026-10"]}[scheme.period]
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(header)
    team_values: dict[tuple[str, str, str], str] = {}
    for period in periods:
        for e in range(employees):
            team = "A" if e % 2 == 0 else "B"
            row = [f"E{e:02d}", team, period]
            for ident, spec in scheme.inputs.items():
                if spec.raters:
                    row += [_value(rng, spec) for _ in spec.raters]
                    continue
                value = _value(rng, spec)
                if spec.team_level:
                    value = team_values.setdefault((ident, team, period), value)
                row.append(value)
            w.writerow(row)
    # the year / quarter rows of inputs that belong to them (`period: year` / `quarter`)
    for kind, period in (("year", "2026"), ("quarter", "2026-Q4")):
        if not any(spec.period == kind for spec in scheme.inputs.values()):
            continue
        for e in range(employees):
            row = [f"E{e:02d}", "A" if e % 2 == 0 else "B", period]
            for spec in scheme.inputs.values():
                cells = len(spec.raters) if spec.raters else 1
                row += [_value(rng, spec) if spec.period == kind else "" for _ in range(cells)]
            w.writerow(row)
    return out.getvalue()


def sample_items_csv(scheme: Scheme, name: str, *, employees: int = 5, seed: int = 11) -> str:
    """An item table for the periods and employees of :func:`sample_csv`: none to three rows
    per employee and month."""
    rng = random.Random(seed)
    spec = scheme.items[name]
    periods = {"month": ["2026-10", "2026-11"], "quarter": ["2026-10"],
               "year": ["2026-10"]}[scheme.period]
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["employee", "period", *spec.columns])
    for period in periods:
        for e in range(employees):
            for _ in range(rng.randint(0, 3)):
                w.writerow([f"E{e:02d}", period,
                            *[_value(rng, c) for c in spec.columns.values()]])
    return out.getvalue()
