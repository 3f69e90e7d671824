"""CLI commands over the system of record: db, org, user, cycle, appraisal, appeal,
feedback, overdue, export, audit. Each action is one transaction; any error rolls it back,
prints one message on stderr and exits 2."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from kaohe import localtime
from kaohe.errors import KaoheError

if TYPE_CHECKING:  # the store is imported by the commands that use it, not to list them
    from sqlalchemy.orm import Session

T = TypeVar("T")
out = Console()
err = Console(stderr=True, highlight=False, soft_wrap=True)

DbOpt = Annotated[str | None, typer.Option("--db", help="SQLite file or database URL "
                                          "(default: $KAOHE_DATABASE_URL, else the user data dir)")]
AsOpt = Annotated[str, typer.Option("--as", help="acting user (default: $KAOHE_USER or admin)")]
CycleOpt = Annotated[int | None, typer.Option("--cycle", help="cycle id")]


def fail(message: str) -> None:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(2)


def acting_user(as_: str | None) -> str:
    from kaohe.settings import settings

    return as_ or settings().user or "admin"


@contextmanager
def open_db(db: str | None, *, upgrade: bool = False) -> Iterator[Any]:
    from kaohe.store import migrate
    from kaohe.store.db import Database

    try:
        database = Database.open(db)
        if upgrade:
            migrate.upgrade(database)
        elif not migrate.is_current(database):
            raise KaoheError(f"the database at {database.engine.url.render_as_string()} is not at "
                             "the current schema; run `kaohe db upgrade` first")
    except KaoheError as exc:
        fail(str(exc))
        raise
    try:
        yield database
    finally:
        database.dispose()


def run_action(db: str | None, as_: str | None, fn: Callable[[Session, Any], T]) -> T:
    """Run one action in one transaction as the given user."""
    from kaohe.workflow.org import actor_for

    with open_db(db) as database:
        try:
            with database.transaction() as session:
                actor, _user_row = actor_for(session, acting_user(as_))
                return fn(session, actor)
        except KaoheError as exc:
            fail(str(exc))
            raise


def _cycle_id(session: Session, cycle: int | None, scheme: str | None, period: str | None) -> int:
    from kaohe.workflow.cycles import find_cycle

    if cycle is not None:
        return cycle
    if scheme is None or period is None:
        raise KaoheError("name the cycle: --cycle ID, or --scheme ID --period YYYY-MM")
    return find_cycle(session, scheme_id=scheme, period=period).id


def parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"{text!r} is not a date (YYYY-MM-DD)")
        raise


def _changes(items: list[str]) -> dict[str, str]:
    out_: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"{item!r}: write a change as INPUT=VALUE, e.g. execution=比较满意")
        out_[key.strip()] = value.strip()
    return out_


# -- db ------------------------------------------------------------------------------------
db_app = typer.Typer(help="Database: schema upgrades, backup and restore.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None) -> None:
    """Create or upgrade the schema to the newest migration."""
    from kaohe.store import migrate

    with open_db(db, upgrade=True) as database:
        out.print(f"database {database.engine.url.render_as_string()} at revision "
                  f"{migrate.current(database)}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="e.g. -1")] = "-1",
                 db: DbOpt = None) -> None:
    """Step the schema back (for rolling back a release)."""
    from kaohe.store import migrate
    from kaohe.store.db import Database

    database = Database.open(db)
    try:
        migrate.downgrade(database, revision)
        out.print(f"database at revision {migrate.current(database)}")
    finally:
        database.dispose()


@db_app.command("grant")
def db_grant(role: Annotated[str, typer.Argument(help="the application's PostgreSQL role")],
             db: DbOpt = None) -> None:
    """PostgreSQL, as the owner after each upgrade: let ROLE read and write every table,
    but only read and append to the audit log."""
    from kaohe.store.grants import grant_app_role

    _sqlite_file_action(db, lambda d: grant_app_role(d, role),
                        f"{role}: every table, the audit log read and append only")


def _sqlite_file_action(db: str | None, action: Callable[[Any], None], done: str) -> None:
    from kaohe.store.db import Database

    database = Database.open(db)
    try:
        action(database)
    except KaoheError as exc:
        fail(str(exc))
    finally:
        database.dispose()
    out.print(done)


@db_app.command("backup")
def db_backup(file: Path, db: DbOpt = None) -> None:
    """Copy the SQLite database while it stays in use (online backup)."""
    from kaohe.store.backup import backup

    _sqlite_file_action(db, lambda d: backup(d, file), f"backed up to {file}")


@db_app.command("restore")
def db_restore(file: Path, db: DbOpt = None) -> None:
    """Replace the SQLite database with a backup."""
    from kaohe.store.backup import restore

    _sqlite_file_action(db, lambda d: restore(d, file), f"restored from {file}")


# -- org and users ---------------------------------------------------------------------------
org_app = typer.Typer(help="Organisation: employees and teams.", no_args_is_help=True)


@org_app.command("import")
def org_import(file: Path, db: DbOpt = None, as_: AsOpt = "") -> None:
    """Create or update employees from a CSV/XLSX sheet (工号, 姓名, 团队, 岗位, …)."""
    from kaohe.workflow.org import import_employees

    s = run_action(db, as_, lambda session, actor: import_employees(session, path=file, actor=actor))
    out.print(f"employees: {s.created} created, {s.updated} updated; {s.teams} teams")


@org_app.command("sheet")
def org_sheet(
    file: Path,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only show what would change")] = False,
    db: DbOpt = None,
    as_: AsOpt = "",
) -> None:
    """Import the address book as 钉钉 (通讯录导出) or 企业微信 (成员导出) export it, xlsx or
    csv: new and changed people, teams, supervisors (主管 / 直属上级). All or nothing."""
    from kaohe.workflow import orgsheet

    def run(session: Session, actor: Any) -> orgsheet.OrgPlan:
        plan = orgsheet.plan(session, file, actor=actor)
        if plan.problems:
            for e in plan.problems:
                out.print(f"row {e.row}, column {e.column!r}"
                          + (f", value {e.value!r}" if e.value is not None else "")
                          + f": {e.detail}", markup=False)
            raise KaoheError(f"{file}: {len(plan.problems)} problem(s); nothing was imported")
        return plan if dry_run else orgsheet.apply(session, file, actor=actor)

    plan = run_action(db, as_, run)
    for p in plan.people:
        if p.kind != "unchanged":
            what = "; ".join(f"{f}: {b or '-'} → {a or '-'}" for f, b, a in p.changes)
            out.print(f"{p.kind:8} {p.code} {p.name} {what}".rstrip(), markup=False)
    for code, name, mcode, mname in plan.supervisors:
        out.print(f"supervisor {code} {name} → {mcode} {mname}", markup=False)
    for login, name, team in plan.team_supervisors:
        out.print(f"team       {team} looked after by {name} ({login})", markup=False)
    out.print(f"{'would import' if dry_run else 'imported'} ({plan.kind}): "
              f"{plan.count('new')} new, {plan.count('changed')} changed, "
              f"{plan.count('unchanged')} unchanged; teams created: "
              f"{', '.join(plan.teams_created) or '-'}", markup=False)


user_app = typer.Typer(help="Users and roles.", no_args_is_help=True)


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[list[str], typer.Option("--role", help="agent, supervisor, manager, hr, admin")],
    password: Annotated[str | None, typer.Option(help="or $KAOHE_PASSWORD")] = None,
    employee: Annotated[str | None, typer.Option(help="the employee id (工号) of this user")] = None,
    team: Annotated[list[str] | None, typer.Option("--team", help="teams a supervisor looks after")] = None,
    name: Annotated[str | None, typer.Option(help="the person's name (default: the employee's)")] = None,
    email: Annotated[str | None, typer.Option(help="e-mail address, for reminders")] = None,
    mobile: Annotated[str | None, typer.Option(help="mobile number, for @-mentions in reminders")] = None,
    db: DbOpt = None,
    as_: AsOpt = "",
) -> None:
    """Add a user. The first user of an empty database may be added without --as."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import IntegrityError

    from kaohe.store.models import User
    from kaohe.workflow.accounts import check_password, may_grant
    from kaohe.workflow.audit import Actor
    from kaohe.workflow.org import actor_for, create_user

    pw = password or _env_password()
    with open_db(db) as database:
        try:
            with database.transaction() as session:
                if session.scalar(select(func.count()).select_from(User)) == 0:
                    actor = Actor("bootstrap", ("admin",))
                else:
                    actor, _ = actor_for(session, acting_user(as_))
                    if not may_grant(actor, role):  # HR adds agents, supervisors, managers
                        raise KaoheError(f"{actor.username} may not add users with the role "
                                         f"{', '.join(role)}")
                if pw is not None:
                    check_password(pw)
                create_user(session, username=username, roles=role, actor=actor, password=pw,
                            employee_code=employee, teams=team or [], display_name=name or "",
                            email=email, mobile=mobile)
        except KaoheError as exc:
            fail(str(exc))
        except IntegrityError:  # added by someone else meanwhile; never print the row
            fail(f"user {username!r} (or a user of employee {employee!r}) exists already")
    out.print(f"user {username} added ({', '.join(role)})")


