"""Who may see which appraisal. A record you may not see answers 404, never 403."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.orm import Session

from kaohe.store.models import Appraisal, Employee, User
from kaohe.workflow.errors import NotFound


def sees_everyone(user: User) -> bool:
    return any(r in user.roles for r in ("hr", "admin", "manager"))


def visible_appraisals(user: User) -> Select[Appraisal]:
    """The appraisals a user may see, as a query (row-level visibility)."""
    q = select(Appraisal).join(Employee, Employee.id == Appraisal.employee_id)
    if sees_everyone(user):
        return q
    conds: list[ColumnElement[bool]] = []
    if "supervisor" in user.roles and user.team_ids:
        conds.append(Employee.team_id.in_(list(user.team_ids)))
    if user.employee_id is not None:
        conds.append(Appraisal.employee_id == user.employee_id)
    return q.where(or_(*conds) if conds else false())


def get_visible(session: Session, user: User, appraisal_id: int) -> Appraisal:
    app = session.scalar(visible_appraisals(user).where(Appraisal.id == appraisal_id))
    if app is None:
        raise NotFound(f"no appraisal {appraisal_id}")
    return app
