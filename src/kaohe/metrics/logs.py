"""The logs as the engine reads them, parsed once into integer tables.

Times become integer seconds of the Beijing wall clock (metrics.md §1): differences, dates
(``t // 86400``) and times of day are exact integer arithmetic, and nothing overflows
before the year 292 billion. Accepted ways to write a time:

- ``YYYY-MM-DD HH:MM:SS`` (also with ``T``, and with a fraction, which is dropped): local;
- the same with a zone, ``Z``, ``+08``, ``+0800`` or ``+08:00``: an instant, moved to
  Beijing time (UTC+8 all year; China has had no daylight saving since 1991);
- a bare number: epoch seconds, or milliseconds from 10^11 on (10^11 s is the year 5138).

Strings (shop, agent, buyer) are replaced by exact integer ids, one per distinct value
(never a hash): ``sid`` per
(shop, agent, buyer) stream (``row_number`` over the distinct keys), ``aid`` per agent
(ordered by code point, for the ties of §5.1), ``sb`` per (shop, buyer) (its first sid).
The first bad row is reported with its file, row, column and value; nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from kaohe.errors import InputError
from kaohe.metrics import engine, source
from kaohe.metrics.rules import Rules

MESSAGE_COLUMNS = ("shop", "agent", "buyer", "ts", "direction", "auto")
ORDER_COLUMNS = ("order_id", "shop", "buyer", "created", "paid", "amount")
LOCAL_OFFSET_S = 8 * 3600  # Asia/Shanghai
EPOCH_MS_FROM = 10**11
TIME_FORMATS = ("a local time YYYY-MM-DD HH:MM:SS, an ISO time with a zone "
                "(2026-10-05T10:00:00+08:00, …Z), or epoch seconds or milliseconds")
DAY = 86400

# message kinds: an `in`, a human reply, an automatic reply, an `in` dropped as an ad
IN, HUMAN, AUTO, AD = 0, 1, 2, 3

_ISO = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,9})?\s*(Z|[+-]\d{2}(:?\d{2})?)?$"
_ZONE = r"(Z|[+-]\d{2}(:?\d{2})?)$"
_DIGITS = r"^\d{1,15}$"


@dataclass(frozen=True)
class Logs:
    """Integer tables on one connection; :meth:`release` drops them."""

    messages: Any  # cached ibis table: sid, t, rn, kind
    streams: Any  # cached: sid, aid, sb
    agents: Any  # cached: aid, agent
    orders: Any  # cached: oid, sb, created_t, paid_t, is_paid, amount
    counts: dict[str, int]

    def release(self, con: Any) -> None:
        for t in (self.messages, self.streams, self.agents, self.orders):
            engine.drop(con, t)


def parse_time(s: ir.StringValue, wall: ir.IntegerValue) -> ir.IntegerValue:
    """Beijing wall-clock seconds of a (trimmed) time as written; NULL when it is not one.

    ``wall`` is the engine's parse of its first 19 characters as a date and time (see
    :mod:`kaohe.metrics.source`); what follows them, a fraction or a zone, is read here.
    """
    zone = s.re_extract(_ZONE, 1)
    hours = zone.re_extract(r"^[+-](\d{2})", 1).nullif("").cast("int64").fill_null(0)
    minutes = zone.re_extract(r"^[+-]\d{2}:?(\d{2})$", 1).nullif("").cast("int64").fill_null(0)
    offset = (hours * 3600 + minutes * 60) * ibis.ifelse(zone.startswith("-"), -1, 1)
    number = s.cast("int64")
    return ibis.cases(
        ((s.length() == 19) & wall.notnull(), wall),  # the common case: no regex
        (wall.notnull() & s.re_search(_ISO) & (zone == ""), wall),
        (wall.notnull() & s.re_search(_ISO), wall - offset + LOCAL_OFFSET_S),
        (s.re_search(_DIGITS), ibis.ifelse(number >= EPOCH_MS_FROM, number // 1000, number)
         + LOCAL_OFFSET_S),
        else_=ibis.null("int64"),
    )


def _blank(v: ir.StringValue) -> ir.BooleanValue:
    return v.isnull() | (v == "")


def _require(table: source.Table, needed: tuple[str, ...]) -> None:
    for c in needed:
        if c not in table.columns:
            raise InputError(f"missing column {c!r}; the header has "
                             f"{', '.join(table.columns) or 'no columns'}",
                             file=str(table.files[0]), column=c)


def _any(conds: list[ir.BooleanValue]) -> ir.BooleanValue:
    out: ir.BooleanValue = ibis.literal(False)
    for c in conds:
        out = out | c
    return out


def _first_bad(con: Any, table: source.Table, checked: Any,
               problems: list[tuple[str, str]]) -> None:
    """Raise for the first row (in input order) with a problem; ``checked.bad`` is its
    1-based index in ``problems`` (column, message), 0 for a good row."""
    hit = con.to_pyarrow(checked.filter(checked.bad > 0).order_by("rn").select("rn", "bad")
                         .limit(1)).to_pylist()
    if not hit:
        return
    rn, code = hit[0]["rn"], hit[0]["bad"]
    column, message = problems[code - 1]
    raw = table.expr.filter(table.expr.rn == rn)
    value = con.to_pyarrow(raw.select(value=raw[column]).limit(1)).to_pylist()[0]["value"]
    file, row = source.locate(con, table, rn)
    raise InputError(message, file=str(file), row=row, column=column,
                     value=value if value is not None else "")


def _code(checks: list[ir.BooleanValue]) -> ir.IntegerValue:
    return ibis.cases(*[(c, i + 1) for i, c in enumerate(checks)], else_=0)


def read_logs(con: Any, folder: str, rules: Rules) -> Logs:
    """Read, check and index the logs folder on ``con``; the tables are cached there."""
    from pathlib import Path

    folder_p = Path(folder)
    mfiles, ofiles = source.find(folder_p, "messages"), source.find(folder_p, "orders")
    raw = source.read(con, mfiles, ("ts",))
    _require(raw, MESSAGE_COLUMNS)
    r = raw.expr
    shop, agent, buyer, direction = r.shop, r.agent, r.buyer, r.direction
    auto = r.auto
    t = parse_time(r.ts, r.wall_ts)
    text = r.text.fill_null("") if "text" in raw.columns else ibis.literal("")
    is_in = direction == "in"
    ad = _any([text.contains(p) for p in rules.ad_patterns]) if rules.ad_patterns else False
    is_auto = (auto.isin(["1", "true", "True", "TRUE"]).fill_null(False)
               | _any([text.startswith(p) for p in rules.auto_prefixes]))
    kind = ibis.cases((is_in & ad, AD), (is_in, IN), (is_auto, AUTO), else_=HUMAN)
    problems = [("shop", "the shop is empty"), ("agent", "the agent is empty"),
                ("buyer", "the buyer is empty"), ("ts", f"expected a time: {TIME_FORMATS}"),
                ("direction", "expected in or out"), ("auto", "expected 1 or 0")]
    bad = _code([_blank(r.shop), _blank(r.agent), _blank(r.buyer), t.isnull(),
                 ~direction.isin(["in", "out"]).fill_null(False),
                 ~(auto.isnull() | auto.isin(["", "0", "1", "true", "false", "True", "False",
                                              "TRUE", "FALSE"]))])
    m0 = r.select(shop=shop, agent=agent, buyer=buyer, t=t, rn=r.rn,
                  kind=kind.cast("int8"), bad=bad.cast("int8"))
    m0 = engine.materialise(con, m0, "read_messages")
    done: list[Any] = [m0]  # cached tables to release if a later step fails
    try:
        _first_bad(con, raw, m0, problems)
        kept = m0.filter(m0.kind != AD)
        keys = kept.select("shop", "agent", "buyer").distinct()
        keys = keys.mutate(sid=ibis.row_number().over())  # any exact numbering will do
        done.append(streams := engine.materialise(con, keys, "streams"))
        done.append(messages := engine.materialise(con, kept.join(
            streams, ["shop", "agent", "buyer"]).select("sid", "t", "rn", "kind"), "messages"))
        engine.drop(con, m0)
        done.remove(m0)
        names = streams.select("agent").distinct()
        names = names.mutate(aid=ibis.row_number().over(order_by="agent"))
        done.append(agents := engine.materialise(con, names, "agents"))
        pairs = streams.group_by(["shop", "buyer"]).aggregate(sb=streams.sid.min())
        done.append(sbs := engine.materialise(con, pairs, "shop_buyers"))
        ids = streams.join(agents, "agent").join(sbs, ["shop", "buyer"]).select(
            "sid", "aid", "sb")
        done.append(ids := engine.materialise(con, ids, "ids"))
        engine.drop(con, streams)
        done.remove(streams)
        done.append(orders := _read_orders(con, ofiles, sbs))
        engine.drop(con, sbs)
        done.remove(sbs)
        n = con.to_pyarrow(messages.count()).as_py()
    except BaseException:
        for t_ in done:
            engine.drop(con, t_)
        raise
    return Logs(messages, ids, agents, orders, {"messages": int(n)})


def _read_orders(con: Any, files: tuple[Any, ...], sbs: Any) -> Any:
    raw = source.read(con, files, ("created", "paid"))
    _require(raw, ORDER_COLUMNS)
    r = raw.expr
    created = parse_time(r.created, r.wall_created)
    paid = parse_time(r.paid, r.wall_paid)
    amount = r.amount.try_cast("decimal(18, 2)")
    problems = [("order_id", "the order id is empty"), ("shop", "the shop is empty"),
                ("buyer", "the buyer is empty"),
                ("created", f"expected a time: {TIME_FORMATS}"),
                ("paid", f"expected a time or nothing (unpaid): {TIME_FORMATS}"),
                ("amount", "expected a non-negative amount such as 128.00")]
    bad = _code([_blank(r.order_id), _blank(r.shop), _blank(r.buyer), created.isnull(),
                 ~_blank(r.paid) & paid.isnull(), amount.isnull() | (amount < 0)])
    o0 = r.select(order_id=r.order_id, shop=r.shop, buyer=r.buyer, rn=r.rn, created_t=created,
                  paid_t=paid, amount=amount, bad=bad.cast("int8"))
    o0 = engine.materialise(con, o0, "read_orders")
    try:
        _first_bad(con, raw, o0, problems)
        dups = o0.group_by("order_id").aggregate(n=o0.count(), rn=o0.rn.min())
        dups = dups.filter(dups.n > 1).select(rn="rn", bad=ibis.literal(1))
        _first_bad(con, raw, dups, [("order_id", "this order id appears more than once")])
        # orders of buyers who never wrote to the shop cannot matter: dropped here
        orders = engine.materialise(con, o0.join(sbs, ["shop", "buyer"]).select(
            "sb", "created_t", "paid_t", "amount", oid=o0.rn,
            is_paid=o0.paid_t.notnull()), "orders")
    finally:
        engine.drop(con, o0)
    return orders
