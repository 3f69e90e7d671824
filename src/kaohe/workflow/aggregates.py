"""Quarter and year results as people may see them: an agent their own (as of their newest
published month), a scorecard the ones of its month, HR, managers and supervisors the
awards and outcomes of the teams they look after. Who sees what is the appraisals' rule
(:mod:`kaohe.workflow.permissions`): an aggregate is shown with the appraisal of the same
employee and cycle, and to the employee only once that appraisal is published."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from kaohe.store.models import AggregateResult, Appraisal, Cycle, Employee, User
from kaohe.workflow import permissions
from kaohe.workflow.schemes import scheme_of

#: at most this many aggregates on one page (a large company's year: filter by team)
LIMIT = 2000


def _query(user: User) -> Any:
    visible = permissions.visible_appraisals(user).subquery()
    return (select(AggregateResult, Cycle.period, Appraisal.state, Employee.code, Employee.name)
            .join(Cycle, Cycle.id == AggregateResult.cycle_id)
            .join(Appraisal, and_(Appraisal.cycle_id == AggregateResult.cycle_id,
                                  Appraisal.employee_id == AggregateResult.employee_id))
            .join(visible, visible.c.id == Appraisal.id)
            .join(Employee, Employee.id == AggregateResult.employee_id)
            .where(AggregateResult.is_current.is_(True)))


def _view(session: Session, agg: AggregateResult, as_of: str, code: str, name: str,
          labels: dict[str, str]) -> dict[str, Any]:
    """One aggregate for a page. Awards the scheme does not pay (``paid: false``, such as a
    raise ratio) are outcomes: they are listed with the values, not as money."""
    p = agg.payload or {}
    awards: dict[str, Any] = {}
    # each award's shown name: (label, English label), by id
    names: dict[str, tuple[str, str]] = {}
    # outcomes: (label, English label, value)
    values: list[tuple[str, str, Any]] = []
    # the same outcomes by id (the JSON API's ``values``)
    by_id: dict[str, Any] = dict(p.get("values") or {})
    for vid, value in (p.get("values") or {}).items():
        key = f"{agg.scheme_id}:{agg.kind}:value:{vid}"
        values.append((labels.get(key, vid), labels.get(key + ":en", vid), value))
    for award, amount in (p.get("awards") or {}).items():
        key = f"{agg.scheme_id}:{agg.kind}:award:{award}"
        names[award] = (labels.get(key, award), labels.get(key + ":en", award))
        if f"{agg.scheme_id}:{agg.kind}:{award}" in labels:
            values.append((*names[award], amount))
            by_id[award] = amount
        else:
            awards[award] = amount
    return {"scheme": agg.scheme_id, "label": labels.get(f"{agg.scheme_id}:{agg.kind}", ""),
            "period": agg.period, "kind": agg.kind, "as_of": as_of, "closes": agg.closes,
            "employee": code, "name": name, "team": agg.team_code, "score": p.get("score"),
            "grade": agg.grade, "rank": agg.rank, "months": agg.months,
            "flags": list(p.get("flags") or []), "awards": awards, "award_names": names,
            "outcomes": values, "values": by_id, "at": agg.created_at}


def _labels(session: Session, cycle_ids: set[int]) -> dict[str, str]:
    """Each scheme's aggregate labels (``季度累计``), by ``scheme:quarter|year``; its awards
    that are not paid, by ``scheme:quarter|year:award``; its awards' and values' labels, by
    ``scheme:quarter|year:award:id`` and ``scheme:quarter|year:value:id`` (``…:en`` in
    English)."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for cycle in session.scalars(select(Cycle).where(Cycle.id.in_(sorted(cycle_ids)))):
        if cycle.scheme_id in seen:
            continue
        seen.add(cycle.scheme_id)
        for spec in scheme_of(cycle.scheme_version).aggregates:
            out.setdefault(f"{cycle.scheme_id}:{spec.period}", spec.label)
            for award in spec.awards:
                if not award.paid:
                    out[f"{cycle.scheme_id}:{spec.period}:{award.id}"] = award.id
                key = f"{cycle.scheme_id}:{spec.period}:award:{award.id}"
                out[key] = award.label or award.id
                out[key + ":en"] = award.label_en or award.label or award.id
            for value in spec.values:
                key = f"{cycle.scheme_id}:{spec.period}:value:{value.id}"
                out[key] = value.label or value.id
                out[key + ":en"] = value.label_en or value.label or value.id
    return out


