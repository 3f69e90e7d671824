"""Builders for store tests: an organisation, users and a cycle's input sheet."""

from __future__ import annotations

import csv
from pathlib import Path

from kaohe.store.db import Database
from kaohe.workflow import org
from kaohe.workflow.audit import Actor

ADMIN = Actor("system-test", ("admin",))

INPUT_HEADER = ["employee", "period", "sales", "sales_target", "inquiries", "buyers", "received",
                "replied", "response_s", "followup_amount", "execution", "satisfaction",
                "bad_reviews", "full_attendance", "silent_sales"]


def write_org(path: Path, n: int = 6, teams: tuple[str, ...] = ("一组", "二组")) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["工号", "姓名", "团队", "岗位", "入职日期"])
        for i in range(1, n + 1):
            w.writerow([f"E{i:03d}", f"员工{i}", teams[(i - 1) % len(teams)], "售前客服",
                        "2025-01-01"])
    return path


def input_row(code: str, period: str, *, sales: str = "105000", execution: str = "比较满意",
              bad_reviews: str = "0") -> list[str]:
    return [code, period, sales, "100000", "400", "190", "420", "410", "32", "35000", execution,
            "98.5%", bad_reviews, "1", "20000"]


def write_inputs(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(INPUT_HEADER)
        w.writerows(rows)
    return path


def setup_org(db: Database, tmp: Path, n: int = 6) -> None:
    with db.transaction() as s:
        org.import_employees(s, path=write_org(tmp / "org.csv", n), actor=ADMIN)
        org.create_user(s, username="hr", roles=["hr"], actor=ADMIN, password="pw")
        org.create_user(s, username="boss", roles=["manager"], actor=ADMIN)
        org.create_user(s, username="sup1", roles=["supervisor"], actor=ADMIN, teams=["一组"])
        org.create_user(s, username="sup2", roles=["supervisor"], actor=ADMIN, teams=["一组"])
        for i in range(1, n + 1):
            org.create_user(s, username=f"e{i}", roles=["agent"], actor=ADMIN,
                            employee_code=f"E{i:03d}")
