"""`kaohe metrics compute` shows its stages on a terminal, stays quiet in a pipe, and ends
with a summary either way."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from kaohe.metrics.sample import generate, write

SUMMARY = re.compile(r"4 agent-months written to .*: [\d,]+ messages, [\d,]+ sessions, "
                     r"4 agents in \d+\.\d s, peak memory \d+\.\d\d GiB")


def _cmd(tmp: Path) -> list[str]:
    folder = write(tmp / "logs", *generate(2000, agents=4, seed=5))
    return [sys.executable, "-m", "kaohe", "metrics", "compute", "--logs", str(folder),
            "-o", str(tmp / "out.csv")]


def test_quiet_in_a_pipe_with_a_summary(tmp_path: Path) -> None:
    r = subprocess.run(_cmd(tmp_path), capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert SUMMARY.search(" ".join(r.stdout.split())), r.stdout
    assert "sessions and rounds" not in r.stderr and "\x1b[" not in r.stderr + r.stdout


def test_stages_on_a_terminal(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "200", "TERM": "xterm"}
    proc = subprocess.Popen(_cmd(tmp_path), stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=180) == 0
    os.close(master)
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8", "replace"))
    for label in ("reading and checking the logs", "sessions and rounds", "attributing orders",
                  "rolling up to months"):
        assert label in shown
    assert "✓" in shown
    assert SUMMARY.search(" ".join(shown.split())), shown
