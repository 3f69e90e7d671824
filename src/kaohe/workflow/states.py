"""The cycle and appraisal state machines, declared as tables.

Each transition names its trigger, the states it leaves from, the state it enters and who
may fire it: for an appraisal, the capacities of :class:`kaohe.workflow.permissions.Capacity`
(``own``: the appraised employee, and nobody else on their own appraisal; ``supervisor``:
a supervisor of the employee's team; ``manager``; ``hr``: HR or an admin); for a cycle,
roles. A move not in the table is refused with "cannot <trigger> an appraisal in state
<state>".
"""

from __future__ import annotations

from dataclasses import dataclass

from kaohe.store.models import AppraisalState as A
from kaohe.store.models import CycleState as C
from kaohe.store.models import Role
from kaohe.text import N_, Term, Terms, Text
from kaohe.workflow.permissions import Capacity

OWN, SUP, MGR, HR = Capacity.own, Capacity.supervisor, Capacity.manager, Capacity.hr


@dataclass(frozen=True)
class Transition:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    roles: frozenset[Capacity] | frozenset[Role]  # capacities (appraisal), roles (cycle)
    label: str
    #: named checks that must hold first, and named side effects, in order (carried out by
    #: kaohe.workflow.transitions: APPRAISAL_STEPS, CYCLE_STEPS)
    guards: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    #: HR may fire it on every appraisal of a cycle at once (one UPDATE: no guard runs, and
    #: the effects, which only keep a move's note, have none to keep)
    bulk: bool = False
    #: a step back (an undo of a forward move); offered apart from the next steps, and only
    #: before the results are published (nothing published or sealed is ever moved back)
    reverse: bool = False


def _t(trigger: str, sources: tuple[str, ...], dest: str,
       roles: set[Capacity] | set[Role], label: str, *, guards: tuple[str, ...] = (),
       effects: tuple[str, ...] = (), bulk: bool = False, reverse: bool = False) -> Transition:
    return Transition(trigger, sources, dest, frozenset(roles),  # type: ignore[arg-type]
                      label, guards, effects, bulk, reverse)


APPRAISAL: dict[str, Transition] = {t.trigger: t for t in [
    _t("submit_self_review", (A.self_review.value,), A.supervisor_review.value,
       {OWN, HR}, "提交自评", effects=("keep_self_review",), bulk=True),
    _t("submit_supervisor_review", (A.supervisor_review.value,), A.second_review.value,
       {SUP, HR}, "主管评分完成", effects=("keep_supervisor_comment",), bulk=True),
    _t("approve_second_review", (A.second_review.value,), A.hr_approval.value,
       {MGR, HR}, "复核通过", bulk=True),
    _t("return_for_review", (A.second_review.value, A.hr_approval.value),
       A.supervisor_review.value, {MGR, HR}, "退回主管", bulk=True),
    # steps back, before publication only
    _t("reopen_self_review", (A.supervisor_review.value,), A.self_review.value, {SUP, HR},
       "重新开放自评", bulk=True, reverse=True),
    _t("reopen_second_review", (A.hr_approval.value,), A.second_review.value, {MGR, HR},
       "撤回复核", bulk=True, reverse=True),
    _t("publish", (A.hr_approval.value,), A.published.value, {HR}, "发布结果",
       guards=("cycle_published",)),
    _t("acknowledge", (A.published.value,), A.acknowledged.value, {OWN}, "确认结果",
       effects=("record_acknowledgement",)),
    _t("appeal", (A.published.value,), A.appealed.value, {OWN}, "提出申诉"),
    _t("resolve", (A.appealed.value,), A.resolved.value, {HR}, "申诉处理完毕"),
    _t("close", (A.published.value, A.acknowledged.value, A.resolved.value), A.closed.value,
       {HR}, "归档"),
]}

CYCLE: dict[str, Transition] = {t.trigger: t for t in [
    _t("open", (C.draft.value,), C.open.value, {Role.hr, Role.admin}, "开启考核"),
    _t("start_review", (C.open.value,), C.reviewing.value, {Role.hr, Role.admin}, "开始评审"),
    _t("approve", (C.reviewing.value,), C.approved.value, {Role.hr, Role.admin}, "审批通过",
       guards=("all_waiting_for_hr", "all_scored")),
    _t("unapprove", (C.approved.value,), C.reviewing.value, {Role.hr, Role.admin}, "撤销审批",
       reverse=True),
    _t("publish", (C.approved.value,), C.published.value, {Role.hr, Role.admin}, "发布",
       effects=("publish_appraisals",)),
    _t("close", (C.published.value,), C.closed.value, {Role.hr, Role.admin}, "关闭",
       guards=("no_open_appeals", "appeal_windows_over"), effects=("archive_appraisals",)),
]}

#: states and actions as an interface shows them (English labels, translated where shown)
STATE_LABELS = {
    "self_review": N_("self-review"),
    "supervisor_review": N_("supervisor review"),
    "second_review": N_("second review"),
    "hr_approval": N_("waiting for HR"),
    "published": N_("published"),
    "acknowledged": N_("acknowledged"),
    "appealed": N_("appealed"),
    "resolved": N_("appeal resolved"),
    "closed": N_("closed"),
    "draft": N_("draft"),
    "open": N_("open"),
    "reviewing": N_("reviewing"),
    "approved": N_("approved"),
    "filed": N_("filed"),
    "accepted": N_("accepted"),
    "rejected": N_("rejected"),
}
ACTION_LABELS = {
    "submit_self_review": N_("submit the self-review"),
    "submit_supervisor_review": N_("finish the supervisor review"),
    "approve_second_review": N_("approve the second review"),
    "return_for_review": N_("return to the supervisor"),
    "publish": N_("publish"),
    "acknowledge": N_("acknowledge"),
    "appeal": N_("appeal"),
    "resolve": N_("resolve the appeal"),
    "close": N_("close"),
    "open": N_("open the cycle"),
    "start_review": N_("start the review"),
    "approve": N_("approve"),
    "reopen_self_review": N_("reopen the self-review"),
    "reopen_second_review": N_("take back the second-review approval"),
    "unapprove": N_("withdraw the approval"),
}

#: the step back that undoes a forward move (undo of a bulk move: exactly the appraisals it
#: moved that are still where it left them)
REVERSE = {
    "submit_self_review": "reopen_self_review",
    "submit_supervisor_review": "return_for_review",
    "approve_second_review": "reopen_second_review",
    "approve": "unapprove",
}


def state_term(state: str) -> Term:
    return Term(state, STATE_LABELS.get(state, state))


def action_term(action: str) -> Term:
    return Term(action, ACTION_LABELS.get(action, action))


#: appraisal states whose results are frozen (a change needs an appeal or an HR correction)
FROZEN = {A.published.value, A.acknowledged.value, A.appealed.value, A.resolved.value,
          A.closed.value}


def find(table: dict[str, Transition], trigger: str, state: str, kind: str) -> Transition:
    t = table.get(trigger)
    if t is None:
        from kaohe.workflow.errors import Invalid

        raise Invalid(Text(N_("unknown action %(action)s; known: %(known)s"),
                           action=repr(trigger), known=", ".join(table)))
    if state not in t.sources:
        from kaohe.workflow.errors import WorkflowError

        raise WorkflowError(Text(
            N_("cannot %(action)s an appraisal in state %(state)s (allowed from: %(sources)s)")
            if kind == "appraisal" else
            N_("cannot %(action)s a cycle in state %(state)s (allowed from: %(sources)s)"),
            action=action_term(trigger), state=state_term(state),
            sources=Terms([state_term(x) for x in t.sources])))
    return t
