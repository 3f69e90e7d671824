"""ORM models of the system of record (SQLAlchemy 2, typed).

Portable across SQLite and PostgreSQL: JSON columns are ``sqlalchemy.JSON``, money and
scores are stored as exact decimal text in the result payloads and as ``Numeric`` columns
for querying. Rows that must not change after they are written (scheme versions, results,
audit events) are only ever inserted by the services.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def _uuid() -> str:
    return uuid.uuid4().hex


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Role(str, enum.Enum):
    """A user's roles in the organisation (what they may do on one appraisal follows from
    these and from who they are to it: :mod:`kaohe.workflow.permissions`)."""

    agent = "agent"
    supervisor = "supervisor"
    manager = "manager"
    hr = "hr"
    admin = "admin"


class CycleState(str, enum.Enum):
    draft = "draft"
    open = "open"
    reviewing = "reviewing"
    approved = "approved"
    published = "published"
    closed = "closed"


class AppraisalState(str, enum.Enum):
    self_review = "self_review"
    supervisor_review = "supervisor_review"
    second_review = "second_review"
    hr_approval = "hr_approval"
    published = "published"
    acknowledged = "acknowledged"
    appealed = "appealed"
    resolved = "resolved"
    closed = "closed"


class AppealState(str, enum.Enum):
    filed = "filed"
    accepted = "accepted"
    rejected = "rejected"
    resolved = "resolved"


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Position(Base):
    __tablename__ = "positions"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Employee(Base):
    __tablename__ = "employees"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # 工号
    name: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    position_id: Mapped[int | None] = mapped_column(ForeignKey("positions.id"))
    hire_date: Mapped[dt.date | None] = mapped_column(Date)
    probation_end: Mapped[dt.date | None] = mapped_column(Date)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    status: Mapped[str] = mapped_column(String(20), default="active")
    #: contact from the org sheet, for reminders (a user's own contact overrides it)
    email: Mapped[str | None] = mapped_column(String(254))
    mobile: Mapped[str | None] = mapped_column(String(20))

    team: Mapped[Team | None] = relationship(lazy="joined")
    position: Mapped[Position | None] = relationship(lazy="joined")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    roles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: supervisors and managers: the teams they look after
    team_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: the login's own contact (HR and admins often have no employee record)
    email: Mapped[str | None] = mapped_column(String(254))
    mobile: Mapped[str | None] = mapped_column(String(20))
    #: the person asked not to be sent reminders
    reminders_off: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: the password was set by an admin or HR (a one-time password): asked to change it
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default=false())

    employee: Mapped[Employee | None] = relationship(lazy="joined")

    def has(self, *roles: Role) -> bool:
        return any(r.value in self.roles for r in roles)

    @property
    def person_name(self) -> str:
        """The person's name, never the login: the employee's name, else the display name."""
        if self.employee is not None and self.employee.name:
            return self.employee.name
        return self.display_name or self.username

    @property
    def contact_email(self) -> str | None:
        return self.email or (self.employee.email if self.employee is not None else None)

    @property
    def contact_mobile(self) -> str | None:
        return self.mobile or (self.employee.mobile if self.employee is not None else None)


class UserSession(Base):
    """A login, held on the server: the cookie carries a random token, this table its
    SHA-256 (so a copy of the database cannot be used to log in). A request is served only
    while its row exists, has not expired and its user is active; logging out, changing the
    password, disabling the user or an admin deletes the rows."""

    __tablename__ = "user_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: sha256 of the session's CSRF token: a form of an ended session is refused too
    csrf_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class LoginThrottle(Base):
    """Failed logins counted per key (a user, a client address, or both) within a window
    that starts at the first failure. Rows are locked while counted, so every worker
    process shares one count and parallel attempts cannot slip past the limit."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)


