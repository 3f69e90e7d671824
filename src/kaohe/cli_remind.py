"""CLI: ``kaohe remind`` (for cron or a systemd timer) and the reminder settings of users:
``kaohe user set`` (contact, name), ``kaohe user remind-off`` / ``remind-on``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kaohe.cli_store import AsOpt, DbOpt, acting_user, fail, open_db, out, parse_date, run_action
from kaohe.errors import KaoheError

if TYPE_CHECKING:  # the store is imported by the commands that use it, not to list them
    from sqlalchemy.orm import Session


def remind(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list what would be sent, by person; "
                                          "send and record nothing")] = False,
    config: Annotated[Path | None, typer.Option(help="channels YAML (default: "
                                                "$KAOHE_REMIND_CONFIG; see the README)")] = None,
    today: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today in Beijing)")] = None,
    lang: Annotated[str, typer.Option(help="language of the messages: zh or en")] = "zh",
    any_day: Annotated[bool, typer.Option("--any-day", help="send on a rest day too (by "
                                          "default only working days, 调休 included)")] = False,
    db: DbOpt = None,
    as_: AsOpt = "",
) -> None:
    """Send the reminders due today (self-review, supervisor review, appeal answers and
    resolutions, feedback meetings) over the configured channels, once a day each, on working
    days; exits 1 when a delivery failed (the others are still sent)."""
    from kaohe import i18n
    from kaohe.reminders import config as remind_config
    from kaohe.reminders import messages, send
    from kaohe.reminders.due import beijing_today
    from kaohe.workflow.calendar import is_workday

    if lang not in i18n.LANGUAGES:
        fail(f"--lang {lang!r}: expected one of {', '.join(i18n.LANGUAGES)}")
    day = parse_date(today) or beijing_today()
    try:
        cfg = remind_config.load(config)
    except KaoheError as exc:
        fail(str(exc))
        raise
    rest_day = not any_day and not is_workday(day)[0]
    if rest_day:
        with i18n.using(lang):
            out.print(i18n.gettext("%(day)s is not a working day: nothing is sent (--any-day "
                                   "sends anyway).") % {"day": messages.date_text(day)},
                      markup=False, highlight=False)
        if not dry_run:
            return
    if dry_run:
        with open_db(db) as database, database.read() as session, i18n.using(lang):
            report = send.plan(session, cfg, today=day)
            lines = send.describe(report)
    else:
        from kaohe.workflow.org import actor_for

        with open_db(db) as database:
            try:
                with database.read() as session:
                    actor, _u = actor_for(session, acting_user(as_))
                report = send.run(database, cfg, actor=actor, today=day, lang=lang)
            except KaoheError as exc:
                fail(str(exc))
                raise
            with i18n.using(lang):
                lines = [*send.describe(report), send.totals(report)]
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    if report.count(send.FAILED):
        raise typer.Exit(1)


def user_set(username: str,
             email: Annotated[str | None, typer.Option(help="e-mail address ('' clears)")] = None,
             mobile: Annotated[str | None, typer.Option(help="mobile number for @-mentions "
                                                        "('' clears)")] = None,
             name: Annotated[str | None, typer.Option(help="the person's name as shown")] = None,
             db: DbOpt = None, as_: AsOpt = "") -> None:
    """Set a user's own contact (over the org sheet's) or name."""
    from kaohe.workflow.org import set_contact

    def act(s: Session, a: Any) -> str:
        u = set_contact(s, username=username, actor=a, email=email, mobile=mobile,
                        display_name=name)
        return f"{u.username}: {u.person_name}, e-mail {u.contact_email or '-'}, " \
               f"mobile {u.contact_mobile or '-'}"

    out.print(run_action(db, as_, act), markup=False, highlight=False)


def _reminders(on: bool) -> Any:
    def command(username: str, db: DbOpt = None, as_: AsOpt = "") -> None:
        from kaohe.workflow.org import set_reminders

        run_action(db, as_, lambda s, a: set_reminders(s, username=username, on=on, actor=a))
        out.print(f"reminders {'on' if on else 'off'} for {username}")

    command.__doc__ = ("Send this user reminders again." if on else
                       "Send this user no reminders (their own choice, kept in the audit log).")
    return command


def register(app: typer.Typer, user_app: typer.Typer) -> None:
    app.command("remind")(remind)
    user_app.command("set")(user_set)
    user_app.command("remind-off")(_reminders(False))
    user_app.command("remind-on")(_reminders(True))
