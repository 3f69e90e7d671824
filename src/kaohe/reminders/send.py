"""Sending the day's reminders: plan, claim, deliver, record.

A delivery is one reminder to one person over one channel on one Beijing day. It is claimed
(a ``reminder_deliveries`` row in state ``sending``, unique per day, reminder and channel)
in a short transaction before anything is sent, delivered outside any transaction, then
recorded — its row and an audit event (who, what, which channel, the outcome) — in a second
one. So a re-run the same day sends nothing already sent, two runs at once never send the
same delivery, and a failed delivery is tried again by the next run that day.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kaohe import i18n
from kaohe.reminders import channels, messages
from kaohe.reminders.config import RemindConfig
from kaohe.reminders.due import Reminder, due_reminders
from kaohe.store.db import Database
from kaohe.store.models import ReminderDelivery, utcnow
from kaohe.text import N_
from kaohe.workflow.audit import Actor, record
from kaohe.workflow.cycles import require_role

INTERRUPTED = "not sent: the run was interrupted; the next run sends it"
#: a claim older than this is taken to belong to a run that died
STALE = dt.timedelta(minutes=15)
#: states of a delivery in a report
DUE, SENT, FAILED, SKIPPED, ALREADY, OPTED_OUT, NO_CHANNEL = (
    "due", "sent", "failed", "skipped", "already", "opted_out", "no_channel")


@dataclass
class Delivery:
    reminder: Reminder
    channel: str  # email | wecom | dingtalk; "" when the person opted out or nothing is on
    state: str
    note: str = ""  # the address, or why it failed or was skipped
    attempts: int = 0


@dataclass
class Report:
    day: dt.date
    channels: list[str]
    deliveries: list[Delivery] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for d in self.deliveries if d.state == state)

    @property
    def reminders(self) -> list[Reminder]:
        seen: dict[str, Reminder] = {}
        for d in self.deliveries:
            seen.setdefault(d.reminder.key, d.reminder)
        return list(seen.values())


def plan(session: Session, cfg: RemindConfig, *, today: dt.date) -> Report:
    """What a run would do today, writing nothing."""
    report = Report(today, cfg.channels)
    done = {(r.key, r.channel): r.state for r in session.scalars(
        select(ReminderDelivery).where(ReminderDelivery.day == today))}
    for rem in due_reminders(session, today=today):
        if rem.opted_out:
            report.deliveries.append(Delivery(rem, "", OPTED_OUT))
            continue
        if not cfg.channels:
            report.deliveries.append(Delivery(rem, "", NO_CHANNEL))
            continue
        for channel in cfg.channels:
            state = done.get((rem.key, channel))
            note = rem.email or "" if channel == "email" else ""
            if state in (SENT, SKIPPED):
                report.deliveries.append(Delivery(rem, channel, ALREADY, note))
            elif channel == "email" and not rem.email:
                report.deliveries.append(Delivery(rem, channel, SKIPPED, "no e-mail address"))
            else:
                report.deliveries.append(Delivery(rem, channel, DUE, note))
    return report


def run(db: Database, cfg: RemindConfig, *, actor: Actor, today: dt.date,
        lang: str = "zh", budget_s: float | None = None) -> Report:
    """Send what is due today and record it; returns what happened to each delivery. With
    ``budget_s`` (the web button), deliveries not started within that many seconds are
    recorded as failed, for the next run to send."""
    deadline = time.monotonic() + budget_s if budget_s is not None else None
    require_role(actor, {"hr", "admin"}, "send reminders")
    with db.read() as session:
        report = plan(session, cfg, today=today)
    todo = [d for d in report.deliveries if d.state in (DUE, SKIPPED)]
    if not todo:
        return report
    with db.transaction() as session:
        claimed = _claim(session, todo, today)
    for d in todo:
        if id(d) not in claimed:
            d.state = ALREADY
    work = [d for d in todo if id(d) in claimed]
    try:
        with i18n.using(lang):
            _deliver(cfg, [d for d in work if d.state == DUE], today, deadline)
    finally:  # whatever happened, what was claimed is recorded (and retried if not sent)
        for d in work:
            if d.state == DUE:
                d.state, d.note = FAILED, INTERRUPTED
        with db.transaction() as session:
            _record(session, work, today, actor)
    return report


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(727275)"))


def _claim(session: Session, todo: list[Delivery], today: dt.date) -> set[int]:
    """Take each delivery no other run has taken (or has sent) today; ids of those taken."""
    _lock(session)
    rows = {(r.key, r.channel): r for r in session.scalars(
        select(ReminderDelivery).where(ReminderDelivery.day == today))}
    now = utcnow()
    taken: set[int] = set()
    for d in todo:
        row = rows.get((d.reminder.key, d.channel))
        if row is None:
            row = ReminderDelivery(day=today, key=d.reminder.key, channel=d.channel,
                                   user_id=d.reminder.user_id, state="sending", attempts=0,
                                   error="", updated_at=now)
            session.add(row)
            rows[(d.reminder.key, d.channel)] = row
        elif row.state == FAILED or (row.state == "sending" and now - row.updated_at > STALE):
            row.state, row.updated_at = "sending", now
        else:
            continue
        taken.add(id(d))
    session.flush()
    return taken


def _deliver(cfg: RemindConfig, work: list[Delivery], today: dt.date,
             deadline: float | None) -> None:
    mails = [d for d in work if d.channel == "email"]
    if mails:
        mailer = channels.Mailer(cfg)
        try:
            for d in mails:
                rem = d.reminder
                assert rem.email is not None
                msg = mailer.message(to_name=rem.name, to_addr=rem.email,
                                     subject=messages.subject(rem, today),
                                     body=messages.body(rem, today, cfg.link))
                _apply(d, mailer.send(msg, deadline))
        finally:
            mailer.close()
    robots: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
    for d in work:
        if d.channel in ("wecom", "dingtalk"):
            robots[(d.channel, d.reminder.group)].append(d)
    if not robots:
        return
    with httpx.Client(timeout=cfg.timeout_s, follow_redirects=False) as client:
        for (channel, _group), batch in robots.items():
            kind = batch[0].reminder.kind
            header = messages.group_header(kind)
            lines = [(d.reminder.name, messages.summary(d.reminder, today), d.reminder.mobile)
                     for d in batch]
            footer = messages.group_link(kind, cfg.link)
            if channel == "wecom":
                assert cfg.wecom is not None
                posts = channels.wecom_posts(cfg.wecom, header, lines, footer)
            else:
                posts = channels.dingtalk_posts(header, lines, footer)
            url = channels.robot_url(channel, cfg)
            start = 0
            for p in posts:
                outcome = channels.post(client, cfg, url, p.payload, deadline)
                for d in batch[start:start + p.size]:
                    _apply(d, outcome)
                start += p.size


def _apply(d: Delivery, outcome: channels.Outcome) -> None:
    d.state = SENT if outcome.ok else FAILED
    d.attempts = outcome.attempts
    if not outcome.ok:
        d.note = outcome.error


def _record(session: Session, work: list[Delivery], today: dt.date, actor: Actor) -> None:
    rows = {(r.key, r.channel): r for r in session.scalars(
        select(ReminderDelivery).where(ReminderDelivery.day == today))}
    now = utcnow()
    for d in work:
        rem = d.reminder
        row = rows[(rem.key, d.channel)]
        row.state, row.attempts, row.updated_at = d.state, d.attempts, now
        row.error = d.note if d.state in (FAILED, SKIPPED) else ""
        details: dict[str, Any] = {
            "to": rem.name, "kind": rem.kind, "channel": d.channel, "outcome": d.state,
            "key": rem.key, "day": today, "due": rem.due, "items": len(rem.items),
            "attempts": d.attempts}
        if d.channel == "email" and rem.email:
            details["address"] = rem.email
        if d.state in (FAILED, SKIPPED):
            details["error"] = d.note
        record(session, action=f"reminder.{d.state}", actor=actor, target_type="user",
               target_id=rem.user_id, details=details)
    session.flush()


CHANNELS = {"email": N_("e-mail"), "wecom": N_("WeCom group"),
            "dingtalk": N_("DingTalk group"), "": ""}
STATES = {DUE: N_("would be sent"), SENT: N_("sent"), FAILED: N_("failed"),
          SKIPPED: N_("skipped"), ALREADY: N_("already sent today"),
          OPTED_OUT: N_("opted out of reminders: not sent"),
          NO_CHANNEL: N_("no channel is configured: not sent")}
#: notes of the service itself (the errors of a server are shown as they came)
NOTES = {"no e-mail address": N_("no e-mail address")}


def describe(report: Report) -> list[str]:
    """The report, person by person, in the current language (the CLI prints it)."""
    _ = i18n.gettext
    out = [_("Reminders due on %(day)s (Beijing time): %(n)s") % {
        "day": messages.date_text(report.day), "n": len(report.reminders)}]
    if report.deliveries and not report.channels:
        out.append(_(STATES[NO_CHANNEL]))
    by_key: dict[str, list[Delivery]] = defaultdict(list)
    for d in report.deliveries:
        by_key[d.reminder.key].append(d)
    for deliveries in by_key.values():
        rem = deliveries[0].reminder
        out.append(f"{rem.name} — {messages.title(rem.kind)}: "
                   f"{messages.summary(rem, report.day)}")
        for d in deliveries:
            if d.state == NO_CHANNEL:
                continue
            parts = [_(CHANNELS[d.channel]) if d.channel else ""]
            if d.channel == "email" and rem.email:
                parts.append(rem.email)
            what = _(STATES[d.state])
            if d.note and d.state in (FAILED, SKIPPED):
                what += f" ({_(NOTES.get(d.note, d.note))})"
            out.append("    " + " ".join(p for p in parts if p) + (": " if d.channel else "")
                       + what)
    return out


def totals(report: Report) -> str:
    """One sentence for the HR console and the end of the CLI's report."""
    _ = i18n.gettext
    if not report.deliveries:
        return _("No reminders are due today.")
    if not report.channels:
        return _("%(n)s reminders are due, but no channel is configured (see the README, "
                 "Reminders): nothing was sent.") % {"n": len(report.reminders)}
    return _("Reminders: %(sent)s sent, %(failed)s failed, %(skipped)s skipped, %(already)s "
             "already sent today, %(off)s opted out.") % {
        "sent": report.count(SENT), "failed": report.count(FAILED),
        "skipped": report.count(SKIPPED), "already": report.count(ALREADY),
        "off": report.count(OPTED_OUT)}
