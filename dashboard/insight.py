"""The insight views (docs/insight.md): /api/clients, /api/paths, /api/activity, the period
before of /api/stats, and the countries of /api/security.

Whole days are read from the rollups of migration 018 (path_daily, login_clients_daily,
events_hourly) and the security rollups, so a year costs what its cells cost; a window (a
range with a time of day, or hours=) from its raw events, by the same rules. Each rollup
counts the days from rollup_coverage.first_day on: when a range starts before it (events
pruned before the rollup existed), the answer says so in ``covers_from``.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

import sqlalchemy as sa

import db
from ingestion.folders import DEPTHS, folders

from . import geo, window
from .node_scope import node_params, scoped
from .params import BadParameter
from .queries import _connection, _day, exact_sum
from .span import Span

PATHS_LIMIT = 100
MAX_PATHS_LIMIT = 1000
DEFAULT_DEPTH = 2
UNKNOWN = "(unknown)"
_SSH = re.compile(r"SSH-(?:2\.0|1\.99)-")
_SSH_END = re.compile(r"[_\-/ ]")
_OTHER_END = re.compile(r"[/ ]")
_WHOLE = re.compile(r"[0-9]{1,4}", re.ASCII)


# --- parameters ------------------------------------------------------------------------------

def parse_depth(text: str | None) -> int:
    """Returns depth= (1..DEPTHS; DEFAULT_DEPTH when missing), or raises BadParameter."""
    if text is None:
        return DEFAULT_DEPTH
    if not (_WHOLE.fullmatch(text) and 1 <= int(text) <= DEPTHS):
        raise BadParameter(f"depth must be a whole number from 1 to {DEPTHS}, not {text[:40]!r}")
    return int(text)


def parse_paths_limit(text: str | None) -> int:
    """Returns /api/paths' limit= (1..1000; 100 when missing), or raises BadParameter."""
    if text is None:
        return PATHS_LIMIT
    if not (_WHOLE.fullmatch(text) and 1 <= int(text) <= MAX_PATHS_LIMIT):
        raise BadParameter(f"limit must be a whole number from 1 to {MAX_PATHS_LIMIT}, "
                           f"not {text[:40]!r}")
    return int(text)


# --- clients ---------------------------------------------------------------------------------

def family(client: str | None) -> str:
    """Returns a client's family: an SSH banner's software name (the text after 'SSH-2.0-'
    or 'SSH-1.99-' up to the first '_', '-', '/' or space), else the text up to the first
    '/' or space ('Mozilla/5.0 …' -> 'Mozilla'); '(unknown)' for none."""
    if not client:
        return UNKNOWN
    m = _SSH.match(client)
    rest, end = (client[m.end():], _SSH_END) if m else (client, _OTHER_END)
    cut = end.search(rest)
    return rest[:cut.start()] if cut else rest


def clients(conn_or_engine, span: Span, nodes=None) -> dict:
    """Returns the /api/clients body of ``span`` (of ``nodes``' events; None: all)."""
    with _connection(conn_or_engine) as conn:
        d = db.dialect(conn)
        if span.window:
            rows = conn.execute(scoped("window_logins", d, nodes),
                                {**span.bounds(), **node_params(nodes)}).all()
        else:
            rows = conn.execute(scoped("insight_clients", d, nodes),
                                {**_days(span), **node_params(nodes)}).all()
        since = _covers_from(conn, "login_clients_daily", span)
    by_client: dict[str | None, list] = {}
    plain_logins, plain_users = 0, set()
    for client, encrypted, username, logins in rows:
        client, logins = client or None, int(logins)
        cell = by_client.setdefault(client, [0, set()])
        cell[0] += logins
        if username:
            cell[1].add(username)
        if int(encrypted) == 0:
            plain_logins += logins
            if username:
                plain_users.add(username)
    families: dict[str, list] = {}
    for client, (logins, users) in by_client.items():
        cell = families.setdefault(family(client), [0, set()])
        cell[0] += logins
        cell[1] |= users
    body = {
        "start": span.start.isoformat(), "end": span.end.isoformat(),
        "families": [{"family": f, "logins": n, "users": len(u)} for f, (n, u) in
                     sorted(families.items(), key=lambda kv: (-kv[1][0], kv[0]))],
        "clients": [{"client": c, "family": family(c), "logins": n, "users": len(u)}
                    for c, (n, u) in sorted(by_client.items(),
                                            key=lambda kv: (-kv[1][0], kv[0] is None,
                                                            kv[0] or ""))],
        "plaintext": {"logins": plain_logins, "users": sorted(plain_users)},
    }
    return _with_cover(body, since)


