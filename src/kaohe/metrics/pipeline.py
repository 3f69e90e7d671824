"""The log metrics of docs/metrics.md as one Ibis pipeline (DuckDB by default, PySpark too).

Times are integer seconds of the local wall clock (see :mod:`kaohe.metrics.logs`), days are
``t // 86400``. Ibis computes integer counts and sums per agent and day; the small final
roll-up to months, the exact ratios and means, and their half-up rounding happen once in
:func:`finish`, so no floating point ever touches a reported number.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from kaohe.metrics.rules import Rules

DAY = 86400
BD = ["shop", "agent", "buyer", "day"]  # a buyer-day


@dataclass(frozen=True)
class DailyTables:
    """Integer facts per (agent, day); summed to months by :func:`finish`."""

    buyer_days: ir.Table  # agent, day, consulted, received, inquiries, replied, slow_receptions
    rounds: ir.Table  # agent, day, rounds, response_sum, fast
    sessions: ir.Table  # agent, day, first_rounds, first_sum
    sales: ir.Table  # agent, day, buyers, sales


def _any(conds: list[ir.BooleanValue]) -> ir.BooleanValue:
    out: ir.BooleanValue = ibis.literal(False)
    for c in conds:
        out = out | c
    return out


def build(messages: ir.Table, orders: ir.Table, rules: Rules) -> DailyTables:
    m = messages
    # 1. ads dropped first; automatic replies marked
    if rules.ad_patterns:
        m = m.filter(~(m.is_in & _any([m.text.contains(p) for p in rules.ad_patterns])))
    is_auto = ~m.is_in & (m.auto | _any([m.text.startswith(p) for p in rules.auto_prefixes]))
    m = m.mutate(human=~m.is_in & ~is_auto).select(
        "shop", "agent", "buyer", "conv", "seq", "t", "is_in", "human")  # text is done with

    # 2. sessions: a gap of idle_gap_s or more starts a new one
    # windows run on the integer stream id and (time, file order) key of the log reader
    conv = ["conv"]
    w = ibis.window(group_by=conv, order_by=["t", "seq"])
    m = m.mutate(prev_t=m.t.lag().over(w))
    m = m.mutate(new_session=(m.prev_t.isnull() | (m.t - m.prev_t >= rules.idle_gap_s))
                 .cast("int64"))
    cw = ibis.cumulative_window(group_by=conv, order_by=["t", "seq"])
    m = m.mutate(session=m.new_session.sum().over(cw))

    # 3. rounds: the messages after one human reply up to and including the next
    sw = ibis.cumulative_window(group_by=[*conv, "session"], order_by=["t", "seq"])
    m = m.mutate(human_i=m.human.cast("int64"))
    m = m.mutate(segment=m.human_i.sum().over(sw) - m.human_i)
    m = m.cache()  # materialised once: every fact below reads these messages
    seg = m.group_by(["shop", "agent", "buyer", *conv, "session", "segment"]).aggregate(
        start_t=m.t.min(where=m.is_in),
        reply_t=m.t.max(where=m.human),
    )
    rounds = seg.filter(seg.start_t.notnull())
    cap = rules.round_cap_s
    rounds = rounds.mutate(
        response=ibis.ifelse(rounds.reply_t.isnull(), cap,
                             ibis.least(rounds.reply_t - rounds.start_t, cap)),
        day=rounds.start_t // DAY,
        tod=rounds.start_t % DAY,
    )
    rounds = rounds.mutate(counted=(rounds.tod >= rules.service_start_s)
                           & (rounds.tod < rules.service_end_s))
    fw = ibis.window(group_by=[*conv, "session"], order_by=["segment"])
    rounds = rounds.mutate(first=ibis.row_number().over(fw) == 0)
    rounds = rounds.cache()
    counted = rounds.filter(rounds.counted)

    # 4. buyer-days
    ins = m.filter(m.is_in)
    ins = ins.mutate(day=ins.t // DAY)
    bd = ins.group_by(BD).aggregate(first_in=ins.t.min(), n_in=ins.count())
    outs = m.filter(m.human)
    outs = outs.mutate(day=outs.t // DAY)
    out_counts = outs.group_by(BD).aggregate(n_out=outs.count())
    bd = bd.left_join(out_counts, BD).select(*bd.columns, n_out=out_counts.n_out.fill_null(0))
    n = rules.one_line_filter
    received = ~((bd.n_in == 1) & (bd.n_out >= n)) if n > 0 else ibis.literal(True)
    bd = bd.mutate(received=received)
    bd = bd.mutate(replied=bd.received & (bd.n_out >= 1))

    # after-sales: paid in the look-back window, and no new order within the validity window
    o = orders
    recv = bd.filter(bd.received)
    j = recv.join(o, ["shop", "buyer"])
    look = rules.after_sales_days * DAY
    valid = rules.validity_hours * 3600
    flags = j.group_by(BD).aggregate(
        paid_before=(j.is_paid & (j.paid_t >= j.first_in - look)
                     & (j.paid_t < j.first_in)).any(),
        ordered_after=((j.created_t >= j.first_in) & (j.created_t < j.first_in + valid)).any(),
    )
    bd = bd.left_join(flags, BD).select(
        *bd.columns,
        after_sales=(flags.paid_before.fill_null(False) & ~flags.ordered_after.fill_null(False)),
    )
    bd = bd.mutate(inquiry=bd.received & ~bd.after_sales)

    # slow receptions: received buyer-days with enough slow counted rounds
    slow = counted.filter(counted.response > rules.slow_reply_s)
    slow_n = slow.group_by(BD).aggregate(n_slow=slow.count())
    bd = bd.left_join(slow_n, BD).select(*bd.columns, n_slow=slow_n.n_slow.fill_null(0))
    bd = bd.mutate(slow=bd.received & (bd.n_slow >= rules.slow_rounds_per_day)).cache()

    # 5. attribution of orders to inquiry buyer-days through their replies
    inquiry_days = bd.filter(bd.inquiry).select(*BD)
    replies = outs.join(inquiry_days, BD).select("shop", "agent", "buyer", "day", rt=outs.t)
    final_deadline = (o.created_t // DAY + rules.final_payment_days + 1) * DAY
    o = o.mutate(finally_paid=o.is_paid & (o.paid_t < final_deadline))

    def attribute(orders_: ir.Table, at: str) -> ir.Table:
        usable = orders_.filter(orders_.is_paid) if at == "paid_t" else orders_
        cand = usable.join(replies, ["shop", "buyer"])
        cand = cand.filter((cand.rt <= cand[at]) & (cand[at] - cand.rt <= valid))
        best = cand.group_by(["order_id", "shop", "buyer", "agent", "day"]).aggregate(
            contact=cand.rt.max())
        rw = ibis.window(group_by="order_id",
                         order_by=[ibis.desc("contact"), "agent", "day"])
        best = best.mutate(pick=ibis.row_number().over(rw))
        return best.filter(best.pick == 0).select("order_id", "shop", "buyer", "agent", "day")

    if rules.attribution == "payment":
        attributed = attribute(o, "paid_t")
    else:
        attributed = attribute(o, "created_t")
        if rules.attribution == "order_first":
            rest = o.anti_join(attributed, "order_id")
            attributed = attributed.union(attribute(rest, "paid_t"))
    paid_orders = attributed.join(o.select("order_id", "amount", "finally_paid"), "order_id")
    paid_orders = paid_orders.filter(paid_orders.finally_paid)

    # 6. daily facts per agent
    buyer_days = bd.group_by(["agent", "day"]).aggregate(
        consulted=bd.count(),
        received=bd.received.cast("int64").sum(),
        inquiries=bd.inquiry.cast("int64").sum(),
        replied=bd.replied.cast("int64").sum(),
        slow_receptions=bd.slow.cast("int64").sum(),
    )
    round_facts = counted.group_by(["agent", "day"]).aggregate(
        rounds=counted.count(),
        response_sum=counted.response.sum(),
        fast=(counted.response <= rules.fast_reply_s).cast("int64").sum(),
    )
    firsts = counted.filter(counted.first)
    session_facts = firsts.group_by(["agent", "day"]).aggregate(
        first_rounds=firsts.count(), first_sum=firsts.response.sum())
    buyer_keys = paid_orders.select(*BD).distinct()
    buyers = buyer_keys.group_by(["agent", "day"]).aggregate(buyers=buyer_keys.count())
    sales = paid_orders.group_by(["agent", "day"]).aggregate(sales=paid_orders.amount.sum())
    sales_facts = buyers.outer_join(sales, ["agent", "day"]).select(
        agent=ibis.coalesce(buyers.agent, sales.agent), day=ibis.coalesce(buyers.day, sales.day),
        buyers=buyers.buyers.fill_null(0), sales=sales.sales)
    return DailyTables(buyer_days, round_facts, session_facts, sales_facts)

