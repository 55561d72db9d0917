"""The security and user views: /api/security and /api/users/<name> (docs/api.md).

The security answer reads the rollups of migration 010 (and bans_daily, daily_stats) only,
each keyed by node at the end: the totals and top lists from cells per day and IP, name or
method; the distinct counts of the listed rows only from the ip x name x node pairs, counted
once over the nodes asked for. The user answer reads daily_stats, user_ips_daily and
user_protocols_daily (migration 011), plus a few ranges of the ix_events_user index
(first/last seen, recent).
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

import db

from . import audit
from .queries import (BadParameter, _connection, _day, _user_dict, days_between, exact_sum,
                      node_params, scoped)
from .timefmt import day_bounds, logged_time

LIMIT = 100
MAX_LIMIT = 1000
USER_KINDS = ("upload", "download", "file_op", "login")
RECENT = 20


class UnknownUser(LookupError):
    """No upload, download, file_op or login event ever carried this name."""


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


def user(conn_or_engine, username: str, start: date, end: date, nodes=None,
         span=None) -> dict:
    """Returns the /api/users/<name> body (of the events of ``nodes``, None: all); raises
    UnknownUser for a name never seen (on those nodes). ``span``: a window (span.Span) to
    read the range's parts of instead of the days start..end (dashboard/window.py)."""
    from . import window
    windowed = span is not None and span.window
    scope = node_params(nodes)
    bounds = {"start": start.isoformat(), "end": end.isoformat(), "username": username, **scope}
    with _connection(conn_or_engine) as conn:
        d = db.dialect(conn)
        seen = conn.execute(scoped("user_seen_days", d, nodes),
                            {"username": username, **scope}).one()
        if seen.first_day is None or username == "":     # users are non-empty names
            raise UnknownUser(username)
        first_seen = _edge(conn, "first", username, seen.first_day, USER_KINDS, nodes)
        last_seen = _edge(conn, "last", username, seen.last_day, USER_KINDS, nodes)
        last_login = _edge(conn, "last", username, seen.last_login_day, ("login",), nodes)
        if windowed:
            day_rows, protocols, ips = window.user_parts(conn, username, span, nodes)
        else:
            day_rows = conn.execute(scoped("user_days", d, nodes), bounds).all()
            protocols = conn.execute(scoped("user_protocols", d, nodes), bounds).all()
            ips = conn.execute(scoped("user_ips", d, nodes), bounds).all()
        recent = audit.page(conn, audit.Filters(start=start, end=end, user=username,
                                                kinds=USER_KINDS, nodes=nodes,
                                                span=span if windowed else None),
                            RECENT)["events"]
    return {
        "username": username, "start": bounds["start"], "end": bounds["end"],
        "totals": _totals(username, day_rows),
        "first_seen": first_seen, "last_seen": last_seen, "last_login": last_login,
        "days": _days(start, end, day_rows),
        "protocols": sorted(({"protocol": p, "transfers": int(n), "bytes": exact_sum(hi, lo)}
                             for p, n, hi, lo in protocols),
                            key=lambda x: (-x["transfers"], x["protocol"])),
        "ips": [{"ip": ip, "events": int(n)} for ip, n in ips],
        "recent": recent,
    }


def _edge(conn, which: str, username: str, day, kinds, nodes=None) -> str | None:
    """Returns the time of the user's first or last event of ``kinds`` on ``day``."""
    if day is None:
        return None
    one_day = date.fromisoformat(_day(day))
    query = scoped(f"user_edge_{which}", db.dialect(conn), nodes).bindparams(
        sa.bindparam("kinds", expanding=True))
    ts = conn.execute(query, {**day_bounds(one_day, one_day), "username": username,
                              "kinds": list(kinds), **node_params(nodes)}).scalar()
    return logged_time(ts)


def _totals(username: str, day_rows) -> dict:
    u = {"uploads": 0, "downloads": 0, "failed_transfers": 0, "bytes_uploaded": 0,
         "bytes_downloaded": 0, "file_ops": 0, "logins": 0}
    for _day_value, kind, events, hi, lo, failed in day_rows:
        events = int(events)
        if kind == "upload":
            u["uploads"] += events
            u["bytes_uploaded"] += exact_sum(hi, lo)
        elif kind == "download":
            u["downloads"] += events
            u["bytes_downloaded"] += exact_sum(hi, lo)
        elif kind == "file_op":
            u["file_ops"] += events
        else:
            u["logins"] += events
        if kind in ("upload", "download"):
            u["failed_transfers"] += int(failed or 0)
    totals = _user_dict(username, u)
    del totals["username"]
    return totals


def _days(start: date, end: date, day_rows) -> list[dict]:
    days = {d: {"date": d, "upload": 0, "download": 0, "file_op": 0, "login": 0,
                "bytes_uploaded": 0, "bytes_downloaded": 0} for d in days_between(start, end)}
    for day, kind, events, hi, lo, _failed in day_rows:
        cell = days[_day(day)]
        cell[kind] += int(events)
        if kind == "upload":
            cell["bytes_uploaded"] += exact_sum(hi, lo)
        elif kind == "download":
            cell["bytes_downloaded"] += exact_sum(hi, lo)
    return list(days.values())
