"""The words of a reminder, in the interface's languages (Chinese by default): English
message ids in the gettext catalogue, dates written as people read them in Beijing time
(``2026年11月5日（周四）``)."""

from __future__ import annotations

import datetime as dt

from kaohe import i18n
from kaohe.reminders.due import Reminder
from kaohe.text import N_
from kaohe.workflow.calendar import workdays_between

TITLES = {
    "self_review": N_("Self-review"),
    "supervisor_review": N_("Supervisor review"),
    "appeal_decision": N_("Appeals to answer"),
    "appeal_resolution": N_("Appeals to resolve"),
    "feedback_meeting": N_("Feedback meetings"),
}
#: one line per reminder: the person's name comes before it
SUMMARIES = {
    "self_review": N_("the self-review for %(period)s is not submitted; due %(due)s, %(when)s"),
    "supervisor_review": N_("%(n)s team members of %(period)s are waiting for your review; "
                            "due %(due)s, %(when)s"),
    "appeal_decision": N_("%(n)s appeals to accept or reject; the first is due %(due)s, "
                          "%(when)s"),
    "appeal_resolution": N_("%(n)s accepted appeals to resolve; the first is due %(due)s, "
                            "%(when)s"),
    "feedback_meeting": N_("%(n)s feedback meetings (面谈) not recorded; the first is due "
                           "%(due)s, %(when)s"),
}
#: the e-mail lists each item
ITEMS = {
    "supervisor_review": N_("%(person)s (%(code)s)"),
    "appeal_decision": N_("%(person)s (%(code)s), %(period)s, appeal %(appeal)s: answer by "
                          "%(due)s, %(when)s"),
    "appeal_resolution": N_("%(person)s (%(code)s), %(period)s, appeal %(appeal)s: resolve by "
                            "%(due)s, %(when)s"),
    "feedback_meeting": N_("%(person)s (%(code)s), %(period)s: hold and record by %(due)s, "
                           "%(when)s"),
}
PAGES = {"self_review": "/appraisals/{aid}", "supervisor_review": "/team",
         "appeal_decision": "/hr/appeals", "appeal_resolution": "/hr/appeals",
         "feedback_meeting": "/team"}
WEEKDAYS = "一二三四五六日"


def _(message: str) -> str:
    return i18n.gettext(message)


def date_text(day: dt.date) -> str:
    """A date as read in the current language: 2026年11月5日（周四） / Thu 5 Nov 2026."""
    if i18n.language() == "zh":
        return f"{day.year}年{day.month}月{day.day}日（周{WEEKDAYS[day.weekday()]}）"
    return f"{day:%a} {day.day} {day:%b %Y}"


def period_text(period: str) -> str:
    if i18n.language() == "zh" and len(period) == 7:
        return f"{period[:4]}年{int(period[5:])}月"
    return period


def when_text(due: dt.date, today: dt.date) -> str:
    """How far the deadline is, in working days."""
    if due < today:
        return _("overdue by %(n)s working days") % {"n": max(workdays_between(due, today), 1)}
    if due == today:
        return _("due today")
    return _("%(n)s working days left") % {"n": workdays_between(today, due)}


def title(kind: str) -> str:
    return _(TITLES[kind])


def summary(rem: Reminder, today: dt.date) -> str:
    return _(SUMMARIES[rem.kind]) % {"period": period_text(rem.period), "n": len(rem.items),
                                     "due": date_text(rem.due),
                                     "when": when_text(rem.due, today)}


def line(rem: Reminder, today: dt.date) -> str:
    """The reminder in one line, for a group message: 员工1：……"""
    return _("%(name)s: %(what)s") % {"name": rem.name, "what": summary(rem, today)}


def subject(rem: Reminder, today: dt.date) -> str:
    return _("[Appraisal] %(what)s: due %(due)s") % {"what": title(rem.kind),
                                                    "due": date_text(rem.due)}


def link(rem: Reminder, base: str) -> str:
    if not base:
        return ""
    return base.rstrip("/") + PAGES[rem.kind].format(aid=rem.items[0].appraisal_id)


def body(rem: Reminder, today: dt.date, base: str = "") -> str:
    """The e-mail's text: greeting, what is due, each item, the link, how to opt out."""
    lines = [_("Hello %(name)s,") % {"name": rem.name}, "",
             _("%(what)s.") % {"what": summary(rem, today)}]
    template = ITEMS.get(rem.kind)
    if template is not None:
        lines.append("")
        for item in rem.items:
            lines.append("- " + _(template) % {
                "person": item.name, "code": item.code, "period": period_text(item.period),
                "appeal": item.appeal_id, "due": date_text(item.due),
                "when": when_text(item.due, today)})
    url = link(rem, base)
    if url:
        lines += ["", _("Open: %(url)s") % {"url": url}]
    lines += ["", _("To stop these reminders, untick \"Send me reminders\" on your page "
                    "(My appraisals).")]
    return "\n".join(lines) + "\n"


def group_header(kind: str) -> str:
    return _("[Appraisal reminder] %(what)s") % {"what": title(kind)}


def group_link(kind: str, base: str) -> str:
    """Where a group message points: the agents' own page, or the page of the work."""
    if not base:
        return ""
    return base.rstrip("/") + ("/me" if kind == "self_review" else PAGES[kind])
