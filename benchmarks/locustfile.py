"""Locust users for bench_web.py --locust: agents open their scorecard, supervisors their
team board, each thinking 0.5–1.5 s between pages. The logins come from the environment
(``KAOHE_BENCH_AGENTS`` = "user:appraisal_id,…", ``KAOHE_BENCH_SUPERVISORS`` = "user,…");
every user logs in once, with the form's CSRF token. Pages are requested only once every
user has logged in (Argon2 is slow on purpose: logins are not what is measured), and the
sessions then start spread over one think time, as they would arrive."""

from __future__ import annotations

import itertools
import os
import random
import re

import gevent
from gevent.event import Event
from locust import HttpUser, between, task

_AGENTS = itertools.cycle([tuple(x.split(":")) for x in
                           os.environ.get("KAOHE_BENCH_AGENTS", "").split(",") if x])
_SUPERVISORS = itertools.cycle([x for x in os.environ.get("KAOHE_BENCH_SUPERVISORS",
                                                          "").split(",") if x])


_EXPECTED = 2 * int(os.environ.get("KAOHE_BENCH_EACH", "25"))
_logged_in = [0]
_everyone_in = Event()


def _ready() -> None:
    _logged_in[0] += 1
    if _logged_in[0] >= _EXPECTED:
        _everyone_in.set()
    _everyone_in.wait(timeout=300)
    gevent.sleep(random.uniform(0, 1.5))


def _login(user: HttpUser, name: str) -> None:
    page = user.client.get("/login", name="login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the login page"
    r = user.client.post("/login", name="login", allow_redirects=False,
                         data={"username": name, "password": "pw", "csrf": token.group(1)})
    assert r.status_code == 303, r.status_code


class Agent(HttpUser):
    fixed_count = int(os.environ.get("KAOHE_BENCH_EACH", "25"))
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        name, appraisal = next(_AGENTS)
        self.path = f"/appraisals/{appraisal}"
        _login(self, name)
        _ready()

    @task
    def scorecard(self) -> None:
        self.client.get(self.path, name="scorecard")


class Supervisor(HttpUser):
    fixed_count = int(os.environ.get("KAOHE_BENCH_EACH", "25"))
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        _login(self, next(_SUPERVISORS))
        _ready()

    @task
    def team_board(self) -> None:
        self.client.get("/team", name="team board")