def _env_password() -> str | None:
    from kaohe.settings import settings

    pw = settings().password
    return pw.get_secret_value() if pw is not None else None


@user_app.command("passwd")
def user_passwd(
    username: str,
    password: Annotated[str | None, typer.Option(
        help="the new password (else $KAOHE_PASSWORD, else asked twice, not echoed)")] = None,
    db: DbOpt = None,
    as_: AsOpt = "",
) -> None:
    """Set a user's password; every session of the user ends."""
    from kaohe.workflow.accounts import change_password

    pw = password or _env_password()
    if pw is None:
        pw = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    n = run_action(db, as_, lambda s, a: change_password(s, username=username, new_password=pw,
                                                    actor=a))
    out.print(f"password of {username} changed; {n} session(s) ended")


@user_app.command("reset")
def user_reset(
    username: str,
    password: Annotated[str | None, typer.Option(
        help="the one-time password (default: one is made up and printed)")] = None,
    db: DbOpt = None,
    as_: AsOpt = "",
) -> None:
    """Give a user a one-time password: every session ends and they choose their own at the
    next login."""
    from kaohe.workflow.accounts import reset_password

    made, n = run_action(db, as_, lambda s, a: reset_password(s, username=username, actor=a,
                                                              password=password))
    out.print(f"one-time password of {username}: {made or '(as given)'}; {n} session(s) ended",
              markup=False)


