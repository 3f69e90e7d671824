"""Results as plain data: the JSON contract of rulebook section 5, and per-row records."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl

from kaohe.columns import ASSESSED, EMPLOYEE, NAME, PERIOD, TEAM, InputTable
from kaohe.engine.run import Outcome
from kaohe.numbers import to_json_number


def _num(v: Any) -> Any:
    if isinstance(v, Decimal):
        return to_json_number(v)
    return v


def result_records(outcome: Outcome, table: InputTable) -> list[dict[str, Any]]:
    plan = outcome.plan
    f = outcome.frame
    cols = [PERIOD, EMPLOYEE, TEAM, ASSESSED]
    if table.has_name and NAME in f.columns:
        cols.append(NAME)
    for c in ("total", "grade", "coefficient", "rank", "pay_total"):
        if c in f.columns:
            cols.append(c)
    ind_cols = [c for _, c in plan.indicator_columns]
    pay_cols = [c for _, c in plan.pay_columns]
    flag_cols = [c for _, c in plan.flag_columns]
    sec_cols = [c for _, c in plan.section_columns]
    data = f.select(cols + ind_cols + sec_cols + pay_cols + flag_cols).sort(
        [PERIOD, TEAM, EMPLOYEE], nulls_last=False).to_dict(as_series=False)
    out: list[dict[str, Any]] = []
    for i in range(f.height):
        assessed = bool(data[ASSESSED][i])
        rec: dict[str, Any] = {
            "period": data[PERIOD][i] if table.has_period or data[PERIOD][i] else None,
            "employee": data[EMPLOYEE][i],
        }
        if NAME in data:
            rec["name"] = data[NAME][i]
        rec["team"] = data[TEAM][i] if table.has_team else None
        rec["total"] = _num(data["total"][i]) if "total" in data else None
        rec["grade"] = data["grade"][i] if "grade" in data else None
        rec["coefficient"] = _num(data["coefficient"][i]) if "coefficient" in data else None
        rec["rank"] = _num(data["rank"][i]) if "rank" in data else None
        rec["indicators"] = (
            {ident: _num(data[col][i]) for ident, col in plan.indicator_columns
             if not (ident in plan.applies and data[col][i] is None)}  # 不适用: left out
            if assessed else {}
        )
        rec["sections"] = (
            {ident: _num(data[col][i]) for ident, col in plan.section_columns}
            if assessed else {}
        )
        if plan.pay_columns and assessed:
            pay = {ident: _num(data[col][i]) for ident, col in plan.pay_columns}
            pay["total"] = _num(data["pay_total"][i])
        else:
            pay = {}
        rec["pay"] = pay
        rec["flags"] = [flag for flag, col in plan.flag_columns if data[col][i]]
        rec["excluded"] = not assessed
        out.append(rec)
    return out


def aggregate_records(outcome: Outcome, table: InputTable) -> list[dict[str, Any]]:
    agg = outcome.aggregates
    if agg is None:
        return []
    out: list[dict[str, Any]] = []
    for spec_i, meta in enumerate(outcome.aggregate_meta):
        part = agg.filter(pl.col("__spec") == spec_i)
        cols = [PERIOD, EMPLOYEE, TEAM, "score", "grade", "rank", "months"]
        cols += [c for _, c in meta.awards] + [c for _, c in meta.flags]
        cols += [c for _, c in meta.values]
        data = part.select(cols).to_dict(as_series=False)
        for i in range(part.height):
            awards = {}
            for aid, col in meta.awards:
                v = data[col][i]
                if v is not None and v != 0:
                    awards[aid] = _num(v)
            out.append({
                "period": data[PERIOD][i],
                "employee": data[EMPLOYEE][i],
                "team": data[TEAM][i] if table.has_team else None,
                "score": _num(data["score"][i]),
                "grade": data["grade"][i],
                "rank": _num(data["rank"][i]),
                "months": _num(data["months"][i]),
                "flags": [flag for flag, col in meta.flags if data[col][i]],
                "awards": awards,
                "values": {vid: _num(data[col][i]) for vid, col in meta.values},
            })
    return out


def to_document(outcome: Outcome, table: InputTable, *, reasons: bool = False
                ) -> dict[str, Any]:
    records = result_records(outcome, table)
    if reasons:
        from kaohe.engine.explain import short_reasons

        for rec, why in zip(records, short_reasons(outcome.plan, outcome.frame), strict=True):
            rec["reasons"] = why
    return {
        "scheme": outcome.plan.scheme.id,
        "results": records,
        "aggregates": aggregate_records(outcome, table),
        "warnings": list(outcome.warnings),
    }
