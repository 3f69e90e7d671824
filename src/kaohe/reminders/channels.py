"""Delivering: 企业微信 and 钉钉 group robots (their webhook JSON) over httpx, and e-mail
over SMTP (stdlib). Every request has a timeout; errors worth another try (no connection,
HTTP 429/5xx, a robot's "too fast", an SMTP 4xx or a dropped connection) are retried a
bounded number of times with growing waits (tenacity); others fail at once. Webhook
addresses carry keys, so no error message quotes them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    wait_exponential,
)
from tenacity.stop import stop_base

from kaohe.reminders.config import DingTalk, Email, RemindConfig, WeCom

#: robot error codes that mean "slow down" (企业微信 45009, 钉钉 130101): worth a retry
SLOW_DOWN = {45009, 130101}
#: the robots' limits on a message's content, in bytes of UTF-8
LIMITS = {"wecom_text": 2048, "wecom_markdown": 4096, "dingtalk": 18000}


class Retryable(Exception):
    """A failure another attempt may not have."""


class Failed(Exception):
    """A failure another attempt would repeat."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    attempts: int
    error: str = ""


class _Past(stop_base):
    """Stop retrying when the next attempt would start after the run's time is up."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return time.monotonic() + retry_state.upcoming_sleep >= self.deadline


#: a delivery not started because the run's time was up
OUT_OF_TIME = "not sent: the run ran out of time; the next run sends it"


def attempt(cfg: RemindConfig, action: Callable[[], None],
            deadline: float | None = None) -> Outcome:
    """Run ``action`` until it succeeds, fails for good, or the attempts are used up — or,
    with a ``deadline`` (``time.monotonic()``), the time is."""
    if deadline is not None and time.monotonic() >= deadline:
        return Outcome(False, 0, OUT_OF_TIME)
    tries = 0
    stop: stop_base = stop_after_attempt(cfg.attempts)
    if deadline is not None:
        stop = stop_any(stop, _Past(deadline))
    retrying = Retrying(stop=stop,
                        wait=wait_exponential(multiplier=cfg.retry_wait_s, max=60),
                        retry=retry_if_exception_type(Retryable), reraise=True)
    try:
        for trial in retrying:
            with trial:
                tries = trial.retry_state.attempt_number
                action()
    except (Retryable, Failed) as exc:
        return Outcome(False, tries, str(exc))
    return Outcome(True, tries)


# -- group robots ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Post:
    """One robot message: its JSON body, and how many of the lines (in order) it carries."""

    payload: dict[str, Any]
    size: int


#: a line of a group message: (the person's name, the line, their mobile for an @-mention)
Line = tuple[str, str, str | None]


def _chunks(header: str, lines: list[tuple[str, Line]], limit: int,
            per_mention: int) -> Iterator[list[tuple[str, Line]]]:
    """Rendered lines in runs that fit the robot's limit together with the header."""
    size = len(header.encode("utf-8"))
    run: list[tuple[str, Line]] = []
    used = size
    for text, line in lines:
        cost = len(text.encode("utf-8")) + 1 + (per_mention if line[2] else 0)
        if run and used + cost > limit:
            yield run
            run, used = [], size
        run.append((text, line))
        used += cost
    if run:
        yield run


def wecom_posts(cfg: WeCom, header: str, lines: list[Line], footer: str = "") -> list[Post]:
    """企业微信: text with ``mentioned_mobile_list`` (the people are @-mentioned), or markdown
    with the names in bold (markdown cannot @-mention by mobile)."""
    out = []
    if cfg.format == "markdown":
        tail = f"\n[{footer}]({footer})" if footer else ""
        rows = [(f"- **{name}**：{text}", (name, text, mobile)) for name, text, mobile in lines]
        for run in _chunks(header + tail, rows, LIMITS["wecom_markdown"], 0):
            content = f"**{header}**\n" + "\n".join(t for t, _ in run) + tail
            out.append(Post({"msgtype": "markdown", "markdown": {"content": content}},
                            len(run)))
        return out
    tail = f"\n{footer}" if footer else ""
    rows = [(f"{name}：{text}", (name, text, mobile)) for name, text, mobile in lines]
    for run in _chunks(header + tail, rows, LIMITS["wecom_text"], 14):
        body: dict[str, Any] = {"content": header + "\n" + "\n".join(t for t, _ in run) + tail}
        mobiles = sorted({line[2] for _, line in run if line[2]})
        if mobiles:
            body["mentioned_mobile_list"] = mobiles
        out.append(Post({"msgtype": "text", "text": body}, len(run)))
    return out


def dingtalk_posts(header: str, lines: list[Line], footer: str = "") -> list[Post]:
    """钉钉: text with ``at.atMobiles``; the @mobile is written into the text too, as 钉钉
    shows a mention only where the content contains it."""
    out = []
    tail = f"\n{footer}" if footer else ""
    rows = [(f"{name}：{text}" + (f" @{mobile}" if mobile else ""), (name, text, mobile))
            for name, text, mobile in lines]
    for run in _chunks(header + tail, rows, LIMITS["dingtalk"], 0):
        mobiles = sorted({line[2] for _, line in run if line[2]})
        out.append(Post({"msgtype": "text",
                         "text": {"content": header + "\n" + "\n".join(t for t, _ in run) + tail},
                         "at": {"atMobiles": mobiles, "isAtAll": False}},
                        len(run)))
    return out


