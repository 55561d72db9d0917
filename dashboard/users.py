"""A user's view: /api/users/<name> (docs/api.md) and the /users/<name> page's data.

It reads daily_stats, user_ips_daily and user_protocols_daily (migration 011), plus a few
ranges of the ix_events_user index (first/last seen, recent).
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

import db

from . import audit
from .node_scope import node_params, scoped
from .queries import _connection, _day, _user_dict, days_between, exact_sum
from .timefmt import day_bounds, logged_time

USER_KINDS = ("upload", "download", "file_op", "login")
RECENT = 20


class UnknownUser(LookupError):
    """No upload, download, file_op or login event ever carried this name."""


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
