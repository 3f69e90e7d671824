"""Times as logs write them: far-future seconds, zones, epoch numbers, a day ending at 24:00."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from kaohe.errors import InputError
from kaohe.metrics.rules import Rules, RulesError, load_rules

from .helpers import one, run

D = Decimal
BEIJING = dt.timezone(dt.timedelta(hours=8))


def m(ts: str, direction: str, buyer: str = "b1", agent: str = "a1") -> tuple[str, ...]:
    return ("S", agent, buyer, ts, direction, "0", "")


def epoch(local: str, *, ms: bool = False) -> str:
    """The epoch number of a Beijing wall-clock time, computed by the standard library."""
    t = dt.datetime.strptime(local, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    return str(int(t.timestamp()) * (1000 if ms else 1))


@pytest.mark.parametrize("day", ["2038-01-19", "2100-03-01"])
def test_equal_seconds_keep_file_order_after_2038(tmp_path: Path, day: str) -> None:
    # 03:14:08 on 2038-01-19 is 2^31 s after 1970: a packed (time << 32 | row) key overflows
    rows = [m(f"{day} 03:14:07", "in"), m(f"{day} 03:14:08", "out"),   # round of 1 s
            m(f"{day} 03:15:00", "out"), m(f"{day} 03:15:00", "in"),   # reply written first
            m(f"{day} 03:16:00", "out")]                               # → a round of 60 s
    r = one(run(tmp_path, rows, service_hours=["00:00", "24:00"]), period=day[:7])
    assert (r["consulted"], r["replied"]) == (1, 1)
    assert r["response_s"] == D("30.50") and r["first_response_s"] == D("1.00")


def test_sessions_and_orders_in_2100(tmp_path: Path) -> None:
    rows = [m("2100-12-31 10:00:00", "in"), m("2100-12-31 10:00:30", "out"),
            m("2100-12-31 10:10:30", "in"), m("2100-12-31 10:11:00", "out")]  # gap 600: new session
    orders = [("o1", "S", "b1", "2100-12-31 12:00:00", "2101-01-03 23:59:59", "99.90")]
    r = one(run(tmp_path, rows, orders), period="2100-12")
    assert r["first_response_s"] == D("30.00")  # two sessions, each first round 30 s
    assert (r["buyers"], r["sales"]) == (1, D("99.90"))


def test_zones_and_epoch_numbers_are_beijing_time(tmp_path: Path) -> None:
    rows = [m("2026-10-05T02:00:00Z", "in"),                        # 10:00:00 Beijing
            m(epoch("2026-10-05 10:00:20"), "out"),                 # epoch seconds
            m("2026-10-05 10:01:00+08:00", "in"),
            m(epoch("2026-10-05 10:01:45", ms=True), "out"),        # epoch milliseconds
            m("2026-10-04T23:30:00-01:00", "in", "b2"),             # 08:30 Beijing, 10-05
            m("2026-10-05T08:30:10.250+08:00", "out", "b2")]
    r = one(run(tmp_path, rows))
    assert r["consulted"] == 2 and r["replied"] == 2
    assert r["response_s"] == D("25.00")  # (20 + 45 + 10) / 3


def test_a_zoned_time_falls_on_its_beijing_date(tmp_path: Path) -> None:
    met = run(tmp_path, [m("2026-10-31T16:30:00Z", "in"), m("2026-10-31T16:30:40Z", "out")],
              service_hours=["00:00", "24:00"])
    assert [x["period"] for x in met.rows] == ["2026-11"]  # 00:30 on 11-01 in Beijing
    assert one(met, period="2026-11")["response_s"] == D("40.00")


def test_unreadable_time_names_the_accepted_forms(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"row 3, column 'ts': value '2026-10-05 10:00': "
                                         r"expected a time: a local time YYYY-MM-DD HH:MM:SS"):
        run(tmp_path, [m("2026-10-05 10:00:00", "in"), m("2026-10-05 10:00", "out")])


def test_service_hours_ending_at_midnight(tmp_path: Path) -> None:
    rows = [m("2026-10-05 23:59:59", "in"), m("2026-10-06 00:00:30", "out"),  # counted to 24:00
            m("2026-10-06 00:00:00", "in", "b2"), m("2026-10-06 00:00:10", "out", "b2"),
            m("2026-10-06 08:00:00", "in", "b3"), m("2026-10-06 08:00:20", "out", "b3")]
    r = one(run(tmp_path, rows, service_hours=["08:00", "24:00"]))
    assert r["response_s"] == D("25.50")  # 31 s (started 23:59:59) and 20 s; 00:00 is not
    r = one(run(tmp_path, rows))  # default 08:00–23:00: only b3's round
    assert r["response_s"] == D("20.00")


def test_rules_accept_24_00_only_as_the_end(tmp_path: Path) -> None:
    assert Rules(service_hours=("08:00", "24:00")).service_end_s == 86400
    f = tmp_path / "r.yaml"
    f.write_text("service_hours: ['08:00', '24:00']\n", encoding="utf-8")
    assert load_rules(f).service_hours == ("08:00", "24:00")
    for bad, why in ((["24:00", "24:00"], r"'24:00' is not a time of day"),
                     (["08:00", "24:01"], r"'24:01' is not a time of day .*24:00 for the end"),
                     (["08:00", "00:00"], r"start of service hours must be before")):
        f.write_text(f"service_hours: {bad}\n", encoding="utf-8")
        with pytest.raises(RulesError, match=why):
            load_rules(f)
