"""Who may set what, when: the one place the rules live.

The services ask here before they change anything; the pages and the API ask the same
functions to decide what to show (a button, a rating form, a result). Nothing else in the
code base looks at a user's roles.

Three ideas:

* a user's **roles** (:class:`Role`: agent, supervisor, manager, hr, admin) say what they
  are in the organisation;
* their **capacity** on one appraisal (:class:`Capacity`) says what they are *to that
  appraisal*: its own employee, a supervisor or manager of the employee's team, HR, or a
  colleague. Own excludes every other capacity: nobody acts on their own appraisal in a
  second role (a supervisor appraised in their own team cannot rate or approve it, HR
  cannot correct their own result);
* the **rules** are tables: :data:`RATING_RULES` (which rater role needs which capacity
  and rates in which appraisal state), :data:`ACTIONS` (the other actions on one
  appraisal) and the transition tables of :mod:`kaohe.workflow.states`, whose ``roles``
  are capacities too.

A rating is accepted only for an input the scheme declares as rated by that rater role
(``rater: supervisor`` or ``raters: [self, supervisor, manager]``); an input the scheme
does not declare as rated is imported, and nobody can rate over it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.orm import Session

from kaohe.store.models import Appraisal, Employee, Role, User
from kaohe.store.models import AppraisalState as A
from kaohe.text import N_, Term, Terms, Text
from kaohe.workflow.errors import Invalid, NotAllowed, NotFound, WorkflowError

if TYPE_CHECKING:
    from kaohe.scheme.models import InputSpec
    from kaohe.workflow.audit import Actor

__all__ = ["ACTIONS", "RATING_RULES", "RESULT_STATES", "Capacity", "RaterRole", "Role"]


class Capacity(enum.StrEnum):
    """What a user is to one appraisal."""

    own = "own"  # the appraised employee
    supervisor = "supervisor"  # a supervisor of the employee's team
    manager = "manager"  # a manager (of the employee's team, when they have teams)
    hr = "hr"  # HR or an admin
    colleague = "colleague"  # another employee (a peer)


class RaterRole(enum.StrEnum):
    """The role a rating is given in, as a scheme names its raters."""

    self = "self"
    peer = "peer"
    supervisor = "supervisor"
    manager = "manager"


#: the names a scheme may use for a rater (``rater: 主管``) and the rater role they mean
RATER_NAMES: dict[str, RaterRole] = {
    "self": RaterRole.self, "本人": RaterRole.self, "自评": RaterRole.self,
    "peer": RaterRole.peer, "同事": RaterRole.peer,
    "supervisor": RaterRole.supervisor, "主管": RaterRole.supervisor, "组长": RaterRole.supervisor,
    "manager": RaterRole.manager, "经理": RaterRole.manager, "区域经理": RaterRole.manager,
}

STAFF = frozenset({Role.supervisor, Role.manager, Role.hr, Role.admin})
HR = frozenset({Role.hr, Role.admin})
#: roles that see every team's appraisals
SEES_EVERYONE = frozenset({Role.manager, Role.hr, Role.admin})

#: the appraisal states in which its results are published: only then does the appraised
#: employee see total, grade, rank, pay and the other raters' ratings
RESULT_STATES = frozenset({A.published, A.acknowledged, A.appealed, A.resolved, A.closed})


@dataclass(frozen=True)
class RatingRule:
    role: RaterRole
    capacity: Capacity
    states: frozenset[A]


#: a rater role rates only in the capacity it names and only while the appraisal is in
#: the state that role works in
RATING_RULES: dict[RaterRole, RatingRule] = {r.role: r for r in [
    RatingRule(RaterRole.self, Capacity.own, frozenset({A.self_review})),
    RatingRule(RaterRole.peer, Capacity.colleague, frozenset({A.self_review,
                                                              A.supervisor_review})),
    RatingRule(RaterRole.supervisor, Capacity.supervisor, frozenset({A.supervisor_review})),
    RatingRule(RaterRole.manager, Capacity.manager, frozenset({A.second_review})),
]}


@dataclass(frozen=True)
class Rule:
    """Who may do an action on one appraisal, and in which of its states (empty: any)."""

    capacities: frozenset[Capacity]
    states: frozenset[A]
    what: str  # as a message names it
    #: the refusal in any other state (``%(id)s``, ``%(state)s``); a generic one if empty
    refusal: str = ""


def _rule(caps: set[Capacity], states: set[A], what: str, refusal: str = "") -> Rule:
    return Rule(frozenset(caps), frozenset(states), what, refusal)


_OPEN = {A.self_review, A.supervisor_review}
_AFTER = {A.published, A.acknowledged, A.appealed, A.resolved, A.closed}

#: the actions on one appraisal besides the state transitions and ratings
ACTIONS: dict[str, Rule] = {
    "record_incident": _rule({Capacity.supervisor, Capacity.hr}, _OPEN,
                             N_("record incidents for"),
                             N_("appraisal %(id)s is %(state)s; record the incident in the "
                                "next cycle or through an HR correction")),
    "change_incident": _rule({Capacity.supervisor, Capacity.hr}, _OPEN,
                             N_("correct or remove incidents of")),
    "see_incident_notes": _rule({Capacity.supervisor, Capacity.manager, Capacity.hr}, set(),
                                N_("read the incident notes of")),
    "record_feedback": _rule({Capacity.supervisor, Capacity.hr}, _AFTER,
                             N_("record the feedback meeting of"),
                             N_("appraisal %(id)s is %(state)s; the feedback meeting follows "
                                "the published result")),
    "correct": _rule({Capacity.hr}, set(RESULT_STATES), N_("correct")),
    "decide_appeal": _rule({Capacity.hr}, {A.appealed}, N_("decide the appeal of")),
    "resolve_appeal": _rule({Capacity.hr}, {A.appealed}, N_("resolve the appeal of")),
    # appeal evidence: the appellant attaches it; only they and HR see it
    "attach_evidence": _rule({Capacity.own}, {A.appealed}, N_("attach evidence to the appeal of")),
    "see_evidence": _rule({Capacity.own, Capacity.hr}, set(), N_("see the appeal evidence of")),
}


# -- who someone is ---------------------------------------------------------------------
def roles_of(actor: Actor) -> frozenset[Role]:
    return frozenset(Role(r) for r in actor.roles if r in Role.__members__)


def user_of(session: Session, actor: Actor) -> User | None:
    return session.get(User, actor.user_id) if actor.user_id is not None else None


def capacities(actor: Actor, user: User | None, app: Appraisal) -> frozenset[Capacity]:
    """What ``actor`` (with its user, when it has one) is to ``app``. The appraised
    employee is only ``own``, whatever else their roles say."""
    if user is not None and user.employee_id is not None and user.employee_id == app.employee_id:
        return frozenset({Capacity.own})
    roles = roles_of(actor)
    out: set[Capacity] = set()
    if roles & HR:
        out.add(Capacity.hr)
    team = app.employee.team_id
    teams = set(user.team_ids or []) if user is not None else set()
    if Role.supervisor in roles and user is not None and team in teams:
        out.add(Capacity.supervisor)
    if Role.manager in roles and (not teams or team in teams):
        out.add(Capacity.manager)
    if user is not None and user.employee_id is not None and not out & {
            Capacity.supervisor, Capacity.manager}:
        out.add(Capacity.colleague)  # (a team's supervisor rates it as its supervisor only)
    return frozenset(out)


def has_role(actor: Actor, roles: frozenset[Role]) -> bool:
    return bool(roles_of(actor) & roles)


def require(actor: Actor, roles: frozenset[Role], what: str) -> None:
    """An action on a whole cycle (open, import, score, move everyone on, publish)."""
    if not has_role(actor, roles):
        raise NotAllowed(Text(N_("%(user)s may not %(what)s (needs role %(roles)s)"),
                              user=actor.username, what=what,
                              roles=" or ".join(sorted(r.value for r in roles))))


def allows(rule: Rule, caps: frozenset[Capacity], state: A | None = None) -> bool:
    return bool(rule.capacities & caps) and (
        state is None or not rule.states or state in rule.states)


def check(session: Session, actor: Actor, app: Appraisal, action: str) -> frozenset[Capacity]:
    """Refuse ``action`` on ``app`` unless the actor's capacity and the state allow it."""
    rule = ACTIONS[action]
    caps = capacities(actor, user_of(session, actor), app)
    if not rule.capacities & caps:
        raise NotAllowed(Text(N_("%(user)s may not %(what)s appraisal %(id)s"),
                              user=actor.username, what=Term(action, rule.what), id=app.id))
    if rule.states and app.state not in rule.states:
        from kaohe.workflow.states import state_term

        if rule.refusal:
            raise WorkflowError(Text(rule.refusal, id=app.id, state=state_term(app.state.value)))
        raise WorkflowError(Text(N_("appraisal %(id)s is %(state)s: one cannot %(what)s it now"),
                                 id=app.id, state=state_term(app.state.value),
                                 what=Term(action, rule.what)))
    return caps