@user_app.command("roles")
def user_roles(
    username: str,
    role: Annotated[list[str], typer.Option("--role", help="agent, supervisor, manager, hr, admin")],
    db: DbOpt = None,
    as_: AsOpt = "",
) -> None:
    """Replace a user's roles (HR gives agent, supervisor and manager; an admin any)."""
    from kaohe.workflow.accounts import set_roles

    run_action(db, as_, lambda s, a: set_roles(s, username=username, roles=role, actor=a))
    out.print(f"roles of {username}: {', '.join(role)}")


@user_app.command("teams")
def user_teams(
    username: str,
    team: Annotated[list[str] | None, typer.Option("--team", help="a team (none: no team)")] = None,
    db: DbOpt = None,
    as_: AsOpt = "",
) -> None:
    """Set the teams a supervisor or manager looks after."""
    from kaohe.workflow.accounts import set_teams

    run_action(db, as_, lambda s, a: set_teams(s, username=username, teams=team or [], actor=a))
    out.print(f"teams of {username}: {', '.join(team or []) or '-'}")


@user_app.command("disable")
def user_disable(username: str, db: DbOpt = None, as_: AsOpt = "") -> None:
    """Disable a user: no more logins, every session ends (the records stay)."""
    from kaohe.workflow.accounts import set_active

    n = run_action(db, as_, lambda s, a: set_active(s, username=username, active=False, actor=a))
    out.print(f"user {username} disabled; {n} session(s) ended")


@user_app.command("enable")
def user_enable(username: str, db: DbOpt = None, as_: AsOpt = "") -> None:
    """Enable a disabled user again."""
    from kaohe.workflow.accounts import set_active

    run_action(db, as_, lambda s, a: set_active(s, username=username, active=True, actor=a))
    out.print(f"user {username} enabled")


@user_app.command("logout")
def user_logout(username: str, db: DbOpt = None, as_: AsOpt = "") -> None:
    """End every session of a user (log out everywhere)."""
    from kaohe.workflow.accounts import revoke_sessions

    n = run_action(db, as_, lambda s, a: revoke_sessions(s, username=username, actor=a))
    out.print(f"{n} session(s) of {username} ended")


@user_app.command("list")
def user_list(db: DbOpt = None) -> None:
    """Users, their roles, whether they may log in, and their live sessions."""
    from sqlalchemy import select

    from kaohe.store.models import User
    from kaohe.workflow.accounts import live_sessions

    with open_db(db) as database, database.read() as session:
        live = live_sessions(session)
        table = Table("user", "name", "roles", "active", "sessions")
        for u in session.scalars(select(User).order_by(User.username)):
            table.add_row(u.username, u.display_name, ", ".join(u.roles),
                          "yes" if u.is_active else "no", str(live.get(u.id, 0)))
        out.print(table)


# -- cycles ------------------------------------------------------------------------------------
cycle_app = typer.Typer(help="Monthly cycles: open, import inputs, score, review, publish.",
                        no_args_is_help=True)


@cycle_app.command("open")
def cycle_open(scheme: Annotated[str, typer.Option(help="preset id or scheme YAML")],
               period: Annotated[str, typer.Option(help="YYYY-MM")],
               db: DbOpt = None, as_: AsOpt = "") -> None:
    """Open a cycle: pin the scheme version, one appraisal per active employee."""
    from kaohe.workflow.cycles import open_cycle

    def act(session: Session, actor: Any) -> tuple[int, str]:
        c = open_cycle(session, scheme_ref=scheme, period=period, actor=actor)
        return c.id, c.scheme_version.content_hash

    cid, digest = run_action(db, as_, act)
    out.print(f"cycle {cid} opened: {scheme} {period} (scheme hash {digest[:12]})")


