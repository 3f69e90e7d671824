"""The engine's front door: a scheme and an input table in, an outcome out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kaohe.columns import InputTable
from kaohe.engine.checks import check_required
from kaohe.engine.plan import Plan, compile_scheme
from kaohe.engine.run import Outcome, run
from kaohe.ingest.table import read_table
from kaohe.scheme.models import Scheme


@dataclass
class Scored:
    scheme: Scheme
    table: InputTable
    outcome: Outcome


_PLANS: dict[int, tuple[Scheme, Plan]] = {}


def plan_for(scheme: Scheme) -> Plan:
    """Compile a scheme once and reuse its plan."""
    hit = _PLANS.get(id(scheme))
    if hit is not None and hit[0] is scheme:
        return hit[1]
    plan = compile_scheme(scheme)
    _PLANS[id(scheme)] = (scheme, plan)
    return plan


def score_table(scheme: Scheme, table: InputTable) -> Scored:
    plan = plan_for(scheme)
    table = check_required(plan, table)
    return Scored(scheme, table, run(plan, table.frame))


def score_file(scheme: Scheme, path: str | Path | list[Path], *,
               period: str | None = None) -> Scored:
    return score_table(scheme, read_table(path, scheme, default_period=period))
