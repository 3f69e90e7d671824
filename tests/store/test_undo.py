"""Service rules of the guided cycle and the appeal desk: the pre-check before scoring,
the steps back and the undo of a bulk move (never after publication), and the limits on
an appeal's evidence files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kaohe.store.db import Database
from kaohe.store.models import Appraisal, AppraisalState, AuditEvent, User
from kaohe.workflow import appeals, cycles, evidence, precheck, transitions
from kaohe.workflow.audit import Actor
from kaohe.workflow.errors import Invalid, NotAllowed, WorkflowError

from .factories import ADMIN, input_row, setup_org, write_inputs

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 16


def _xlsx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


def _cycle(db: Database, tmp: Path, blanks: dict[int, int] | None = None,
           period: str = "2026-11") -> int:
    setup_org(db, tmp)
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period=period,
                                actor=ADMIN).id
    rows = [input_row(f"E{i:03d}", period) for i in range(1, 7)]
    for row, col in (blanks or {}).items():
        rows[row][col] = ""
    with db.transaction() as s:
        cycles.import_inputs(s, cycle_id=cid, path=write_inputs(tmp / "in.csv", rows),
                             actor=ADMIN)
    return cid


def _as(db: Database, username: str) -> Actor:
    with db.read() as s:
        u = s.scalar(select(User).where(User.username == username))
        assert u is not None
        return Actor(u.username, tuple(u.roles), u.id)


def _states(db: Database, cid: int) -> dict[str, str]:
    with db.read() as s:
        from kaohe.store.models import Employee

        return {code: st.value for code, st in s.execute(
            select(Employee.code, Appraisal.state).join(Appraisal)
            .where(Appraisal.cycle_id == cid))}


# -- the pre-check -------------------------------------------------------------------------
def test_precheck_names_each_missing_required_input_and_scoring_is_refused(
        db: Database, tmp_path: Path) -> None:
    cid = _cycle(db, tmp_path, {1: 10, 3: 12})  # E002: 执行力, E004: 差评数
    with db.read() as s:
        found = precheck.precheck(s, cycles.get_cycle(s, cid))
    assert not found.ok and found.people == 6
    assert [(m.code, m.name, m.team, m.input_id, m.label) for m in found.blocking] == [
        ("E002", "员工2", "二组", "execution", "执行力"),
        ("E004", "员工4", "二组", "bad_reviews", "差评数")]
    assert found.blocking[0].rater == "supervisor" and found.blocking[1].rater == ""
    assert found.teams == {"一组": {"people": 3, "blocking": 0},
                           "二组": {"people": 3, "blocking": 2}}
    with pytest.raises(precheck.IncompleteInputs) as err, db.transaction() as s:
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
    assert "员工2 (E002) 执行力" in str(err.value) and "row" not in str(err.value)
    assert len(err.value.precheck.blocking) == 2
    with db.read() as s:  # nothing was scored, the cycle is still open
        assert cycles.get_cycle(s, cid).state.value == "open"


def test_a_rating_completes_the_input_and_scoring_goes_ahead(db: Database,
                                                             tmp_path: Path) -> None:
    cid = _cycle(db, tmp_path, {0: 10})  # E001 (一组) has no 执行力 yet
    with db.read() as s:
        app = s.scalar(select(Appraisal.id).where(Appraisal.cycle_id == cid,
                                                  Appraisal.employee_id == 1))
        assert [m.code for m in precheck.precheck(s, cycles.get_cycle(s, cid)).blocking] == [
            "E001"]
    with db.transaction() as s:
        cycles.advance_all(s, cycle_id=cid, trigger="submit_self_review", actor=ADMIN)
    with db.transaction() as s:
        cycles.rate(s, appraisal_id=app, input_id="execution", value="一般",
                    actor=_as(db, "sup1"), role="supervisor")
    with db.transaction() as s:
        assert precheck.precheck(s, cycles.get_cycle(s, cid)).ok
        n, _ = cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
    assert n == 6


def test_blanks_the_scheme_allows_are_listed_but_do_not_block(db: Database,
                                                             tmp_path: Path) -> None:
    """An input with ``required: false`` may be blank: the cycle is scored all the same."""
    from kaohe.workflow.schemes import save_scheme, scheme_text

    setup_org(db, tmp_path)
    text, _ = scheme_text("taobao-presales")
    relaxed = text.replace("silent_sales:    {label: 静默下单销售额, label_en: Silent-order sales, "
                           "type: money}",
                           "silent_sales:    {label: 静默下单销售额, label_en: Silent-order sales, "
                           "type: money, required: false}")
    assert relaxed != text
    with db.transaction() as s:
        sv = save_scheme(s, text=relaxed, source="test", actor=ADMIN)
        cid = cycles.open_cycle(s, version_id=sv.id, period="2026-11", actor=ADMIN).id
    rows = [input_row(f"E{i:03d}", "2026-11") for i in range(1, 7)]
    rows[2][14] = ""  # E003 has no 静默下单销售额
    with db.transaction() as s:
        cycles.import_inputs(s, cycle_id=cid, path=write_inputs(tmp_path / "r.csv", rows),
                             actor=ADMIN)
    with db.transaction() as s:
        found = precheck.precheck(s, cycles.get_cycle(s, cid))
        assert found.ok
        assert [(m.code, m.input_id) for m in found.allowed] == [("E003", "silent_sales")]
        n, _ = cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
    assert n == 6


# -- steps back and undo -------------------------------------------------------------------
def test_undo_moves_back_exactly_the_appraisals_the_bulk_move_moved(db: Database,
                                                                   tmp_path: Path) -> None:
    cid = _cycle(db, tmp_path)
    with db.read() as s:
        a1 = s.scalar(select(Appraisal.id).where(Appraisal.cycle_id == cid,
                                                 Appraisal.employee_id == 1))
    # E001 submitted their self-review themselves; HR then ends self-review for the rest
    with db.transaction() as s:
        cycles.transition(s, appraisal_id=a1, trigger="submit_self_review", actor=_as(db, "e1"))
    with db.transaction() as s:
        assert cycles.advance_all(s, cycle_id=cid, trigger="submit_self_review",
                                  actor=ADMIN) == 5
    with db.transaction() as s:
        undo = transitions.last_undoable(s, cycle_id=cid)
        assert undo is not None and len(undo.ids) == 5 and a1 not in undo.ids
        assert transitions.undo_bulk(s, cycle_id=cid, event_id=undo.event_id,
                                     actor=_as(db, "hr")) == 5
    states = _states(db, cid)
    assert states.pop("E001") == "supervisor_review"  # their own submission stands
    assert set(states.values()) == {"self_review"}
    with db.read() as s:
        ev = s.scalar(select(AuditEvent).where(AuditEvent.action == "cycle.bulk_undo"))
        assert ev is not None and ev.details["undid"] == "submit_self_review"
        assert ev.actor["username"] == "hr" and len(ev.details["ids"]) == 5
        assert transitions.last_undoable(s, cycle_id=cid) is None  # once only
    with pytest.raises(WorkflowError), db.transaction() as s:
        transitions.undo_bulk(s, cycle_id=cid, event_id=undo.event_id, actor=ADMIN)


def test_only_the_last_bulk_move_can_be_undone(db: Database, tmp_path: Path) -> None:
    cid = _cycle(db, tmp_path)
    with db.transaction() as s:
        cycles.advance_all(s, cycle_id=cid, trigger="submit_self_review", actor=ADMIN)
        first = transitions.last_undoable(s, cycle_id=cid)
        cycles.advance_all(s, cycle_id=cid, trigger="submit_supervisor_review", actor=ADMIN)
        second = transitions.last_undoable(s, cycle_id=cid)
    assert first is not None and second is not None and second.reverse == "return_for_review"
    with pytest.raises(WorkflowError), db.transaction() as s:
        transitions.undo_bulk(s, cycle_id=cid, event_id=first.event_id, actor=ADMIN)
    with db.transaction() as s:
        transitions.undo_bulk(s, cycle_id=cid, event_id=second.event_id, actor=ADMIN)
    assert set(_states(db, cid).values()) == {"supervisor_review"}


def test_steps_back_stop_at_approval_and_never_touch_published_results(
        db: Database, tmp_path: Path) -> None:
    cid = _cycle(db, tmp_path)
    with db.transaction() as s:
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
        for step in ("submit_self_review", "submit_supervisor_review", "approve_second_review"):
            cycles.advance_all(s, cycle_id=cid, trigger=step, actor=ADMIN)
        # a step back while reviewing: the second-review approval taken back, then redone
        assert cycles.advance_all(s, cycle_id=cid, trigger="reopen_second_review",
                                  actor=ADMIN) == 6
        cycles.advance_all(s, cycle_id=cid, trigger="approve_second_review", actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="approve", actor=ADMIN)
    with pytest.raises(WorkflowError), db.transaction() as s:  # approved: no step back
        cycles.advance_all(s, cycle_id=cid, trigger="reopen_second_review", actor=ADMIN)
    with db.transaction() as s:  # the approval itself can be withdrawn, and given again
        cycles.cycle_transition(s, cycle_id=cid, trigger="unapprove", actor=ADMIN)
        assert cycles.get_cycle(s, cid).state.value == "reviewing"
        cycles.cycle_transition(s, cycle_id=cid, trigger="approve", actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="publish", actor=ADMIN)
    for trigger in ("unapprove",):
        with pytest.raises(WorkflowError), db.transaction() as s:
            cycles.cycle_transition(s, cycle_id=cid, trigger=trigger, actor=ADMIN)
    for trigger in ("reopen_self_review", "reopen_second_review"):
        with pytest.raises(WorkflowError), db.transaction() as s:
            cycles.advance_all(s, cycle_id=cid, trigger=trigger, actor=ADMIN)
    with db.read() as s:
        assert transitions.last_undoable(s, cycle_id=cid) is None
    assert set(_states(db, cid).values()) == {"published"}
    with db.read() as s:
        actions = set(s.scalars(select(AuditEvent.action)))
    assert {"cycle.bulk_reopen_second_review", "cycle.unapprove"} <= actions


def test_a_supervisor_may_reopen_one_self_review_but_not_everyone(db: Database,
                                                                 tmp_path: Path) -> None:
    cid = _cycle(db, tmp_path)
    with db.read() as s:
        a1 = s.scalar(select(Appraisal.id).where(Appraisal.cycle_id == cid,
                                                 Appraisal.employee_id == 1))
    with db.transaction() as s:
        cycles.transition(s, appraisal_id=a1, trigger="submit_self_review", actor=_as(db, "e1"))
    with pytest.raises(NotAllowed), db.transaction() as s:
        cycles.transition(s, appraisal_id=a1, trigger="reopen_self_review", actor=_as(db, "e1"))
    with db.transaction() as s:
        cycles.transition(s, appraisal_id=a1, trigger="reopen_self_review",
                          actor=_as(db, "sup1"))
    assert _states(db, cid)["E001"] == "self_review"
    with pytest.raises(NotAllowed), db.transaction() as s:
        cycles.advance_all(s, cycle_id=cid, trigger="reopen_self_review", actor=_as(db, "sup1"))


# -- evidence ------------------------------------------------------------------------------
def _appeal(db: Database, tmp: Path) -> int:
    cid = _cycle(db, tmp, period="2026-10")
    with db.transaction() as s:
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
        for step in ("submit_self_review", "submit_supervisor_review", "approve_second_review"):
            cycles.advance_all(s, cycle_id=cid, trigger=step, actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="approve", actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="publish", actor=ADMIN)
        a1 = s.scalar(select(Appraisal.id).where(Appraisal.cycle_id == cid,
                                                 Appraisal.employee_id == 1))
    assert a1 is not None
    with db.transaction() as s:
        return appeals.file_appeal(s, appraisal_id=a1, reason="执行力评级有误",
                                   actor=_as(db, "e1")).id


def test_evidence_is_checked_by_content_size_and_count(db: Database, tmp_path: Path) -> None:
    appeal = _appeal(db, tmp_path)
    e1 = _as(db, "e1")
    good = [("聊天截图.png", PNG), ("photo.JPG", JPG), ("记录.pdf", PDF), ("订单.xlsx", _xlsx()),
            ("说明.txt", "客户当天已确认收货".encode())]
    with db.transaction() as s:
        for name, data in good:
            ev = evidence.attach(s, appeal_id=appeal, filename=name, data=data, actor=e1)
            assert ev.size == len(data)
    bad = [("a.png", PDF, "PNG"), ("a.pdf", b"<html>", "PDF"), ("a.exe", b"MZ", "PNG or JPEG"),
           ("a.txt", b"\x00\x01\x02", "text"), ("a.xlsx", b"PK\x03\x04junk", "xlsx"),
           ("empty.csv", b"", "empty")]
    for name, data, said in bad:
        with pytest.raises(Invalid) as err, db.transaction() as s:
            evidence.attach(s, appeal_id=appeal, filename=name, data=data, actor=e1)
        assert said in str(err.value), name
    with pytest.raises(Invalid) as err, db.transaction() as s:  # a sixth file
        evidence.attach(s, appeal_id=appeal, filename="six.csv", data=b"a,b\n", actor=e1)
    assert "5 files" in str(err.value)
    with db.read() as s:
        assert len(evidence.list_evidence(s, appeal_id=appeal, actor=_as(db, "hr"))) == 5
        actions = list(s.scalars(select(AuditEvent.action).where(
            AuditEvent.action == "appeal.evidence_added")))
    assert len(actions) == 5


def test_evidence_over_the_size_limit_is_refused(db: Database, tmp_path: Path) -> None:
    appeal = _appeal(db, tmp_path)
    big = PNG + b"\x00" * (evidence.MAX_BYTES - len(PNG) + 1)
    with pytest.raises(Invalid) as err, db.transaction() as s:
        evidence.attach(s, appeal_id=appeal, filename="big.png", data=big, actor=_as(db, "e1"))
    assert "5 MB" in str(err.value)
    with db.transaction() as s:  # exactly the limit is fine
        evidence.attach(s, appeal_id=appeal, filename="ok.png", data=big[:-1],
                        actor=_as(db, "e1"))


def test_only_the_appellant_attaches_and_only_they_and_hr_see(db: Database,
                                                             tmp_path: Path) -> None:
    appeal = _appeal(db, tmp_path)
    with db.transaction() as s:
        ev = evidence.attach(s, appeal_id=appeal, filename="a.png", data=PNG,
                             actor=_as(db, "e1")).id
    for who in ("hr", "sup1", "e3"):  # HR sees but does not attach; others neither
        with pytest.raises(NotAllowed), db.transaction() as s:
            evidence.attach(s, appeal_id=appeal, filename="b.png", data=PNG, actor=_as(db, who))
    for who in ("sup1", "boss", "e3"):
        with pytest.raises(NotAllowed), db.read() as s:
            evidence.get_evidence(s, appeal_id=appeal, evidence_id=ev, actor=_as(db, who))
    with db.read() as s:
        for who in ("e1", "hr"):
            got = evidence.get_evidence(s, appeal_id=appeal, evidence_id=ev, actor=_as(db, who))
            assert got.data == PNG
    with db.transaction() as s:  # once decided, nothing more is attached
        appeals.decide_appeal(s, appeal_id=appeal, accept=False, note="维持", actor=_as(db, "hr"))
    with pytest.raises(WorkflowError), db.transaction() as s:
        evidence.attach(s, appeal_id=appeal, filename="late.png", data=PNG, actor=_as(db, "e1"))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=64))
def test_sniff_never_takes_arbitrary_bytes_for_an_image_or_pdf(data: bytes) -> None:
    kind = evidence.sniff(data)
    if kind == "png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    elif kind == "jpeg":
        assert data.startswith(b"\xff\xd8\xff")
    elif kind == "pdf":
        assert data.startswith(b"%PDF-")
    elif kind == "text":
        assert b"\x00" not in data
    assert kind != "xlsx" or data.startswith(b"PK")


def test_the_decision_is_previewed_by_label_and_matches_the_resolution(
        db: Database, tmp_path: Path) -> None:
    appeal = _appeal(db, tmp_path)
    hr = _as(db, "hr")
    with db.transaction() as s:
        appeals.decide_appeal(s, appeal_id=appeal, accept=True, note="", actor=hr)
    with db.read() as s:
        dry = appeals.dry_resolution(s, appeal_id=appeal, changes={"执行力": "一般"}, actor=hr)
    assert dry.changes == {"execution": "一般"}
    assert dry.before["total"] != dry.after["total"]
    with pytest.raises(Invalid), db.read() as s:
        appeals.dry_resolution(s, appeal_id=appeal, changes={"执行力": "超级满意"}, actor=hr)
    with pytest.raises(NotAllowed), db.read() as s:
        appeals.dry_resolution(s, appeal_id=appeal, changes={}, actor=_as(db, "sup1"))
    with db.transaction() as s:
        appeals.resolve_appeal(s, appeal_id=appeal, changes={"执行力": "一般"},
                               resolution="复核后调整", actor=hr)
    with db.read() as s:
        from kaohe.store.models import Appeal, Result

        ap = s.get(Appeal, appeal)
        assert ap is not None and ap.changes == {"execution": "一般"}
        total = s.scalar(select(Result.total).where(Result.appraisal_id == ap.appraisal_id,
                                                    Result.is_current.is_(True)))
    assert total is not None and float(total) == float(dry.after["total"])
    assert AppraisalState.resolved.value == "resolved"