@cycle_app.command("import-inputs")
def cycle_import(file: Path, cycle: CycleOpt = None,
                 scheme: Annotated[str | None, typer.Option()] = None,
                 period: Annotated[str | None, typer.Option()] = None,
                 db: DbOpt = None, as_: AsOpt = "") -> None:
    """Validate and store the month's input sheet, all or nothing."""
    from kaohe.workflow.cycles import import_inputs

    n = run_action(db, as_, lambda s, a: import_inputs(
        s, cycle_id=_cycle_id(s, cycle, scheme, period), path=file, actor=a))
    out.print(f"imported inputs for {n} appraisals")


def _item_tables(specs: list[str]) -> list[tuple[str, Path]]:
    """``--table NAME=FILE`` options as (name, file); one file per table."""
    out_: list[tuple[str, Path]] = []
    for spec in specs:
        name, sep, file = spec.partition("=")
        if not sep or not name.strip() or not file.strip():
            fail(f"{spec!r}: write a table as NAME=FILE, e.g. late_payments=deals.csv")
        if any(n == name.strip() for n, _ in out_):
            fail(f"table {name.strip()!r} is given twice; give each table one file")
        out_.append((name.strip(), Path(file.strip())))
    return out_


@cycle_app.command("items")
def cycle_items(tables: Annotated[list[str], typer.Option(
                    "--table", help="NAME=FILE (a CSV or xlsx), e.g. late_payments=deals.csv; "
                                    "repeat for several tables")],
                cycle: CycleOpt = None,
                scheme: Annotated[str | None, typer.Option()] = None,
                period: Annotated[str | None, typer.Option()] = None,
                dry_run: Annotated[bool, typer.Option(
                    "--dry-run", help="check and show the preview; write nothing")] = False,
                db: DbOpt = None, as_: AsOpt = "") -> None:
    """Validate and store the cycle's item tables (e.g. the late-paid deals), all or
    nothing: each replaces its table's rows of the cycle. Every problem is listed."""
    from kaohe.workflow.inputs import ImportPreview
    from kaohe.workflow.items import import_items, preview_items

    given = _item_tables(tables)

    def act(session: Session, actor: Any) -> list[tuple[str, ImportPreview]]:
        cid = _cycle_id(session, cycle, scheme, period)
        previews = [(name, preview_items(session, cycle_id=cid, table=name, path=file,
                                         actor=actor)) for name, file in given]
        problems = [e for _, p in previews for e in p.errors]
        if problems:
            for e in problems[:-1]:
                err.print(f"error: {e}", markup=False)
            raise problems[-1]
        if not dry_run:
            for name, file in given:
                import_items(session, cycle_id=cid, table=name, path=file, actor=actor)
        return previews

    for name, preview in run_action(db, as_, act):
        out.print(f"{name}: {preview.source}, {preview.rows} rows "
                  f"({', '.join(preview.columns)})", markup=False, soft_wrap=True)
        if preview.sample:
            table = Table("employee", *preview.columns)
            for row in preview.sample[:5]:
                table.add_row(row["employee"], *[row.get(c, "") for c in preview.columns])
            out.print(table)
    out.print("checked; nothing written (--dry-run)" if dry_run
              else f"imported {len(given)} item table(s)")


@cycle_app.command("score")
def cycle_score(cycle: CycleOpt = None, scheme: Annotated[str | None, typer.Option()] = None,
                period: Annotated[str | None, typer.Option()] = None,
                db: DbOpt = None, as_: AsOpt = "") -> None:
    """Score the cycle with its pinned scheme (earlier cycles feed the streak rules)."""
    from kaohe.workflow.cycles import score_cycle

    n, warnings = run_action(db, as_, lambda s, a: score_cycle(
        s, cycle_id=_cycle_id(s, cycle, scheme, period), actor=a))
    out.print(f"scored {n} appraisals")
    for w in warnings[:20]:
        err.print(f"warning: {w}", markup=False)


@cycle_app.command("advance")
def cycle_advance(action: Annotated[str, typer.Argument(
        help="submit_self_review | submit_supervisor_review | approve_second_review | close")],
        cycle: CycleOpt = None, scheme: Annotated[str | None, typer.Option()] = None,
        period: Annotated[str | None, typer.Option()] = None,
        db: DbOpt = None, as_: AsOpt = "") -> None:
    """HR's bulk move: fire one step on every appraisal waiting for it."""
    from kaohe.workflow.cycles import advance_all

    n = run_action(db, as_, lambda s, a: advance_all(
        s, cycle_id=_cycle_id(s, cycle, scheme, period), trigger=action, actor=a))
    out.print(f"{action}: {n} appraisals moved")