class SchemeVersion(Base):
    """A saved scheme text; immutable, identified by the hash of its content."""

    __tablename__ = "scheme_versions"
    __table_args__ = (UniqueConstraint("scheme_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")


class Cycle(Base):
    __tablename__ = "cycles"
    __table_args__ = (UniqueConstraint("scheme_id", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[str] = mapped_column(String(100))
    scheme_version_id: Mapped[int] = mapped_column(ForeignKey("scheme_versions.id"))
    period: Mapped[str] = mapped_column(String(10))
    state: Mapped[CycleState] = mapped_column(Enum(CycleState, native_enum=False, length=20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    input_hash: Mapped[str | None] = mapped_column(String(64))

    # loaded when used: the scheme text is not needed for lists of appraisals
    scheme_version: Mapped[SchemeVersion] = relationship(lazy="select")
    __mapper_args__ = {"version_id_col": version}


class Appraisal(Base):
    __tablename__ = "appraisals"
    __table_args__ = (UniqueConstraint("cycle_id", "employee_id"),
                      # the team board and a scorecard's place in the team
                      Index("ix_appraisals_cycle_team", "cycle_id", "team_code"))
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    team_code: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[AppraisalState] = mapped_column(
        Enum(AppraisalState, native_enum=False, length=30))
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: the scheme inputs of this appraisal, as text exactly as imported (id → value)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: HR corrections and appeal resolutions (input column → {"value", "by", "reason",
    #: "seq"}): they count over imports and ratings, the latest decision per column wins
    decisions: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    self_review: Mapped[str] = mapped_column(Text, default="")
    supervisor_comment: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    feedback_due: Mapped[dt.date | None] = mapped_column(Date)
    appeal_due: Mapped[dt.date | None] = mapped_column(Date)

    cycle: Mapped[Cycle] = relationship(lazy="joined")
    employee: Mapped[Employee] = relationship(lazy="joined")
    __mapper_args__ = {"version_id_col": version}


class Rating(Base):
    """A rater's level or mark for one input of an appraisal.

    Peers' marks are one tally per input (``rater_role`` "peer", no rater, ``value`` the
    sum of the marks; the mean over the input's :class:`PeerBallot` rows counts), so no row
    holds one peer's mark and nothing (row id, insertion order, transaction id) pairs a
    ballot with a mark. A ballot records only that a peer has rated, which stops a second
    rating.
    """

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("appraisal_id", "input_id", "rater_role", "rater_user_id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=_uuid)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id", ondelete="CASCADE"),
                                              index=True)
    input_id: Mapped[str] = mapped_column(String(100))
    rater_role: Mapped[str] = mapped_column(String(20))
    rater_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    value: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class PeerBallot(Base):
    __tablename__ = "peer_ballots"
    __table_args__ = (UniqueConstraint("appraisal_id", "input_id", "user_id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=_uuid)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id", ondelete="CASCADE"))
    input_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Incident(Base):
    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(primary_key=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id", ondelete="CASCADE"),
                                              index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    input_id: Mapped[str] = mapped_column(String(100))  # the count input it adds to
    count: Mapped[Decimal] = mapped_column(Numeric(18, 4), default=Decimal(1))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Result(Base):
    """Engine output for one appraisal; a new revision on every re-score, never updated."""

    __tablename__ = "results"
    __table_args__ = (UniqueConstraint("appraisal_id", "revision"),
                      # the current result of an appraisal; a lone index on the flag would
                      # lure SQLite's planner into scanning every current result
                      Index("ix_results_current", "appraisal_id", "is_current"))
    id: Mapped[int] = mapped_column(primary_key=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id", ondelete="CASCADE"),
                                              index=True)
    revision: Mapped[int] = mapped_column(Integer)
    total: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    grade: Mapped[str | None] = mapped_column(String(40))
    rank: Mapped[int | None] = mapped_column(Integer)
    pay_total: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    scheme_hash: Mapped[str] = mapped_column(String(64))
    input_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200), default="score")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)


class Appeal(Base):
    __tablename__ = "appeals"
    id: Mapped[int] = mapped_column(primary_key=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id", ondelete="CASCADE"),
                                              index=True)
    state: Mapped[AppealState] = mapped_column(Enum(AppealState, native_enum=False, length=20))
    reason: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    filed_on: Mapped[dt.date] = mapped_column(Date)
    accept_due: Mapped[dt.date] = mapped_column(Date)
    resolve_due: Mapped[dt.date] = mapped_column(Date)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    resolved_on: Mapped[dt.date | None] = mapped_column(Date)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str] = mapped_column(Text, default="")
    #: input changes granted by the resolution (id → new value)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class AppealEvidence(Base):
    """A file the appellant attached to an appeal (a screenshot, a chat export), kept with
    it; seen by HR and the appellant only (:mod:`kaohe.workflow.evidence`)."""

    __tablename__ = "appeal_evidence"
    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"),
                                           index=True)
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class FeedbackMeeting(Base):
    __tablename__ = "feedback_meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id", ondelete="CASCADE"),
                                              index=True)
    held_on: Mapped[dt.date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))


