"""Real concurrent connections and a killed import.

Two threads, each with its own connection, read the same rating version and save at the
same moment: exactly one wins, the other gets a conflict, nothing is lost. An import killed
with SIGKILL part-way leaves the database exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import select

from kaohe.store import migrate
from kaohe.store.db import Database
from kaohe.store.models import Appraisal, Employee, Rating
from kaohe.workflow import cycles
from kaohe.workflow.errors import Conflict
from kaohe.workflow.org import actor_for

from .factories import ADMIN, input_row, setup_org, write_inputs


def test_concurrent_saves_of_one_rating(db: Database, tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period="2026-10",
                                actor=ADMIN).id
        app = s.scalar(select(Appraisal.id).join(Employee).where(
            Appraisal.cycle_id == cid, Employee.code == "E001"))
        assert app is not None
        # the supervisor rates during the supervisor review
        cycles.transition(s, appraisal_id=app, trigger="submit_self_review", actor=ADMIN)
        sup1, _ = actor_for(s, "sup1")
        version = cycles.rate(s, appraisal_id=app, input_id="execution", value="一般",
                              actor=sup1, role="supervisor").version
    barrier = threading.Barrier(2, timeout=20)
    outcomes: dict[str, str] = {}

    def save(value: str) -> None:
        other = Database(db.url)  # its own engine: its own connection
        try:
            barrier.wait()  # both start together from the version they both read
            with other.transaction() as s:
                actor, _ = actor_for(s, "sup1")
                cycles.rate(s, appraisal_id=app, input_id="execution", value=value,
                            actor=actor, role="supervisor", expected_version=version)
            outcomes[value] = "saved"
        except Conflict:
            outcomes[value] = "conflict"
        finally:
            other.dispose()

    threads = [threading.Thread(target=save, args=(v,)) for v in ("非常满意", "不满意")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes.values()) == ["conflict", "saved"]
    winner = next(v for v, o in outcomes.items() if o == "saved")
    with db.transaction() as s:
        assert s.scalar(select(Rating.value).where(Rating.appraisal_id == app)) == winner


def _fingerprint(db: Database) -> str:
    with db.transaction() as s:
        rows = s.execute(select(Appraisal.id, Appraisal.inputs, Appraisal.version)
                         .order_by(Appraisal.id)).all()
    body = json.dumps([list(r) for r in rows], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _writing(db: Database, wal: Path | None, wal_start: int) -> bool:
    """Has the import's transaction begun writing (and not yet committed)?"""
    if wal is not None:
        return wal.exists() and wal.stat().st_size > wal_start
    with db.engine.connect() as conn:
        n = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'appraisals' AND l.mode = 'RowExclusiveLock' "
            "AND l.pid <> pg_backend_pid()").scalar()
    return bool(n)


def _filled(db: Database) -> int:
    with db.transaction() as s:
        return sum(1 for (inputs,) in s.execute(select(Appraisal.inputs)) if inputs)


def test_import_killed_part_way_leaves_the_database_as_before(db: Database,
                                                                tmp_path: Path) -> None:
    n = 5000
    setup_org(db, tmp_path, n=n)
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period="2026-10",
                                actor=ADMIN).id
    sheet = write_inputs(tmp_path / "big.csv",
                         [input_row(f"E{i:03d}", "2026-10") for i in range(1, n + 1)])
    before = _fingerprint(db)
    wal = Path(f"{db.engine.url.database}-wal") if db.is_sqlite else None
    wal_start = wal.stat().st_size if wal is not None and wal.exists() else 0
    env = {**os.environ, "KAOHE_DATABASE_URL": db.url, "KAOHE_USER": "hr"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kaohe", "cycle", "import-inputs", "--cycle", str(cid),
         str(sheet)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if _writing(db, wal, wal_start):
            break
        time.sleep(0.002)
    assert proc.poll() is None, "the import finished before it could be killed part-way"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    assert _fingerprint(db) == before
    assert _filled(db) == 0
    assert migrate.is_current(db)