# --- folders ---------------------------------------------------------------------------------

def paths(conn_or_engine, span: Span, depth: int = DEFAULT_DEPTH, user: str | None = None,
          limit: int = PATHS_LIMIT, nodes=None, by_folder: bool | None = None) -> dict:
    """Returns the /api/paths body: the transfers of ``span`` by their folder at ``depth``
    (ingestion/folders.py), of ``user`` when given (byte for byte), the ``limit`` folders
    that moved the most bytes. ``by_folder`` says whether MySQL/MariaDB reads path_daily in
    folder order (None: when the range covers much of what is stored, _read_by_folder)."""
    with _connection(conn_or_engine) as conn:
        d = db.dialect(conn)
        if span.window:
            cells = _window_paths(conn, span, depth, user, nodes)
        else:
            cells = {}
            for path, ups, downs, up_hi, up_lo, down_hi, down_lo, users in conn.execute(
                    _paths_sql(conn, d, span, depth, nodes, by_folder),
                    {**_days(span), "depth": depth, "user": user, "last": limit - 1,
                     "limit": limit, **node_params(nodes)}):
                cells[path] = [int(ups), int(downs), exact_sum(up_hi, up_lo),
                               exact_sum(down_hi, down_lo), int(users)]
        since = _covers_from(conn, "path_daily", span)
    ranked = sorted(cells.items(), key=lambda kv: (-(kv[1][2] + kv[1][3]), kv[0]))[:limit]
    body = {"start": span.start.isoformat(), "end": span.end.isoformat(), "depth": depth,
            "paths": [{"path": p, "uploads": c[0], "downloads": c[1], "bytes_uploaded": c[2],
                       "bytes_downloaded": c[3], "users": c[4]} for p, c in ranked]}
    return _with_cover(body, since)


def _paths_sql(conn, d: str, span: Span, depth: int, nodes, by_folder) -> sa.TextClause:
    """Returns insight_paths for ``span``; on MySQL/MariaDB reading path_daily in folder order
    when ``by_folder`` says so (None: _read_by_folder decides)."""
    if d != "mysql":
        return scoped("insight_paths", d, nodes)
    if by_folder is None:
        by_folder = _read_by_folder(conn, span, depth)
    hint = "FORCE INDEX (path_daily_by_folder)" if by_folder else ""
    return scoped("insight_paths", d, nodes, {"/*index*/": hint})


# A range covering at least this share of the days stored at its depth reads path_daily in
# folder order (migration 020): its rows are then grouped as they come, where the key order
# (by day) sorts them all by path first. A short range in a long history reads by day: its
# few rows cost less to sort than every stored day of the depth costs to walk.
BY_FOLDER_SHARE = 0.25


def _read_by_folder(conn, span: Span, depth: int) -> bool:
    first, last = conn.execute(sa.text(
        "SELECT MIN(day), MAX(day) FROM path_daily WHERE depth = :depth"),
        {"depth": depth}).one()
    if first is None:
        return False
    first, last = date.fromisoformat(_day(first)), date.fromisoformat(_day(last))
    covered = (min(span.end, last) - max(span.start, first)).days + 1
    return covered >= BY_FOLDER_SHARE * ((last - first).days + 1)


def _window_paths(conn, span: Span, depth: int, user, nodes) -> dict:
    """Returns {folder: [uploads, downloads, bytes up, bytes down, users]} of a window."""
    acc: dict[str, list] = {}
    rows = conn.execute(scoped("window_transfers", db.dialect(conn), nodes),
                        {**span.bounds(), **node_params(nodes)})
    for username, kind, path, n, hi, lo in rows:
        if user is not None and username != user:
            continue
        cell = acc.setdefault(folders(path)[depth - 1], [0, 0, 0, 0, set()])
        up = kind == "upload"
        cell[0 if up else 1] += int(n)
        cell[2 if up else 3] += exact_sum(hi, lo)
        if username:
            cell[4].add(username)
    return {p: c[:4] + [len(c[4])] for p, c in acc.items()}


# --- when ------------------------------------------------------------------------------------