def dingtalk_signed(webhook: str, secret: str, now_ms: int | None = None) -> str:
    """The webhook with ``timestamp`` and ``sign`` (HMAC-SHA256 of "timestamp\\nsecret" keyed
    by the secret, base64, URL-encoded), as 钉钉 asks of a robot with 加签."""
    ts = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode("utf-8"), f"{ts}\n{secret}".encode(), hashlib.sha256)
    sign = urllib.parse.quote_plus(base64.b64encode(digest.digest()))
    return f"{webhook}{'&' if '?' in webhook else '?'}timestamp={ts}&sign={sign}"


def post(client: httpx.Client, cfg: RemindConfig, url: Callable[[], str],
         payload: dict[str, Any], deadline: float | None = None) -> Outcome:
    """POST the JSON to the robot (``url`` is called per attempt: 钉钉 signs each one)."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")

    def once() -> None:
        try:
            r = client.post(url(), content=body,
                            headers={"Content-Type": "application/json; charset=utf-8"})
        except httpx.TransportError as exc:
            raise Retryable(f"no answer from the robot ({type(exc).__name__}: {exc})") from None
        if r.status_code == 429 or r.status_code >= 500:
            raise Retryable(f"the robot answered HTTP {r.status_code}")
        if r.status_code >= 300:  # a robot never redirects: a wrong address
            raise Failed(f"the robot answered HTTP {r.status_code}")
        try:
            answer = r.json()
        except ValueError:
            return  # accepted; a proxy in between may answer without JSON
        code = answer.get("errcode", 0) if isinstance(answer, dict) else 0
        if code:
            message = f"the robot refused: errcode {code} {answer.get('errmsg', '')}".strip()
            raise Retryable(message) if code in SLOW_DOWN else Failed(message)

    return attempt(cfg, once, deadline)


def robot_url(channel: str, cfg: RemindConfig) -> Callable[[], str]:
    if channel == "dingtalk":
        ding: DingTalk | None = cfg.dingtalk
        assert ding is not None
        if ding.secret:
            secret = ding.secret
            return lambda: dingtalk_signed(ding.webhook, secret)
        return lambda: ding.webhook
    assert cfg.wecom is not None
    hook = cfg.wecom.webhook
    return lambda: hook


# -- e-mail --------------------------------------------------------------------------------
class Mailer:
    """One SMTP connection for a run's mails, opened on first use and again after a drop."""

    def __init__(self, cfg: RemindConfig) -> None:
        assert cfg.email is not None
        self.cfg = cfg
        self.email: Email = cfg.email
        self.conn: smtplib.SMTP | None = None
        name, addr = parseaddr(self.email.sender)
        self.sender = Address(display_name=name, addr_spec=addr)

    def _connect(self) -> smtplib.SMTP:
        e = self.email
        timeout = self.cfg.timeout_s
        conn: smtplib.SMTP
        if e.security == "ssl":
            conn = smtplib.SMTP_SSL(e.host, e.port, timeout=timeout,
                                    context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(e.host, e.port, timeout=timeout)
            if e.security == "starttls":
                conn.starttls(context=ssl.create_default_context())
        if e.user:
            conn.login(e.user, e.password or "")
        return conn

    def message(self, *, to_name: str, to_addr: str, subject: str, body: str) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = self.sender
        msg["To"] = Address(display_name=to_name, addr_spec=to_addr)
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain=self.sender.domain or None)
        msg.set_content(body, charset="utf-8")
        return msg

    def send(self, msg: EmailMessage, deadline: float | None = None) -> Outcome:
        def once() -> None:
            try:
                if self.conn is None:
                    self.conn = self._connect()
                self.conn.send_message(msg)
            # smtplib's errors are OSErrors: the specific ones first
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [c for c, _m in exc.recipients.values()]
                detail = "; ".join(f"{c} {m.decode('utf-8', 'replace')}"
                                   for c, m in exc.recipients.values())
                if all(400 <= c < 500 for c in codes):
                    raise Retryable(f"mail server refused the recipient for now: {detail}") from None
                raise Failed(f"mail server refused the recipient: {detail}") from None
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as exc:
                self.close()
                raise Retryable(f"mail server: {type(exc).__name__}: {exc}") from None
            except smtplib.SMTPResponseException as exc:
                text = exc.smtp_error.decode("utf-8", "replace") if isinstance(
                    exc.smtp_error, bytes) else str(exc.smtp_error)
                self.close()
                if 400 <= exc.smtp_code < 500:
                    raise Retryable(f"mail server: {exc.smtp_code} {text}") from None
                raise Failed(f"mail server: {exc.smtp_code} {text}") from None
            except smtplib.SMTPException as exc:  # e.g. no STARTTLS, no AUTH offered
                self.close()
                raise Failed(f"mail server: {type(exc).__name__}: {exc}") from None
            except OSError as exc:  # refused, unreachable, timed out, TLS
                self.close()
                raise Retryable(f"mail server: {type(exc).__name__}: {exc}") from None

        return attempt(self.cfg, once, deadline)

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()