def _cycle_step(trigger: str, doc: str) -> None:
    def command(cycle: CycleOpt = None, scheme: Annotated[str | None, typer.Option()] = None,
                period: Annotated[str | None, typer.Option()] = None,
                today: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today)")] = None,
                db: DbOpt = None, as_: AsOpt = "") -> None:
        from kaohe.workflow.cycles import cycle_transition

        day = parse_date(today)
        state = run_action(db, as_, lambda s, a: cycle_transition(
            s, cycle_id=_cycle_id(s, cycle, scheme, period), trigger=trigger, actor=a,
            today=day).state.value)
        out.print(f"cycle {trigger}: now {state}")

    command.__doc__ = doc
    cycle_app.command(trigger)(command)


_cycle_step("approve", "Approve the cycle (every appraisal waiting for HR, all scored).")
_cycle_step("publish", "Publish: results frozen, appeal window and feedback deadline set.")
_cycle_step("close", "Close the cycle (no open appeal, every appeal window over).")


@cycle_app.command("list")
def cycle_list(db: DbOpt = None) -> None:
    """Cycles and how far their appraisals are."""
    from sqlalchemy import func, select

    from kaohe.store.models import Appraisal, Cycle

    with open_db(db) as database, database.transaction() as session:
        table = Table("id", "scheme", "period", "state", "appraisals", "by state")
        for c in session.scalars(select(Cycle).order_by(Cycle.period, Cycle.id)):
            counts = session.execute(select(Appraisal.state, func.count()).where(
                Appraisal.cycle_id == c.id).group_by(Appraisal.state)).all()
            table.add_row(str(c.id), c.scheme_id, c.period, c.state.value,
                          str(sum(n for _, n in counts)),
                          ", ".join(f"{s.value} {n}" for s, n in counts))
        out.print(table)


# -- single appraisals -----------------------------------------------------------------------
appraisal_app = typer.Typer(help="One appraisal: move it, rate it, record incidents.",
                            no_args_is_help=True)


@appraisal_app.command("move")
def appraisal_move(appraisal: int, action: str,
                   note: Annotated[str, typer.Option()] = "",
                   version: Annotated[int | None, typer.Option(help="expected version")] = None,
                   db: DbOpt = None, as_: AsOpt = "") -> None:
    """Fire one workflow step (e.g. submit_self_review, acknowledge)."""
    from kaohe.workflow.cycles import transition

    state = run_action(db, as_, lambda s, a: transition(
        s, appraisal_id=appraisal, trigger=action, actor=a, expected_version=version,
        note=note).state.value)
    out.print(f"appraisal {appraisal}: now {state}")


@appraisal_app.command("rate")
def appraisal_rate(appraisal: int, input_id: str, value: str,
                   role: Annotated[str, typer.Option(help="self, supervisor, manager or peer")] = "supervisor",
                   version: Annotated[int | None, typer.Option(help="expected version")] = None,
                   db: DbOpt = None, as_: AsOpt = "") -> None:
    """Save a rating (a level such as 比较满意, or a mark)."""
    from kaohe.workflow.cycles import rate

    v = run_action(db, as_, lambda s, a: rate(s, appraisal_id=appraisal, input_id=input_id,
                                         value=value, actor=a, role=role,
                                         expected_version=version).version)
    out.print(f"rated {input_id} = {value} (version {v})")


@appraisal_app.command("incident")
def appraisal_incident(appraisal: int, input_id: str,
                       date: Annotated[str, typer.Option(help="YYYY-MM-DD")],
                       count: Annotated[str, typer.Option()] = "1",
                       note: Annotated[str, typer.Option()] = "",
                       db: DbOpt = None, as_: AsOpt = "") -> None:
    """Record an incident that adds to a count input (a late arrival, an error)."""
    from kaohe.workflow.cycles import add_incident

    day = parse_date(date)
    assert day is not None
    try:
        n = Decimal(count)
    except InvalidOperation:
        fail(f"--count {count!r} is not a number")
        raise
    inc = run_action(db, as_, lambda s, a: add_incident(
        s, appraisal_id=appraisal, input_id=input_id, date=day, count=n, note=note,
        actor=a).id)
    out.print(f"incident {inc} recorded: {input_id} +{count}")


def _count(count: str | None) -> Decimal | None:
    if count is None:
        return None
    try:
        return Decimal(count)
    except InvalidOperation:
        fail(f"--count {count!r} is not a number")
        raise


