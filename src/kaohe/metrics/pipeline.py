"""The log metrics of docs/metrics.md as one Ibis pipeline over integer tables.

Runs on DuckDB (default) and PySpark alike. The input is :class:`kaohe.metrics.logs.Logs`:
messages as (sid, t, rn, kind) with ``sid`` an exact integer id per (shop, agent, buyer)
stream, ``t`` Beijing wall-clock seconds and ``rn`` the row's place in the input.

1. One sort: the messages by (sid, t, rn). Over that order a first window pass takes the
   previous message's time and kind and a running count of `in` messages; a second pass
   turns them into running counts: the *segment* id (a new segment after every human reply
   and at every session start) and, per message, how many `in` messages its session had
   before it began.
2. Rounds: one group-by over (sid, segment) puts each round's facts (start, reply,
   response, first round of its session) on one row, dated by its starting message.
3. One buyer-day aggregate over (sid, day) of the messages, joined with the rounds' facts
   of that day; after-sales flags by an equi-join on (shop, buyer) with the orders,
   filtered to the time windows.
4. Attribution: orders equi-joined on (shop, buyer) with the human replies of inquiry
   buyer-days, filtered to the validity window; the latest contact wins, ties by agent id.

Everything is integers until :func:`kaohe.metrics.compute.finish`, which sums agent-days to
months and rounds once; agent names join only there.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from kaohe.metrics.logs import DAY, HUMAN, IN, Logs
from kaohe.metrics.rules import Rules

BD = ["sid", "day"]  # a buyer-day: stream and date


def _i(b: ir.BooleanValue) -> ir.IntegerValue:
    return b.cast("int64")


def round_facts(logs: Logs, rules: Rules) -> ir.Table:
    """Counted rounds per buyer-day of their start: counts and integer sums."""
    m = logs.messages
    w = ibis.window(group_by="sid", order_by=["t", "rn"])
    cw = ibis.cumulative_window(group_by="sid", order_by=["t", "rn"])
    is_in = _i(m.kind == IN)
    # pass 1: previous message, running count of `in` messages (same sort)
    x = m.mutate(prev_t=m.t.lag().over(w), prev_kind=m.kind.lag().over(w),
                 cin=is_in.sum().over(cw), is_in=is_in)
    new_session = x.prev_t.isnull() | (x.t - x.prev_t >= rules.idle_gap_s)
    seg_start = new_session | (x.prev_kind == HUMAN)
    # pass 2: running counts over the same order
    y = x.mutate(seg=_i(seg_start).sum().over(cw),
                 base=ibis.ifelse(new_session, x.cin - x.is_in, None).max().over(cw))
    segs = y.group_by(["sid", "seg"]).aggregate(
        start=y.t.min(where=y.is_in == 1),
        reply=y.t.max(where=y.kind == HUMAN),
        first=((y.is_in == 1) & (y.cin - 1 == y.base)).any(),
    )
    r = segs.filter(segs.start.notnull())
    cap = rules.round_cap_s
    r = r.mutate(response=ibis.ifelse(r.reply.isnull(), cap,
                                      ibis.least(r.reply - r.start, cap)),
                 day=r.start // DAY)
    tod = r.start - r.day * DAY
    c = (tod >= rules.service_start_s) & (tod < rules.service_end_s)  # a counted round
    return r.group_by(BD).aggregate(
        rounds=_i(c).sum(),
        rsum=r.response.sum(where=c),
        fast=_i(c & (r.response <= rules.fast_reply_s)).sum(),
        n_slow=_i(c & (r.response > rules.slow_reply_s)).sum(),
        first_rounds=_i(c & r.first).sum(),
        first_sum=r.response.sum(where=c & r.first),
        sessions=_i(r.first).sum(),  # sessions with a round, counted or not: for the summary
    )


def buyer_days(logs: Logs, rounds: ir.Table, rules: Rules) -> ir.Table:
    """One row per buyer-day with every per-buyer-day fact of §4 and §6.4."""
    m = logs.messages
    day = m.t // DAY
    bd = m.group_by(sid=m.sid, day=day).aggregate(
        n_in=_i(m.kind == IN).sum(),
        first_in=m.t.min(where=m.kind == IN),
        n_out=_i(m.kind == HUMAN).sum(),
    )
    bd = bd.filter(bd.n_in > 0)
    bd = bd.join(logs.streams, "sid").select(bd, logs.streams.aid, logs.streams.sb)
    bd = bd.left_join(rounds, BD).select(
        bd, *[rounds[c].fill_null(0).name(c) for c in
              ("rounds", "rsum", "fast", "n_slow", "first_rounds", "first_sum", "sessions")])
    n = rules.one_line_filter
    received = ~((bd.n_in == 1) & (bd.n_out >= n)) if n > 0 else ibis.literal(True)
    bd = bd.mutate(received=received)
    # after-sales: paid in the look-back window, and no new order in the validity window
    o = logs.orders
    look, valid = rules.after_sales_days * DAY, rules.validity_hours * 3600
    recv = bd.filter(bd.received).select("sid", "day", "sb", "first_in")
    j = recv.join(o, "sb")
    paid_before = j.is_paid & (j.paid_t >= j.first_in - look) & (j.paid_t < j.first_in)
    ordered_after = (j.created_t >= j.first_in) & (j.created_t < j.first_in + valid)
    j = j.filter(paid_before | ordered_after)
    flags = j.group_by(BD).aggregate(pb=paid_before.any(), oa=ordered_after.any())
    bd = bd.left_join(flags, BD).select(
        bd, after_sales=flags.pb.fill_null(False) & ~flags.oa.fill_null(False))
    return bd.mutate(
        inquiry=bd.received & ~bd.after_sales,
        replied=bd.received & (bd.n_out >= 1),
        slow=bd.received & (bd.n_slow >= rules.slow_rounds_per_day),
    )


def daily_facts(bd: ir.Table) -> ir.Table:
    """Integer facts per (agent id, day)."""
    return bd.group_by(["aid", "day"]).aggregate(
        consulted=bd.count(),
        received=_i(bd.received).sum(),
        inquiries=_i(bd.inquiry).sum(),
        replied=_i(bd.replied).sum(),
        slow_receptions=_i(bd.slow).sum(),
        rounds=bd.rounds.sum(),
        response_sum=bd.rsum.sum(),
        fast=bd.fast.sum(),
        first_rounds=bd.first_rounds.sum(),
        first_sum=bd.first_sum.sum(),
        sessions=bd.sessions.sum(),
    )


def sales_facts(logs: Logs, bd: ir.Table, rules: Rules) -> ir.Table:
    """Finally paid attributed orders per (agent id, day): buyers and sales."""
    m = logs.messages
    inq = bd.filter(bd.inquiry).select("sid", "day", "aid", "sb")
    outs = m.filter(m.kind == HUMAN)
    outs = outs.select(sid=outs.sid, day=outs.t // DAY, rt=outs.t)
    replies = outs.join(inq, BD).select(outs.sid, outs.day, outs.rt, inq.aid, inq.sb)
    o = logs.orders
    valid = rules.validity_hours * 3600
    final_deadline = (o.created_t // DAY + rules.final_payment_days + 1) * DAY
    o = o.mutate(finally_paid=o.is_paid & (o.paid_t < final_deadline),
                 at_created=o.created_t, at_paid=o.paid_t)

    def attribute(orders_: ir.Table, at: str) -> ir.Table:
        usable = orders_.filter(orders_.is_paid) if at == "at_paid" else orders_
        cand = usable.join(replies, "sb")
        cand = cand.filter((cand.rt <= cand[at]) & (cand[at] - cand.rt <= valid))
        best = cand.group_by(["oid", "aid", "sid", "day"]).aggregate(contact=cand.rt.max())
        rw = ibis.window(group_by="oid", order_by=[ibis.desc("contact"), "aid", "day"])
        best = best.mutate(pick=ibis.row_number().over(rw))
        return best.filter(best.pick == 0).select("oid", "aid", "sid", "day")

    if rules.attribution == "payment":
        attributed = attribute(o, "at_paid")
    else:
        attributed = attribute(o, "at_created")
        if rules.attribution == "order_first":
            rest = o.anti_join(attributed, "oid")
            attributed = attributed.union(attribute(rest, "at_paid"))
    paid = attributed.join(o.select("oid", "amount", "finally_paid"), "oid")
    paid = paid.filter(paid.finally_paid)
    per_bd = paid.group_by(["aid", "sid", "day"]).aggregate(sales=paid.amount.sum())
    return per_bd.group_by(["aid", "day"]).aggregate(buyers=per_bd.count(),
                                                    sales=per_bd.sales.sum())