class Acknowledgement(Base):
    __tablename__ = "acknowledgements"
    id: Mapped[int] = mapped_column(primary_key=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id", ondelete="CASCADE"),
                                              unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuditEvent(Base):
    """Append-only, hash-chained: each row stores the hash of the row before it."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    action: Mapped[str] = mapped_column(String(100))
    actor: Mapped[dict[str, Any]] = mapped_column(JSON)
    target_type: Mapped[str] = mapped_column(String(50))
    target_id: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ReminderDelivery(Base):
    """One reminder to one person over one channel on one day (Beijing time): claimed before
    it is sent, so a re-run the same day, or two runs at once, never send it twice."""

    __tablename__ = "reminder_deliveries"
    __table_args__ = (UniqueConstraint("day", "key", "channel"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
    #: what the reminder is about and for whom, e.g. ``self_review/c7/u12``
    key: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(20))  # email | wecom | dingtalk
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))  # sending | sent | failed | skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class VerificationRun(Base):
    """The outcome of one ``kaohe audit verify``: the web app warns HR while the newest
    failed, and the next run checks that the head it saw is still in the log."""

    __tablename__ = "verification_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    scope: Mapped[str] = mapped_column(String(20))  # log | records | full
    ok: Mapped[bool] = mapped_column(Boolean)
    events: Mapped[int] = mapped_column(Integer)
    head_seq: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    appraisals: Mapped[int] = mapped_column(Integer, default=0)
    rescored: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[int] = mapped_column(Integer, default=0)
    #: the appraisals that failed (employee, period, what differs), at most 200
    failing: Mapped[list[Any]] = mapped_column(JSON, default=list)


class AggregateResult(Base):
    """A quarter or year result (``2026-Q4``, ``2026``) of one employee, as of the cycle it
    was scored with: the engine's aggregate over that scheme's cycles up to and including
    this one. A new revision on every scoring of the cycle, never updated; ``closes`` is
    set when the cycle's month completes the quarter or year (its awards are paid then)."""

    __tablename__ = "aggregate_results"
    __table_args__ = (UniqueConstraint("cycle_id", "period", "employee_id", "revision"),
                      Index("ix_aggregate_results_current", "cycle_id", "is_current"),
                      Index("ix_aggregate_results_employee", "employee_id", "period"))
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"))
    scheme_id: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(10))  # 2026-Q4 | 2026
    kind: Mapped[str] = mapped_column(String(10))  # quarter | year
    closes: Mapped[bool] = mapped_column(Boolean, default=False)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    team_code: Mapped[str] = mapped_column(String(64), default="")
    revision: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    score: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    grade: Mapped[str | None] = mapped_column(String(40))
    rank: Mapped[int | None] = mapped_column(Integer)
    months: Mapped[int] = mapped_column(Integer, default=0)
    #: the engine's aggregate record (score, grade, rank, months, flags, awards, values)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    scheme_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    employee: Mapped[Employee] = relationship(lazy="joined")


class ItemRow(Base):
    """One row of a cycle's item table (e.g. ``late_payments``: the deals an employee was
    paid late on that month), belonging to the appraisal whose employee and period it
    names. Replaced as a whole per table on each upload."""

    __tablename__ = "item_rows"
    __table_args__ = (Index("ix_item_rows_cycle_table", "cycle_id", "table_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"))
    table_name: Mapped[str] = mapped_column(String(64))
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id", ondelete="CASCADE"),
                                              index=True)
    #: the row's place in the uploaded file (row 2 is the first under the header)
    row_no: Mapped[int] = mapped_column(Integer)
    #: the row's columns as text exactly as imported (column → value), employee and period
    #: left out
    cells: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