@appraisal_app.command("incident-correct")
def appraisal_incident_correct(appraisal: int, incident: int,
                               reason: Annotated[str, typer.Option(help="why (audited)")],
                               date: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
                               count: Annotated[str | None, typer.Option()] = None,
                               note: Annotated[str | None, typer.Option()] = None,
                               db: DbOpt = None, as_: AsOpt = "") -> None:
    """Correct an incident's date, count or note, with a reason."""
    from kaohe.workflow.cycles import correct_incident

    day, n = parse_date(date) if date else None, _count(count)
    run_action(db, as_, lambda s, a: correct_incident(
        s, appraisal_id=appraisal, incident_id=incident, date=day, count=n, note=note,
        reason=reason, actor=a))
    out.print(f"incident {incident} corrected")


@appraisal_app.command("incident-remove")
def appraisal_incident_remove(appraisal: int, incident: int,
                              reason: Annotated[str, typer.Option(help="why (audited)")],
                              db: DbOpt = None, as_: AsOpt = "") -> None:
    """Remove an incident recorded in error, with a reason (the audit log keeps it)."""
    from kaohe.workflow.cycles import remove_incident

    run_action(db, as_, lambda s, a: remove_incident(s, appraisal_id=appraisal, incident_id=incident,
                                                reason=reason, actor=a))
    out.print(f"incident {incident} removed")


@appraisal_app.command("correct")
def appraisal_correct(appraisal: int, change: Annotated[list[str], typer.Argument(help="INPUT=VALUE")],
                      reason: Annotated[str, typer.Option()],
                      db: DbOpt = None, as_: AsOpt = "") -> None:
    """HR correction of a published result, with a reason; re-scored and recorded."""
    from kaohe.workflow.appeals import correct

    moved = run_action(db, as_, lambda s, a: correct(s, appraisal_id=appraisal, changes=_changes(change),
                                                reason=reason, actor=a))
    out.print(f"corrected; new results for appraisals {', '.join(map(str, moved))}")


@appraisal_app.command("show")
def appraisal_show(appraisal: int, db: DbOpt = None) -> None:
    """An appraisal's state, inputs and current result."""
    from sqlalchemy import select

    from kaohe.store.models import Result
    from kaohe.workflow.cycles import get_appraisal

    with open_db(db) as database:
        try:
            with database.transaction() as session:
                app = get_appraisal(session, appraisal)
                res = session.scalar(select(Result).where(Result.appraisal_id == app.id,
                                                          Result.is_current.is_(True)))
                doc = {"appraisal": app.id, "employee": app.employee.code,
                       "name": app.employee.name, "cycle": app.cycle_id,
                       "period": app.cycle.period, "state": app.state.value,
                       "version": app.version, "inputs": app.inputs,
                       "appeal_due": app.appeal_due.isoformat() if app.appeal_due else None,
                       "result": res.payload if res else None,
                       "revision": res.revision if res else None}
        except KaoheError as exc:
            fail(str(exc))
            raise
    out.print_json(json.dumps(doc, ensure_ascii=False))


# -- appeals, feedback, overdue ---------------------------------------------------------------
appeal_app = typer.Typer(help="Appeals (申诉).", no_args_is_help=True)


@appeal_app.command("file")
def appeal_file(appraisal: int, reason: Annotated[str, typer.Option()],
                today: Annotated[str | None, typer.Option()] = None,
                db: DbOpt = None, as_: AsOpt = "") -> None:
    """File an appeal against a published result (within the appeal window)."""
    from kaohe.workflow.appeals import file_appeal

    day = parse_date(today)

    def act(s: Session, a: Any) -> tuple[int, str, str]:
        ap = file_appeal(s, appraisal_id=appraisal, reason=reason, actor=a, today=day)
        return ap.id, ap.accept_due.isoformat(), ap.resolve_due.isoformat()

    aid, acc, res = run_action(db, as_, act)
    out.print(f"appeal {aid} filed; HR answers by {acc}, resolves by {res}")


@appeal_app.command("decide")
def appeal_decide(appeal: int, accept: Annotated[bool, typer.Option("--accept/--reject")],
                  note: Annotated[str, typer.Option()] = "",
                  today: Annotated[str | None, typer.Option()] = None,
                  db: DbOpt = None, as_: AsOpt = "") -> None:
    """Accept or reject an appeal."""
    from kaohe.workflow.appeals import decide_appeal

    day = parse_date(today)
    state = run_action(db, as_, lambda s, a: decide_appeal(s, appeal_id=appeal, accept=accept, note=note,
                                                      actor=a, today=day).state.value)
    out.print(f"appeal {appeal}: {state}")


