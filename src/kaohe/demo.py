"""A sample shop for ``kaohe demo``: three teams, about thirty agents, six months.

The data are generated from a fixed seed so every run shows the same shop. Each agent has
a steady skill level that drifts a little month to month, so rankings, grades, streaks and
the occasional dismissal flag look like a real team's.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

TEAMS = ("售前一组", "售前二组", "售前三组")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = ("晓雯", "子涵", "思远", "佳怡", "浩然", "雨桐", "俊杰", "欣怡", "梓轩", "诗琪",
         "文博", "若曦", "一鸣", "静怡", "宇航", "梦瑶", "天佑", "可馨", "明轩", "嘉欣")
LEVELS = ("非常满意", "比较满意", "一般", "不满意")

HEADER = ["employee", "name", "team", "period", "sales", "sales_target", "inquiries", "buyers",
          "received", "replied", "response_s", "followup_amount", "execution", "satisfaction",
          "bad_reviews", "full_attendance", "silent_sales"]


@dataclass
class Agent:
    employee: str
    name: str
    team: str
    skill: float  # 0..1


def months(start: str = "2026-05", count: int = 6) -> list[str]:
    y, m = (int(x) for x in start.split("-"))
    out = []
    for _ in range(count):
        out.append(f"{y:04d}-{m:02d}")
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


def agents(seed: int = 2026, per_team: tuple[int, ...] = (11, 10, 9)) -> list[Agent]:
    rng = random.Random(seed)
    out: list[Agent] = []
    n = 0
    used: set[str] = set()
    for team, size in zip(TEAMS, per_team, strict=True):
        for _ in range(size):
            n += 1
            while True:
                name = rng.choice(SURNAMES) + rng.choice(GIVEN)
                if name not in used:
                    used.add(name)
                    break
            out.append(Agent(f"KF{n:03d}", name, team, rng.betavariate(4, 2)))
    return out


def rows(seed: int = 2026) -> list[list[str]]:
    rng = random.Random(seed + 1)
    table: list[list[str]] = []
    for period in months():
        for a in agents(seed):
            a_skill = min(max(a.skill + rng.gauss(0, 0.08), 0.02), 0.99)
            target = rng.choice((80000, 100000, 120000))
            sales = round(target * (0.55 + 0.6 * a_skill + rng.gauss(0, 0.05)), 2)
            inquiries = rng.randint(300, 520)
            buyers = int(inquiries * (0.3 + 0.28 * a_skill + rng.gauss(0, 0.02)))
            received = inquiries + rng.randint(10, 60)
            replied = received - int(received * max(0.0, 0.09 - 0.09 * a_skill + rng.gauss(0, 0.01)))
            response = round(20 + 45 * (1 - a_skill) + rng.gauss(0, 4), 1)
            followup = round(15000 + 30000 * a_skill + rng.gauss(0, 4000), 2)
            level = LEVELS[min(3, max(0, int((1 - a_skill) * 3.2 + rng.gauss(0, 0.5))))]
            satisfaction = min(1.0, 0.86 + 0.14 * a_skill + rng.gauss(0, 0.01))
            bad = 1 if rng.random() < 0.01 + 0.03 * (1 - a_skill) else 0
            full = 1 if rng.random() < 0.8 else 0
            silent = round(rng.uniform(8000, 30000), 2)
            table.append([
                a.employee, a.name, a.team, period, f"{max(sales, 0):.2f}", str(target),
                str(inquiries), str(max(buyers, 0)), str(received), str(max(replied, 0)),
                f"{max(response, 5):.1f}", f"{max(followup, 0):.2f}", level,
                f"{satisfaction * 100:.1f}%", str(bad), str(full), f"{silent:.2f}",
            ])
    return table


def write_inputs(path: Path, seed: int = 2026) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows(seed))
    return path
