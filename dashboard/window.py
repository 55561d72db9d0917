"""The reads of a window (a range that is not whole days: the last 24 hours, or start/end
with a time of day), from the raw events over one range of a ts index.

The rollups are kept per day and cannot be cut at an hour, so a window adds up its own events
by the same rules, into the same shapes: ``stats`` is /api/stats' body, ``security``
/api/security's, ``user_parts`` the range's parts of /api/users/<name> (totals, days,
protocols, ips). Over whole days each equals the rollups' answer (tests/dashboard/
test_window.py). Windows are bounded (span.MAX_HOURS, span.MAX_WINDOW_DAYS), so these reads
are too.
"""
from __future__ import annotations

import db

from . import queries
from .node_scope import node_params, scoped
from .params import USERS_LIMIT
from .queries import _assemble, _connection, _day, _users, exact_sum
from .span import Span
from .timefmt import logged_time


def _rows(conn, name: str, span: Span, nodes, **more) -> list:
    return conn.execute(scoped(name, db.dialect(conn), nodes),
                        {**span.bounds(), **node_params(nodes), **more}).all()


def stats(conn_or_engine, span: Span, users_limit: int = USERS_LIMIT,
          nodes=None) -> dict:
    """Returns /api/stats' body for the window (its ``days``: the days it touches, each with
    the window's events of that day)."""
    with _connection(conn_or_engine) as conn:
        day_rows = [(slot, kind, events, exact_sum(hi, lo), failed) for slot, kind, events, hi,
                    lo, failed in _rows(conn, "window_counts", span, nodes, chars=10)]
        user_rows = [(name, kind, events, exact_sum(hi, lo), failed) for name, kind, events, hi,
                     lo, failed in _rows(conn, "window_users", span, nodes)]
    users = _users(user_rows)
    return _assemble(span.start, span.end, day_rows, users[:users_limit], len(users))


def _order(cells: dict, key=lambda item: (-item[1], item[0])) -> list:
    return sorted(cells.items(), key=key)


def security(conn_or_engine, span: Span, limit: int = 100, nodes=None) -> dict:
    """Returns /api/security's body for the window, by docs/api.md's rules (strings
    ordered by their code points, which is their UTF-8 bytes' order)."""
    with _connection(conn_or_engine) as conn:
        cells = _rows(conn, "window_security", span, nodes)
    days = {d: {"date": d, "login_failed": 0, "ban": 0}
            for d in queries.days_between(span.start, span.end)}
    ips: dict[str, list] = {}            # ip -> [failures, bans, first, last, names]
    names: dict[str, list] = {}          # username -> [failures, ips]
    methods: dict[str, int] = {}
    protocols: dict[str, int] = {}
    banned = set()
    failures = bans = 0
    for day, kind, ip, username, method, protocol, events, first, last in cells:
        events = int(events)
        days[_day(day)][kind] += events
        cell = ips.setdefault(ip, [0, 0, None, None, set()])
        if kind == "ban":
            bans += events
            cell[1] += events
            if ip:
                banned.add(ip)
            continue
        failures += events
        cell[0] += events
        first, last = logged_time(first), logged_time(last)
        cell[2] = first if cell[2] is None or first < cell[2] else cell[2]
        cell[3] = last if cell[3] is None or last > cell[3] else cell[3]
        if username:
            cell[4].add(username)
        tried = names.setdefault(username, [0, set()])
        tried[0] += events
        if ip:
            tried[1].add(ip)
        methods[method] = methods.get(method, 0) + events
        protocols[protocol] = protocols.get(protocol, 0) + events
    by_ip = sorted(ips.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))[:limit]
    by_name = sorted(names.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    return {
        "start": span.start.isoformat(), "end": span.end.isoformat(),
        "totals": {"login_failures": failures,
                   "ips": len([i for i, c in ips.items() if i and c[0]]),
                   "usernames": len([n for n in names if n]), "bans": bans,
                   "banned_ips": len(banned)},
        "by_ip": [{"ip": ip, "failures": c[0], "usernames": len(c[4]), "bans": c[1],
                   "first": c[2], "last": c[3]} for ip, c in by_ip],
        "by_username": [{"username": n, "failures": c[0], "ips": len(c[1])} for n, c in by_name],
        "by_method": [{"method": m, "failures": n} for m, n in _order(methods)[:limit]],
        "by_protocol": [{"protocol": p, "failures": n} for p, n in _order(protocols)[:limit]],
        "days": list(days.values()),
    }


def user_parts(conn, username: str, span: Span, nodes=None) -> tuple[list, list, list]:
    """Returns (day_rows, protocols, ips) of one user in the window: day_rows in the shape
    of sql/queries/user_days.sql (day, kind, events, bytes_hi, bytes_lo, failed),
    protocols as (protocol, transfers, bytes_hi, bytes_lo), ips as (ip, events), each as the
    rollups' queries order and bound them."""
    days: dict[tuple, list] = {}
    protocols: dict[str, list] = {}
    ips: dict[str, int] = {}
    for day, kind, protocol, ip, events, hi, lo, failed in _rows(
            conn, "window_user", span, nodes, username=username):
        events, nbytes = int(events), exact_sum(hi, lo)
        cell = days.setdefault((_day(day), kind), [0, 0, 0])
        cell[0] += events
        cell[1] += nbytes
        cell[2] += int(failed or 0)
        if kind in ("upload", "download"):
            p = protocols.setdefault(protocol, [0, 0])
            p[0] += events
            p[1] += nbytes
        if ip:
            ips[ip] = ips.get(ip, 0) + events
    day_rows = [(day, kind, n, b >> 31, b & 0x7FFFFFFF, f) for (day, kind), (n, b, f) in
                days.items()]
    protocol_rows = [(p, n, b >> 31, b & 0x7FFFFFFF) for p, (n, b) in protocols.items()]
    ip_rows = _order(ips)[:100]
    return day_rows, protocol_rows, ip_rows


# --- a span, whichever it is -----------------------------------------------------------------

def stats_of(conn_or_engine, span: Span, users_limit: int = USERS_LIMIT,
             nodes=None) -> dict:
    """Returns /api/stats' body for ``span``: from the rollups for whole days, else the
    window's events."""
    if span.window:
        return stats(conn_or_engine, span, users_limit, nodes)
    return queries.stats(conn_or_engine, span.start, span.end, users_limit, nodes)


def security_of(conn_or_engine, span: Span, limit: int = 100, nodes=None) -> dict:
    """Returns /api/security's body for ``span`` (rollups for whole days, else events)."""
    from . import security as rollups
    if span.window:
        return security(conn_or_engine, span, limit, nodes)
    return rollups.security(conn_or_engine, span.start, span.end, limit, nodes)


def users_of(conn_or_engine, span: Span, users_limit: int = USERS_LIMIT,
             nodes=None) -> list[dict]:
    """Returns the users of ``span``, the busiest first (queries.users for whole days)."""
    if span.window:
        return stats(conn_or_engine, span, users_limit, nodes)["users"]
    return queries.users(conn_or_engine, span.start, span.end, users_limit, nodes)