@appeal_app.command("resolve")
def appeal_resolve(appeal: int, resolution: Annotated[str, typer.Option()],
                   change: Annotated[list[str] | None, typer.Argument(help="INPUT=VALUE")] = None,
                   today: Annotated[str | None, typer.Option()] = None,
                   db: DbOpt = None, as_: AsOpt = "") -> None:
    """Resolve an accepted appeal, granting input changes; the cycle is re-scored."""
    from kaohe.workflow.appeals import resolve_appeal

    day = parse_date(today)
    moved = run_action(db, as_, lambda s, a: resolve_appeal(
        s, appeal_id=appeal, changes=_changes(change or []), resolution=resolution, actor=a,
        today=day))
    out.print(f"appeal {appeal} resolved; new results for appraisals {', '.join(map(str, moved))}")


@appeal_app.command("list")
def appeal_list(db: DbOpt = None) -> None:
    from sqlalchemy import select

    from kaohe.store.models import Appeal

    with open_db(db) as database, database.transaction() as session:
        table = Table("id", "appraisal", "state", "filed", "answer by", "resolve by", "reason")
        for a in session.scalars(select(Appeal).order_by(Appeal.id)):
            table.add_row(str(a.id), str(a.appraisal_id), a.state.value, a.filed_on.isoformat(),
                          a.accept_due.isoformat(), a.resolve_due.isoformat(), a.reason[:40])
        out.print(table)


feedback_app = typer.Typer(help="Feedback meetings (面谈).", no_args_is_help=True)


@feedback_app.command("record")
def feedback_record(appraisal: int, notes: Annotated[str, typer.Option()],
                    held_on: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
                    db: DbOpt = None, as_: AsOpt = "") -> None:
    from kaohe.workflow.appeals import record_feedback

    day = parse_date(held_on) or localtime.today()
    run_action(db, as_, lambda s, a: record_feedback(s, appraisal_id=appraisal, held_on=day,
                                                notes=notes, actor=a))
    out.print("feedback meeting recorded")


def overdue(today: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
            db: DbOpt = None) -> None:
    """What is late: appeal answers, appeal resolutions, feedback meetings."""
    from kaohe.workflow.appeals import overdue as find

    day = parse_date(today)
    with open_db(db) as database, database.transaction() as session:
        items = find(session, today=day)
    table = Table("due", "kind", "appraisal", "employee", "what")
    for o in items:
        table.add_row(o.due.isoformat(), o.kind, str(o.appraisal_id), o.employee, o.detail)
    out.print(table if items else "nothing overdue")


export_app = typer.Typer(help="Exports.", no_args_is_help=True)


@export_app.command("payroll")
def export_payroll(output: Annotated[Path, typer.Option("--output", "-o", help=".xlsx or .csv")],
                   cycle: CycleOpt = None, scheme: Annotated[str | None, typer.Option()] = None,
                   period: Annotated[str | None, typer.Option()] = None,
                   db: DbOpt = None) -> None:
    """The payroll sheet of a published cycle, one line per employee, to the fen."""
    from kaohe.workflow.payroll import write_payroll

    with open_db(db) as database:
        try:
            with database.transaction() as session:
                n = write_payroll(session, cycle_id=_cycle_id(session, cycle, scheme, period),
                                  path=output)
        except KaoheError as exc:
            fail(str(exc))
            raise
    out.print(f"payroll: {n} lines written to {output}")


@export_app.command("forms")
def export_forms(output: Annotated[Path, typer.Option("--output", "-o", help="a folder, or a .zip")],
                 cycle: CycleOpt = None, scheme: Annotated[str | None, typer.Option()] = None,
                 period: Annotated[str | None, typer.Option()] = None,
                 team: Annotated[str | None, typer.Option(help="one team's forms only")] = None,
                 lang: Annotated[str, typer.Option(help="zh or en")] = "zh",
                 db: DbOpt = None) -> None:
    """The 考核表 forms of a cycle, one xlsx per employee (refused while a published
    appraisal of the cycle does not match its seal)."""
    import tempfile
    import zipfile

    from kaohe.reports.forms import write_forms
    from kaohe.workflow.cycles import scored_cycle
    from kaohe.workflow.seal import require_intact

    if lang not in ("zh", "en"):
        fail(f"--lang {lang!r}: use zh or en")
    with open_db(db) as database:
        try:
            with database.read() as session:
                cid = _cycle_id(session, cycle, scheme, period)
                require_intact(session, cycle_id=cid, team=team)
                scored, doc = scored_cycle(session, cycle_id=cid)
        except KaoheError as exc:
            fail(str(exc))
            raise
    if team is not None:
        doc["results"] = [r for r in doc["results"] if (r["team"] or "") == team]
    try:
        if output.suffix.lower() != ".zip":
            files = write_forms(scored, doc, output, lang=lang)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                files = write_forms(scored, doc, Path(tmp), lang=lang)
                part = output.with_name(output.name + ".part")
                with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as zf:
                    for f in files:
                        zf.write(f, f.name)
                part.replace(output)
    except KaoheError as exc:
        fail(str(exc))
        raise
    out.print(f"forms: {len(files)} written to {output}")