def activity(conn_or_engine, span: Span, nodes=None) -> dict:
    """Returns the /api/activity body: the events but bans of ``span`` per weekday (Monday
    first) and hour of their logged time."""
    hours = [[0] * 24 for _ in range(7)]
    with _connection(conn_or_engine) as conn:
        d = db.dialect(conn)
        if span.window:
            rows = [(slot[:10], int(slot[11:13]), n) for slot, kind, n, *_rest in conn.execute(
                scoped("window_counts", d, nodes),
                {**span.bounds(), **node_params(nodes), "chars": 13}) if kind != "ban"]
        else:
            rows = conn.execute(scoped("insight_hours", d, nodes),
                                {**_days(span), **node_params(nodes)}).all()
        since = _covers_from(conn, "events_hourly", span)
    for day, hour, events in rows:
        hours[date.fromisoformat(_day(day)).weekday()][int(hour)] += int(events)
    return _with_cover({"start": span.start.isoformat(), "end": span.end.isoformat(),
                        "hours": hours}, since)


# --- the period before -----------------------------------------------------------------------

def previous_span(span: Span) -> Span | None:
    """Returns the range of the same length just before ``span`` (the same number of days
    before its start; for a window, the same time before its first moment); None when it
    would start before year 1."""
    try:
        if span.window:
            length = span.last - span.first
            return Span((span.first - length).date(),
                        (span.first - timedelta(milliseconds=1)).date(),
                        span.first - length, span.first)
        return Span(span.start - timedelta(days=span.days), span.start - timedelta(days=1))
    except OverflowError:
        return None


def previous(conn_or_engine, span: Span, nodes=None) -> dict | None:
    """Returns /api/stats' ``previous``: the totals of the period just before ``span``, with
    its own start and end (None when there is no such period)."""
    before = previous_span(span)
    if before is None:
        return None
    totals = window.stats_of(conn_or_engine, before, 1, nodes)["totals"]
    return {"start": before.start.isoformat(), "end": before.end.isoformat(), **totals}


# --- countries -------------------------------------------------------------------------------

def add_countries(body: dict, failures: dict[str, int], limit: int, locate: geo.Locate) -> dict:
    """Adds /api/security's countries to ``body``: each by_ip entry's ``country``, and
    ``by_country`` from ``failures`` ({ip: failed logins in the range}, every IP): the
    failures and distinct non-empty IPs of each country (None for none), failures
    descending, then the country (None last), at most ``limit``."""
    for row in body["by_ip"]:
        row["country"] = locate(row["ip"])
    acc: dict[str | None, list] = {}
    for ip, n in failures.items():
        if not n:
            continue
        cell = acc.setdefault(locate(ip), [0, 0])
        cell[0] += int(n)
        cell[1] += 1 if ip else 0
    body["by_country"] = [{"country": c, "failures": n, "ips": ips} for c, (n, ips) in
                          sorted(acc.items(), key=lambda kv: (-kv[1][0], kv[0] is None,
                                                              kv[0] or ""))][:limit]
    return body


def ip_failures(conn_or_engine, span: Span, nodes=None) -> dict[str, int]:
    """Returns {ip: failed logins} of every IP ('' for none) with any in ``span``."""
    with _connection(conn_or_engine) as conn:
        d = db.dialect(conn)
        if span.window:
            acc: dict[str, int] = {}
            for _day_, kind, ip, *_rest, events, _first, _last in conn.execute(
                    scoped("window_security", d, nodes), {**span.bounds(), **node_params(nodes)}):
                if kind == "login_failed":
                    acc[ip] = acc.get(ip, 0) + int(events)
            return acc
        return {ip: int(n) for ip, n in conn.execute(
            scoped("security_ip_failures", d, nodes), {**_days(span), **node_params(nodes)})}


# --- shared ------------------------------------------------------------------------------------

def _days(span: Span) -> dict:
    return {"start": span.start.isoformat(), "end": span.end.isoformat()}


def _covers_from(conn, rollup: str, span: Span) -> date | None:
    """Returns the first day ``rollup`` counts whole when ``span`` starts before it (events
    pruned before migration 018 made the rollup), else None. A window reads raw events:
    None."""
    if span.window:
        return None
    first = conn.execute(sa.text("SELECT first_day FROM rollup_coverage"
                                 " WHERE rollup_table = :t"), {"t": rollup}).scalar()
    if first is None:
        return None
    first = date.fromisoformat(_day(first))
    return first if span.start < first else None


def _with_cover(body: dict, since: date | None) -> dict:
    if since is not None:
        body["covers_from"] = since.isoformat()
    return body


def security_with_countries(conn_or_engine, span: Span, limit: int, nodes,
                            locate: geo.Locate) -> dict:
    """Returns /api/security's body for ``span`` with its countries (add_countries)."""
    with _connection(conn_or_engine) as conn:
        body = window.security_of(conn, span, limit, nodes)
        failures = ip_failures(conn, span, nodes)
    return add_countries(body, failures, limit, locate)