# -- ratings ----------------------------------------------------------------------------
def declared_raters(spec: InputSpec) -> tuple[RaterRole, ...]:
    """The rater roles a scheme declares for an input (none: the input is imported)."""
    names = list(spec.raters or ([spec.rater] if spec.rater else []))
    return tuple(RATER_NAMES[n] for n in names if n in RATER_NAMES)


def rating_column(input_id: str, spec: InputSpec, role: RaterRole) -> str:
    """The input-table column a rating fills: ``id@role`` for a multi-rater input."""
    return f"{input_id}@{role.value}" if spec.raters else input_id


def check_rating(session: Session, actor: Actor, app: Appraisal, input_id: str,
                 spec: InputSpec | None, role: str) -> RaterRole:
    """Refuse a rating unless the scheme declares ``role`` as a rater of the input, the
    actor rates in that capacity, and the appraisal is in the state that role rates in."""
    if spec is None:
        raise Invalid(Text(N_("%(input)s is not an input of this appraisal's scheme"),
                           input=repr(input_id)))
    declared = declared_raters(spec)
    if not declared:
        raise NotAllowed(Text(N_("%(input)s is imported, not rated: it changes only through "
                                 "an import, an HR correction or an appeal"),
                              input=repr(input_id)))
    if role not in RaterRole.__members__ or RaterRole(role) not in declared:
        raise NotAllowed(Text(N_("%(input)s is rated by %(raters)s, not by %(role)s"),
                              input=repr(input_id), role=role,
                              raters=", ".join(r.value for r in declared)))
    rater = RaterRole(role)
    rule = RATING_RULES[rater]
    caps = capacities(actor, user_of(session, actor), app)
    if rule.capacity not in caps:
        raise NotAllowed(Text(N_("%(user)s may not rate appraisal %(id)s as %(role)s"),
                              user=actor.username, id=app.id, role=role))
    if app.state not in rule.states:
        from kaohe.workflow.states import state_term

        raise WorkflowError(Text(N_("appraisal %(id)s is %(state)s: the %(role)s rating is "
                                    "given during %(when)s"), id=app.id, role=role,
                                 state=state_term(app.state.value),
                                 when=Terms([state_term(s.value) for s in
                                             sorted(rule.states, key=lambda x: x.value)])))
    return rater


