"""``kaohe serve`` as a real process on a free loopback port (one or more workers), for tests
that need real concurrency: parallel logins, a hostile upload beside a normal page."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def kaohe_serve(db_url: str, data_dir: Path, *, workers: int = 1) -> Iterator[str]:
    """Run ``kaohe serve`` until the block ends; yields its base URL."""
    port = free_port()
    env = {**os.environ, "KAOHE_DATA_DIR": str(data_dir)}
    env.pop("KAOHE_SECRET_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kaohe", "serve", "--db", db_url, "--port", str(port),
         "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"kaohe serve did not start: {proc.stderr.read()!r}"
                                   if proc.stderr else "kaohe serve did not start")
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its workers, started here
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def csrf(client: httpx.Client) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert m
    return m.group(1)


def login(client: httpx.Client, user: str, password: str) -> httpx.Response:
    return client.post("/login", data={"username": user, "password": password,
                                       "csrf": csrf(client)}, follow_redirects=False)
