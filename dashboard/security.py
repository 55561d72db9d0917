"""The security view: /api/security (docs/api.md) over whole days; users.py has a user's.

The answer reads the rollups of migration 010 (and bans_daily, daily_stats) only, each keyed
by node at the end: the totals and top lists from cells per day and IP, name or method; the
distinct counts of the listed rows only from the ip x name x node pairs, counted once over
the nodes asked for.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

import db

from .node_scope import node_params, scoped
from .params import BadParameter
from .queries import _connection, _day, days_between
from .timefmt import logged_time

LIMIT = 100
MAX_LIMIT = 1000


def parse_limit(text: str | None, default: int = LIMIT, maximum: int = MAX_LIMIT) -> int:
    """Returns the limit in ``text`` (1..maximum; ``default`` when missing), or raises
    BadParameter."""
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 7) or not 1 <= int(text) <= maximum:
        raise BadParameter(f"limit must be a whole number from 1 to {maximum}, not {text[:40]!r}")
    return int(text)


def security(conn_or_engine, start: date, end: date, limit: int = LIMIT, nodes=None) -> dict:
    """Returns the /api/security body for start..end, each by_* list cut at ``limit``, for the
    events of ``nodes`` (None: all; distinct counts are over their union)."""
    bounds = {"start": start.isoformat(), "end": end.isoformat()}
    args = {**bounds, **node_params(nodes)}
    cut = {**args, "limit": limit}
    with _connection(conn_or_engine) as conn:
        d = db.dialect(conn)
        t = conn.execute(scoped("security_totals", d, nodes), args).mappings().one()
        by_ip = conn.execute(scoped("security_by_ip", d, nodes), cut).mappings().all()
        by_user = conn.execute(scoped("security_by_username", d, nodes), cut).all()
        names_of = _distinct(conn, "security_ip_usernames", "ips", [r["ip"] for r in by_ip],
                             bounds, nodes)
        ips_of = _distinct(conn, "security_username_ips", "usernames", [u for u, _n in by_user],
                           bounds, nodes)
        by_method = conn.execute(scoped("security_by_method", d, nodes), cut).all()
        by_protocol = conn.execute(scoped("security_by_protocol", d, nodes), cut).all()
        day_rows = conn.execute(scoped("security_days", d, nodes), args).all()
    days = {day: {"date": day, "login_failed": 0, "ban": 0} for day in days_between(start, end)}
    for day, kind, events in day_rows:
        days[_day(day)][kind] += int(events)
    return {
        **bounds,
        "totals": {k: int(t[k] or 0) for k in ("login_failures", "ips", "usernames", "bans",
                                                "banned_ips")},
        "by_ip": [{"ip": r["ip"], "failures": int(r["failures"]),
                   "usernames": names_of.get(r["ip"], 0),
                   "bans": int(r["bans"]), "first": logged_time(r["first_ts"]),
                   "last": logged_time(r["last_ts"])} for r in by_ip],
        "by_username": [{"username": u, "failures": int(n), "ips": ips_of.get(u, 0)}
                        for u, n in by_user],
        "by_method": [{"method": m, "failures": int(n)} for m, n in by_method],
        "by_protocol": [{"protocol": p, "failures": int(n)} for p, n in by_protocol],
        "days": list(days.values()),
    }


def _distinct(conn, query: str, listed: str, values: list, bounds: dict, nodes=None) -> dict:
    """Returns {value: distinct count} of ``query`` for the listed ``values`` only, over the
    union of ``nodes`` (None: all)."""
    if not values:
        return {}
    sql = scoped(query, db.dialect(conn), nodes).bindparams(
        sa.bindparam(listed, expanding=True))
    return {k: int(n) for k, n in conn.execute(sql, {**bounds, **node_params(nodes),
                                                     listed: values})}