def ratable(actor: Actor, user: User | None, app: Appraisal,
            inputs: dict[str, InputSpec]) -> list[tuple[str, RaterRole]]:
    """The (input, rater role) pairs this user may rate on ``app`` now (for the forms)."""
    caps = capacities(actor, user, app)
    out: list[tuple[str, RaterRole]] = []
    for ident, spec in inputs.items():
        for role in declared_raters(spec):
            rule = RATING_RULES[role]
            if role is not RaterRole.peer and rule.capacity in caps and app.state in rule.states:
                out.append((ident, role))
    return out


# -- what one may see -------------------------------------------------------------------
def sees_results(user: User, app: Appraisal) -> bool:
    """Total, grade, rank, pay and the other raters' ratings: the appraised employee sees
    them once published; everyone else who sees the appraisal, always."""
    return user.employee_id != app.employee_id or app.state in RESULT_STATES


def results_hidden(user: User, employee_id: int, state: A) -> bool:
    return user.employee_id == employee_id and state not in RESULT_STATES


def is_staff(user: User) -> bool:
    return any(r.value in user.roles for r in STAFF)


def is_hr(user: User) -> bool:
    return any(r.value in user.roles for r in HR)


def is_admin(user: User) -> bool:
    return Role.admin.value in user.roles


def sees_everyone(user: User) -> bool:
    return any(r.value in user.roles for r in SEES_EVERYONE)


def visible_appraisals(user: User) -> Select[Appraisal]:
    """The appraisals a user may see, as a query (row-level visibility): everyone's for
    HR, admins and managers; a supervisor's teams'; one's own."""
    q = select(Appraisal).join(Employee, Employee.id == Appraisal.employee_id)
    if sees_everyone(user):
        return q
    conds: list[ColumnElement[bool]] = []
    if Role.supervisor.value in user.roles and user.team_ids:
        conds.append(Employee.team_id.in_(list(user.team_ids)))
    if user.employee_id is not None:
        conds.append(Appraisal.employee_id == user.employee_id)
    return q.where(or_(*conds) if conds else false())


def get_visible(session: Session, user: User, appraisal_id: int) -> Appraisal:
    """An appraisal the user may see; any other is "not found" (never "forbidden")."""
    app = session.scalar(visible_appraisals(user).where(Appraisal.id == appraisal_id))
    if app is None:
        raise NotFound(Text(N_("no appraisal %(id)s"), id=appraisal_id))
    return app


def shows_incident_notes(user: User, app: Appraisal) -> bool:
    from kaohe.workflow.audit import Actor

    caps = capacities(Actor(user.username, tuple(user.roles), user.id), user, app)
    return allows(ACTIONS["see_incident_notes"], caps)