def my_aggregates(session: Session, *, user: User) -> list[dict[str, Any]]:
    """The user's own quarters and years, each as of the newest month whose result they may
    see (published), newest first."""
    if user.employee_id is None:
        return []
    rows = session.execute(_query(user).where(AggregateResult.employee_id == user.employee_id)
                           .order_by(Cycle.period.desc()).limit(LIMIT)).all()
    newest: dict[tuple[str, str], Any] = {}
    for r in rows:
        if permissions.results_hidden(user, user.employee_id, r.state):
            continue
        newest.setdefault((r[0].scheme_id, r[0].period), r)
    labels = _labels(session, {r[0].cycle_id for r in newest.values()})
    out = [_view(session, r[0], r.period, r.code, r.name, labels) for r in newest.values()]
    out.sort(key=lambda a: (a["period"], a["kind"] == "year"), reverse=True)
    return out


def appraisal_aggregates(session: Session, *, user: User, appraisal: Appraisal
                         ) -> list[dict[str, Any]]:
    """The quarter and year of an appraisal's employee as of its month (none while the
    results are hidden from the viewer)."""
    if not permissions.sees_results(user, appraisal):
        return []
    rows = session.execute(_query(user).where(
        AggregateResult.cycle_id == appraisal.cycle_id,
        AggregateResult.employee_id == appraisal.employee_id)).all()
    labels = _labels(session, {appraisal.cycle_id})
    out = [_view(session, r[0], r.period, r.code, r.name, labels) for r in rows]
    out.sort(key=lambda a: a["kind"] == "year")
    return out


def team_aggregates(session: Session, *, user: User, period: str | None,
                    team: str | None = None) -> dict[str, Any]:
    """The quarters and years of the cycles of ``period`` (a month), per team, of the
    appraisals the user may see: each team's people by rank, with their awards, flags and
    values, and the sum of the awards per team (what the quarter or year pays)."""
    if period is None or not permissions.is_staff(user):
        return {"groups": [], "truncated": False}
    q = _query(user).where(Cycle.period == period)
    if team:
        q = q.where(AggregateResult.team_code == team)
    rows = session.execute(q.order_by(AggregateResult.scheme_id, AggregateResult.period,
                                      AggregateResult.team_code, AggregateResult.rank,
                                      Employee.code).limit(LIMIT + 1)).all()
    truncated = len(rows) > LIMIT
    rows = [r for r in rows[:LIMIT]
            if not permissions.results_hidden(user, r[0].employee_id, r.state)]
    labels = _labels(session, {r[0].cycle_id for r in rows})
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:
        view = _view(session, r[0], r.period, r.code, r.name, labels)
        key = (view["scheme"], view["period"], view["team"])
        g = groups.setdefault(key, {"scheme": key[0], "period": key[1], "team": key[2],
                                    "label": view["label"], "kind": view["kind"],
                                    "closes": view["closes"], "rows": [], "awards": {},
                                    "award_names": {}})
        g["rows"].append(view)
        g["award_names"].update(view["award_names"])
        for award, amount in view["awards"].items():
            g["awards"][award] = g["awards"].get(award, Decimal(0)) + Decimal(str(amount))
    for g in groups.values():
        g["rows"].sort(key=lambda v: (v["rank"] is None, v["rank"] or 0, v["employee"]))
    ordered = sorted(groups.values(), key=lambda g: (g["scheme"], g["kind"] == "year",
                                                     g["period"], g["team"]))
    return {"groups": ordered, "truncated": truncated}
