"""docs/metrics.md, one rule at a time, with hand-computed numbers and its boundaries."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from kaohe.errors import InputError
from kaohe.metrics.rules import RulesError, load_rules

from .helpers import logs, one, run

D = Decimal


def msg(ts: str, direction: str, buyer: str = "b1", agent: str = "a1", auto: int = 0,
        text: str = "", shop: str = "S") -> tuple[str, ...]:
    return (shop, agent, buyer, f"2026-10-{ts}", direction, str(auto), text)


def test_worked_example(tmp_path: Path) -> None:
    """The example of docs/metrics.md §8 (the project's copy)."""
    m = run(tmp_path, [
        msg("05 10:00:00", "in"), msg("05 10:00:05", "out", auto=1),
        msg("05 10:02:00", "out"),            # round 1: 120 s (not slow: strictly more)
        msg("05 10:03:00", "in"), msg("05 10:06:00", "out"),  # round 2: 180 s, fast
        msg("05 10:16:00", "in"),             # 600 s after the last message: new session
        msg("05 10:26:00", "in"),             # again exactly 600 s: another new session
        msg("05 23:00:00", "in", "b2"), msg("05 23:01:00", "out", "b2"),  # 23:00 not counted
    ], [("o1", "S", "b1", "2026-10-05 11:00:00", "2026-10-08 23:59:59", "199.00"),
        ("o2", "S", "b2", "2026-10-06 09:00:00", "", "50.00")])
    r = one(m)
    assert (r["consulted"], r["received"], r["inquiries"], r["replied"]) == (2, 2, 2, 2)
    # o1 is attributed to (a1, b1, 10-05) and finally paid at 23:59:59 of created + 3 days
    assert (r["buyers"], r["sales"], r["conversion"], r["aov"]) == (
        1, D("199.00"), D("0.5000"), D("199.00"))
    # counted rounds 120, 180, 600 (open at session end), 600 → mean 375
    assert r["response_s"] == D("375.00")
    # first rounds of the three b1 sessions: 120, 600, 600 → 440
    assert r["first_response_s"] == D("440.00")
    assert r["fast_reply_rate"] == D("0.5000")
    # three rounds slower than 120 s on (b1, 10-05) → one slow reception of two received
    assert (r["slow_receptions"], r["slow_rate"]) == (1, D("0.5000"))


def test_gap_one_second_short_of_idle_stays_in_the_session(tmp_path: Path) -> None:
    m = run(tmp_path, [msg("05 10:00:00", "in"), msg("05 10:09:59", "in"),
                       msg("05 10:10:30", "out")])
    r = one(m)
    # one round from 10:00:00 to 10:10:30 = 630 s, capped at 600
    assert r["response_s"] == D("600.00") and r["first_response_s"] == D("600.00")


def test_reply_boundaries_121_and_181_seconds(tmp_path: Path) -> None:
    m = run(tmp_path, [msg("05 10:00:00", "in"), msg("05 10:02:01", "out"),
                       msg("05 10:03:00", "in"), msg("05 10:06:01", "out"),
                       msg("05 10:07:00", "in"), msg("05 10:09:01", "out")],
            slow_rounds_per_day=3)
    r = one(m)
    assert r["fast_reply_rate"] == D("0.6667")  # 121, 181, 121: two within 180
    assert r["slow_receptions"] == 3 // 3      # all three > 120
    assert r["response_s"] == D("141.00")


def test_service_hours_start_inclusive_end_exclusive(tmp_path: Path) -> None:
    m = run(tmp_path, [msg("05 08:00:00", "in"), msg("05 08:00:10", "out"),
                       msg("05 22:59:59", "in", "b2"), msg("05 23:00:09", "out", "b2"),
                       msg("05 07:59:59", "in", "b3"), msg("05 08:10:00", "out", "b3")])
    r = one(m)
    assert r["response_s"] == D("10.00")  # 08:00:00 and 22:59:59 counted, 07:59:59 not
    assert r["consulted"] == 3  # buyer-days exist whatever the hour


def test_final_payment_window_ends_at_midnight(tmp_path: Path) -> None:
    m = run(tmp_path, [msg("05 10:00:00", "in"), msg("05 10:01:00", "out"),
                       msg("05 10:00:00", "in", "b2"), msg("05 10:01:00", "out", "b2")],
            [("o1", "S", "b1", "2026-10-05 12:00:00", "2026-10-08 23:59:59", "10.00"),
             ("o2", "S", "b2", "2026-10-05 12:00:00", "2026-10-09 00:00:00", "20.00")])
    r = one(m)
    assert (r["buyers"], r["sales"]) == (1, D("10.00"))


def test_after_sales_window_of_exactly_21_days(tmp_path: Path) -> None:
    # paid 2026-09-14 10:00:00; back 21 × 24 h later exactly → after-sales; b2 a second later
    m = run(tmp_path, [msg("05 10:00:00", "in"), msg("05 10:00:30", "out"),
                       msg("05 10:00:01", "in", "b2"), msg("05 10:00:30", "out", "b2")],
            [("o1", "S", "b1", "2026-09-14 09:00:00", "2026-09-14 10:00:00", "10.00"),
             ("o2", "S", "b2", "2026-09-14 09:00:00", "2026-09-14 10:00:00", "10.00")])
    r = one(m)
    assert (r["received"], r["inquiries"]) == (2, 1)


def test_after_sales_buyer_who_orders_again_is_an_inquiry(tmp_path: Path) -> None:
    m = run(tmp_path, [msg("05 10:00:00", "in"), msg("05 10:00:30", "out")],
            [("o1", "S", "b1", "2026-10-01 09:00:00", "2026-10-01 10:00:00", "10.00"),
             ("o2", "S", "b1", "2026-10-06 09:59:59", "2026-10-06 10:00:00", "30.00")])
    r = one(m)
    assert (r["inquiries"], r["buyers"], r["sales"]) == (1, 1, D("30.00"))


def test_attribution_modes_and_validity(tmp_path: Path) -> None:
    msgs = [msg("05 10:00:00", "in"), msg("05 10:00:30", "out"),
            msg("06 09:00:00", "in", agent="a2"), msg("06 09:00:10", "out", agent="a2")]
    orders = [("o1", "S", "b1", "2026-10-06 08:00:00", "2026-10-06 10:00:00", "100.00")]
    # 下单判定: created 10-06 08:00 → only a1's reply (21.5 h earlier) is before it
    m = run(tmp_path, msgs, orders)
    assert one(m, "a1")["buyers"] == 1 and one(m, "a2")["buyers"] == 0
    # 付款判定: paid 10:00 → a2's 09:00:10 contact is the latest
    m = run(tmp_path, msgs, orders, attribution="payment")
    assert one(m, "a1")["buyers"] == 0 and one(m, "a2")["buyers"] == 1


def test_order_first_falls_back_to_payment_and_silent_orders(tmp_path: Path) -> None:
    msgs = [msg("05 10:00:00", "in"), msg("05 10:00:30", "out")]
    orders = [("o1", "S", "b1", "2026-10-05 09:00:00", "2026-10-05 11:00:00", "10.00"),
              ("o2", "S", "b1", "2026-10-06 10:00:31", "2026-10-06 10:00:31", "20.00")]
    # o1 created before any reply: order mode finds none; payment at 11:00 finds a1
    # o2 is 24 h and 1 s after the reply: silent in every mode
    assert one(run(tmp_path, msgs, orders))["sales"] == D("0.00")
    r = one(run(tmp_path, msgs, orders, attribution="order_first"))
    assert (r["buyers"], r["sales"]) == (1, D("10.00"))


def test_validity_window_is_inclusive(tmp_path: Path) -> None:
    msgs = [msg("05 10:00:00", "in"), msg("05 10:00:30", "out")]
    orders = [("o1", "S", "b1", "2026-10-06 10:00:30", "2026-10-06 10:00:31", "10.00")]
    assert one(run(tmp_path, msgs, orders))["buyers"] == 1


def test_auto_replies_ads_and_one_line_filter(tmp_path: Path) -> None:
    m = run(tmp_path, [
        msg("05 10:00:00", "in"), msg("05 10:00:01", "out", text="[自动回复]您好"),
        msg("05 10:01:00", "out"),                                  # 60 s: prefix is automatic
        msg("05 10:00:00", "in", "spam", text="加微信领红包"),        # dropped: ad
        msg("05 11:00:00", "in", "b3"), msg("05 11:00:10", "out", "b3"),
        msg("05 11:00:20", "out", "b3"),
    ], auto_prefixes=["[自动回复]"], ad_patterns=["加微信"], one_line_filter=2)
    r = one(m)
    assert r["consulted"] == 2  # b1 and b3; the spammer's only message was an ad
    assert r["received"] == 1  # b3 wrote once and got two human replies
    assert r["response_s"] == D("35.00")  # (60 + 10) / 2


def test_agent_in_two_shops_is_one_row(tmp_path: Path) -> None:
    m = run(tmp_path, [msg("05 10:00:00", "in", shop="S1"), msg("05 10:00:10", "out", shop="S1"),
                       msg("05 10:00:00", "in", shop="S2"), msg("05 10:00:30", "out", shop="S2")])
    assert len(m.rows) == 1 and one(m)["consulted"] == 2 and one(m)["response_s"] == D("20.00")


def test_zero_denominators_are_empty_with_a_warning(tmp_path: Path) -> None:
    m = run(tmp_path, [msg("05 07:00:00", "in")])
    r = one(m)
    assert r["conversion"] == D("0.0000")  # 0 buyers / 1 inquiry
    assert r["aov"] is None and r["response_s"] is None and r["sales"] == D("0.00")
    assert any("a1" in w and "aov" in w for w in m.warnings)


def test_period_selects_months_and_rounds_count_in_their_start_month(tmp_path: Path) -> None:
    folder = logs(tmp_path, [msg("31 23:30:00", "in"), ("S", "a1", "b1", "2026-11-01 00:10:00",
                                                          "out", "0", "")])
    from kaohe.metrics.compute import compute
    from kaohe.metrics.rules import Rules

    m = compute(folder, Rules(), periods=["2026-10"])
    assert [r["period"] for r in m.rows] == ["2026-10"]
    assert one(m)["replied"] == 0  # the reply is dated the next day


def test_rules_files(tmp_path: Path) -> None:
    y = tmp_path / "r.yaml"
    y.write_text("idle_gap_s: 300\nattribution: payment\n", encoding="utf-8")
    r = load_rules(y)
    assert (r.idle_gap_s, r.attribution, r.round_cap_s) == (300, "payment", 600)
    j = tmp_path / "r.json"
    j.write_text(json.dumps({"service_hours": ["09:00", "18:00"]}), encoding="utf-8")
    assert load_rules(j).service_start_s == 9 * 3600
    bad = tmp_path / "bad.yaml"
    bad.write_text("idle_gap: 300\n", encoding="utf-8")
    with pytest.raises(RulesError, match=r"bad\.yaml: idle_gap: unknown key"):
        load_rules(bad)
    bad.write_text("service_hours: ['23:00', '08:00']\n", encoding="utf-8")
    with pytest.raises(RulesError, match=r"start of service hours must be before"):
        load_rules(bad)


def test_bad_logs_name_file_row_and_column(tmp_path: Path) -> None:
    folder = logs(tmp_path, [msg("05 10:00:00", "in"), msg("05 25:00:00", "out")])
    with pytest.raises(InputError, match=r"messages\.csv, row 3, column 'ts': value "
                                         r"'2026-10-05 25:00:00'"):
        run(tmp_path, [msg("05 10:00:00", "in"), msg("05 25:00:00", "out")])
    assert folder.exists()
    with pytest.raises(InputError, match=r"row 2, column 'direction'"):
        run(tmp_path, [msg("05 10:00:00", "sideways")])
