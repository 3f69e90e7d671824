"""Where reminders go: a YAML file and/or environment variables (secrets belong in the
environment). The file is ``--config FILE`` or ``$KAOHE_REMIND_CONFIG``::

    wecom:                       # 企业微信 group robot
      webhook: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…
      format: text               # text: @-mentions by mobile; markdown: bold names, no @
    dingtalk:                    # 钉钉 group robot
      webhook: https://oapi.dingtalk.com/robot/send?access_token=…
      secret: SEC…               # only for a robot with 加签 (signed requests)
    email:
      host: smtp.example.com
      port: 587
      security: starttls         # starttls | ssl | none
      user: kaohe@example.com
      password: …                # better: KAOHE_SMTP_PASSWORD
      sender: 绩效考核 <kaohe@example.com>
    link: https://kaohe.example.com   # the app's address, for links in the messages
    timeout_s: 10                # per request
    attempts: 3                  # per delivery, for errors worth retrying
    retry_wait_s: 2              # first wait between attempts, doubled each time

Each value can be set (or overridden) by an environment variable: ``KAOHE_WECOM_WEBHOOK``,
``KAOHE_WECOM_FORMAT``, ``KAOHE_DINGTALK_WEBHOOK``, ``KAOHE_DINGTALK_SECRET``,
``KAOHE_SMTP_HOST``, ``KAOHE_SMTP_PORT``, ``KAOHE_SMTP_SECURITY``, ``KAOHE_SMTP_USER``,
``KAOHE_SMTP_PASSWORD``, ``KAOHE_SMTP_SENDER``, ``KAOHE_REMIND_LINK``. A channel without
its webhook (or SMTP host) is off.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kaohe.errors import KaoheError

ENV_FILE = "KAOHE_REMIND_CONFIG"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _webhook(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("expected the robot's webhook address, starting with https://")
    return value


class WeCom(_Strict):
    webhook: str
    format: Literal["text", "markdown"] = "text"

    _check = field_validator("webhook")(_webhook)


class DingTalk(_Strict):
    webhook: str
    secret: str | None = None

    _check = field_validator("webhook")(_webhook)


class Email(_Strict):
    host: str
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    user: str | None = None
    password: str | None = None
    sender: str

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        from email.utils import parseaddr

        if "@" not in parseaddr(value)[1]:
            raise ValueError("expected an address such as 绩效考核 <kaohe@example.com>")
        return value


class RemindConfig(_Strict):
    wecom: WeCom | None = None
    dingtalk: DingTalk | None = None
    email: Email | None = None
    link: str = ""
    timeout_s: float = Field(10.0, gt=0, le=120)
    attempts: int = Field(3, ge=1, le=10)
    retry_wait_s: float = Field(2.0, ge=0, le=60)

    @property
    def channels(self) -> list[str]:
        """The channels that are on, in the order they are used."""
        return [name for name in ("email", "wecom", "dingtalk") if getattr(self, name)]


#: environment variable → (section, key)
ENV: dict[str, tuple[str | None, str]] = {
    "KAOHE_WECOM_WEBHOOK": ("wecom", "webhook"),
    "KAOHE_WECOM_FORMAT": ("wecom", "format"),
    "KAOHE_DINGTALK_WEBHOOK": ("dingtalk", "webhook"),
    "KAOHE_DINGTALK_SECRET": ("dingtalk", "secret"),
    "KAOHE_SMTP_HOST": ("email", "host"),
    "KAOHE_SMTP_PORT": ("email", "port"),
    "KAOHE_SMTP_SECURITY": ("email", "security"),
    "KAOHE_SMTP_USER": ("email", "user"),
    "KAOHE_SMTP_PASSWORD": ("email", "password"),
    "KAOHE_SMTP_SENDER": ("email", "sender"),
    "KAOHE_REMIND_LINK": (None, "link"),
}
#: sections that exist only once their address is given (a lone password turns nothing on)
_REQUIRED = {"wecom": "webhook", "dingtalk": "webhook", "email": "host"}


def load(path: str | Path | None = None, env: dict[str, str] | None = None) -> RemindConfig:
    """The file (``path``, else ``$KAOHE_REMIND_CONFIG``, else none), then the environment."""
    environ = os.environ if env is None else env
    where = str(path) if path is not None else environ.get(ENV_FILE)
    data: dict[str, Any] = {}
    if where:
        p = Path(where)
        if not p.is_file():
            raise KaoheError(f"{where}: no such reminder configuration file")
        try:
            loaded = yaml.safe_load(p.read_text("utf-8"))
        except yaml.YAMLError as exc:
            raise KaoheError(f"{where}: not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise KaoheError(f"{where}: expected a mapping of channels (wecom, dingtalk, email)")
        data = dict(loaded or {})
    in_file = set(data)
    for var, (section, key) in ENV.items():
        value = environ.get(var)
        if value is None or value == "":
            continue
        if section is None:
            data[key] = value
        else:
            data[section] = {**(data.get(section) or {}), key: value}
    for section, key in _REQUIRED.items():  # the environment alone turns on a channel by its address
        if section in data and section not in in_file and not data[section].get(key):
            data.pop(section)
    try:
        return RemindConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise KaoheError(f"{where or 'environment'}: reminder setting {field}: "
                         f"{first['msg']}") from None