audit_app = typer.Typer(help="The tamper-evident audit log and sealed results.",
                        no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(expect_head: Annotated[str | None, typer.Option(
        help="a head hash noted earlier: it must still be in the chain (finds removed "
        "newest events)")] = None,
        full: Annotated[bool, typer.Option(
            "--full", help="score every published appraisal again and compare")] = False,
        sample: Annotated[int, typer.Option(
            min=0, help="published appraisals scored again at random (0: none)")] = 50,
        seed: Annotated[int | None, typer.Option(help="seed of the random sample")] = None,
        log_only: Annotated[bool, typer.Option(
            "--log-only", help="check only the hash chain, not the records")] = False,
        db: DbOpt = None) -> None:
    """Check the hash chain, then every published result, its inputs and ratings against
    the digests sealed at publication; score a sample again (all with --full) to show the
    engine gives the stored results. Names every mismatch; exit status 1 on any."""
    from kaohe.workflow.verification import record_run, verify_all

    scope = "log" if log_only else "full" if full else "records"
    with open_db(db) as database:
        with database.read() as session:
            report = verify_all(session, expect_head=expect_head, scope=scope, sample=sample,
                                seed=seed)
        with database.transaction() as session:
            record_run(session, report)
    v = report.log
    if v.ok:
        out.print(f"audit log ok: {v.events} events; head {v.head_seq} {v.head_hash}",
                  markup=False, soft_wrap=True)
    for p in v.problems:
        err.print(f"audit: {p.message}", markup=False, soft_wrap=True)
    for m in report.mismatches:
        err.print(f"record: {m.message}", markup=False, soft_wrap=True)
    if scope != "log" and not report.mismatches:
        again = (f"; scored again {report.rescored} ({report.rescored_cycles} cycles): the "
                 "engine gives the stored results" if report.rescored else "")
        out.print(f"records ok: {report.appraisals} published appraisals match their "
                  f"seals{again}", markup=False, soft_wrap=True)
    if report.ok:
        return
    failing = len({m.appraisal_id for m in report.mismatches})
    err.print(f"verification FAILED: {len(v.problems)} audit log problem(s) in {v.events} "
              f"events; {failing} appraisal(s) do not match", markup=False, soft_wrap=True)
    raise typer.Exit(1)


@audit_app.command("seal")
def audit_seal(reason: Annotated[str, typer.Option(help="why (recorded in the audit log)")],
               cycle: CycleOpt = None, scheme: Annotated[str | None, typer.Option()] = None,
               period: Annotated[str | None, typer.Option()] = None,
               db: DbOpt = None, as_: AsOpt = "") -> None:
    """Seal a cycle's published appraisals that have no seal (published before sealing
    existed), as they are now. Appraisals that have one are never sealed again this way."""
    from kaohe.workflow.seal import seal_unsealed

    n = run_action(db, as_, lambda s, a: seal_unsealed(
        s, cycle_id=_cycle_id(s, cycle, scheme, period), actor=a, reason=reason))
    out.print(f"sealed {n} published appraisals" if n else "nothing to seal: every published "
              "appraisal of the cycle has a seal")


@audit_app.command("log")
def audit_log(limit: Annotated[int, typer.Option()] = 30, db: DbOpt = None) -> None:
    """The newest events."""
    from sqlalchemy import select

    from kaohe.store.models import AuditEvent

    with open_db(db) as database, database.transaction() as session:
        table = Table("seq", "at (UTC)", "actor", "action", "target", "details")
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit))
        for e in rows:
            table.add_row(str(e.seq), e.at.isoformat(timespec="seconds"), e.actor.get("username", ""),
                          e.action, f"{e.target_type} {e.target_id}",
                          json.dumps(e.details, ensure_ascii=False)[:60])
        out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(org_app, name="org")
    app.add_typer(user_app, name="user")
    app.add_typer(cycle_app, name="cycle")
    app.add_typer(appraisal_app, name="appraisal")
    app.add_typer(appeal_app, name="appeal")
    app.add_typer(feedback_app, name="feedback")
    app.add_typer(export_app, name="export")
    app.add_typer(audit_app, name="audit")
    app.command("overdue")(overdue)
    from kaohe.cli_metrics import metrics_app

    app.add_typer(metrics_app, name="metrics")
