"""The dashboard's reads: one function per sql/queries/*.sql, returning plain data.

Every figure comes from the ``daily_stats`` rollup (days x kinds x users), never from
grouping the raw events, so a refresh costs the same with 1 000 or 100 million events.
The shapes are docs/api.md's, the figures docs/counting-rules.md's: ``stats()`` is exactly
the body of ``GET /api/stats``; ``status()`` is what ingestion has done, node by node.

What a request asks (its range, users_limit, node=) is read by params.py; a read is scoped
to nodes by node_scope.py; whether the database takes writes is write_check.py's.
"""
from __future__ import annotations

import contextlib
from datetime import date, timedelta
from typing import Iterator

import sqlalchemy as sa

import db
from ingestion.counting import KINDS

from .node_scope import node_params, scoped
from .params import USERS_LIMIT
from .timefmt import stored_time


def days_between(start: date, end: date) -> list[str]:
    """Returns every day of start..end (inclusive) as 'YYYY-MM-DD'."""
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


# --- reads -------------------------------------------------------------------------------

@contextlib.contextmanager
def _connection(conn_or_engine) -> Iterator[sa.Connection]:
    if isinstance(conn_or_engine, sa.Engine):
        with conn_or_engine.connect() as conn:
            yield conn
    else:
        yield conn_or_engine


def _day(value) -> str:
    return str(value)[:10]


def stats(conn_or_engine, start: date, end: date, users_limit: int = USERS_LIMIT,
          nodes=None) -> dict:
    """Returns the figures of start..end in the contract's JSON shape (totals, users, days),
    with at most ``users_limit`` users (the busiest; ``users_truncated`` says if any were left
    out). Sums are exact Python ints, whatever their size.

    ``nodes`` (None: all) limits the figures to those nodes' events, counted by the same
    rules: a user active on two of them is one user (counted over the union, never summed)."""
    bounds = {"start": start.isoformat(), "end": end.isoformat(), **node_params(nodes)}
    with _connection(conn_or_engine) as conn:
        d = db.dialect(conn)
        day_rows = [(day, kind, events, exact_sum(hi, lo), failed) for day, kind, events, hi, lo, failed
                    in conn.execute(scoped("stats_by_day", d, nodes), bounds)]
        listed = users(conn, start, end, users_limit, nodes)
        users_total = int(conn.execute(scoped("users_count", d, nodes), bounds).scalar() or 0)
    return _assemble(start, end, day_rows, listed, users_total)


def users(conn_or_engine, start: date, end: date, users_limit: int = USERS_LIMIT,
          nodes=None) -> list[dict]:
    """Returns the users of start..end, the busiest first (user_order), at most ``users_limit``:
    the ``users`` of stats() alone, for a page that lists them without the other figures."""
    bounds = {"start": start.isoformat(), "end": end.isoformat(), "users_limit": users_limit,
              **node_params(nodes)}
    with _connection(conn_or_engine) as conn:
        return [_user_of_row(row) for row in conn.execute(
            scoped("stats_users", db.dialect(conn), nodes), bounds).mappings()]


def exact_sum(hi, lo) -> int:
    """Returns hi * 2^31 + lo as a Python int: a sum the SQL split in two so that it could not
    overflow (MariaDB hands them over as Decimal, SQLite as int; NULL counts as 0)."""
    return int(hi or 0) * 2**31 + int(lo or 0)


def assemble_stats(start: date, end: date, day_rows, user_rows,
                   users_limit: int | None = None) -> dict:
    """Returns the stats dict from (day, kind, events, bytes, failed) and
    (username, kind, events, bytes, failed) rows, with at most ``users_limit`` users."""
    users = _users(user_rows)
    return _assemble(start, end, day_rows, users[:users_limit], len(users))


def _assemble(start: date, end: date, day_rows, users: list[dict], users_total: int) -> dict:
    days = {d: dict.fromkeys(KINDS, 0) for d in days_between(start, end)}
    by_kind = {k: [0, 0, 0] for k in KINDS}          # events, bytes, failed
    for day, kind, events, nbytes, failed in day_rows:
        if kind not in by_kind:
            continue
        days[_day(day)][kind] += int(events)
        total = by_kind[kind]
        total[0] += int(events)
        total[1] += int(nbytes or 0)
        total[2] += int(failed or 0)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "totals": {
            "users": users_total,
            "uploads": by_kind["upload"][0],
            "downloads": by_kind["download"][0],
            "transfers": by_kind["upload"][0] + by_kind["download"][0],
            "failed_transfers": by_kind["upload"][2] + by_kind["download"][2],
            "bytes_uploaded": by_kind["upload"][1],
            "bytes_downloaded": by_kind["download"][1],
            "file_ops": by_kind["file_op"][0],
            "logins": by_kind["login"][0],
            "login_failures": by_kind["login_failed"][0],
            "bans": by_kind["ban"][0],
        },
        "users": users,
        "users_truncated": users_total > len(users),
        "days": [{"date": d, **counts, "total": sum(counts.values())}
                 for d, counts in days.items()],
    }


def _user_of_row(row) -> dict:
    """Returns one user's dict from a stats_users row."""
    return _user_dict(row["username"], {
        "uploads": int(row["uploads"]), "downloads": int(row["downloads"]),
        "failed_transfers": int(row["failed_transfers"]),
        "bytes_uploaded": exact_sum(row["up_hi"], row["up_lo"]),
        "bytes_downloaded": exact_sum(row["down_hi"], row["down_lo"]),
        "file_ops": int(row["file_ops"]), "logins": int(row["logins"])})


def _user_dict(name: str, u: dict) -> dict:
    """Returns the contract's user object from its counts and byte sums."""
    transfers = u["uploads"] + u["downloads"]
    volume = u["bytes_uploaded"] + u["bytes_downloaded"]
    return {
        "username": name,
        "uploads": u["uploads"], "downloads": u["downloads"], "transfers": transfers,
        "failed_transfers": u["failed_transfers"],
        "bytes_uploaded": u["bytes_uploaded"], "bytes_downloaded": u["bytes_downloaded"],
        "avg_bytes_per_transfer": round(volume / transfers, 2) if transfers else None,
        "file_ops": u["file_ops"], "logins": u["logins"],
    }


def user_order(u: dict) -> tuple:
    """Returns the sort key of the users list: bytes moved, transfers, other events (all
    descending), then the name (stats_users.sql orders the same way)."""
    return (-(u["bytes_uploaded"] + u["bytes_downloaded"]), -u["transfers"],
            -(u["file_ops"] + u["logins"]), u["username"])


def _users(user_rows) -> list[dict]:
    """Returns one dict per user, the busiest first (user_order), from per-kind rows."""
    acc: dict[str, dict] = {}
    for username, kind, events, nbytes, failed in user_rows:
        u = acc.setdefault(username, {"uploads": 0, "downloads": 0, "failed_transfers": 0,
                                      "bytes_uploaded": 0, "bytes_downloaded": 0,
                                      "file_ops": 0, "logins": 0})
        events, nbytes, failed = int(events), int(nbytes or 0), int(failed or 0)
        if kind == "upload":
            u["uploads"] += events
            u["bytes_uploaded"] += nbytes
            u["failed_transfers"] += failed
        elif kind == "download":
            u["downloads"] += events
            u["bytes_downloaded"] += nbytes
            u["failed_transfers"] += failed
        elif kind == "file_op":
            u["file_ops"] += events
        elif kind == "login":
            u["logins"] += events
    return sorted((_user_dict(name, u) for name, u in acc.items()), key=user_order)


def first_day(conn_or_engine, nodes=None) -> date | None:
    """Returns the earliest day with an event (of ``nodes``), or None when there is none."""
    with _connection(conn_or_engine) as conn:
        value = conn.execute(scoped("first_day", db.dialect(conn), nodes),
                             node_params(nodes)).scalar()
    return date.fromisoformat(_day(value)) if value is not None else None


def last_day(conn_or_engine, nodes=None) -> date | None:
    """Returns the latest day with an event (of ``nodes``), or None when there is none."""
    with _connection(conn_or_engine) as conn:
        value = conn.execute(scoped("last_day", db.dialect(conn), nodes),
                             node_params(nodes)).scalar()
    return date.fromisoformat(_day(value)) if value is not None else None


_STATUS_INTS = ("files_known", "files_active", "files_missing", "files_in_error", "bytes_read",
                "bytes_pending", "bytes_lost", "lines_read", "events_read", "malformed_lines")
NODE_KEYS = ("node", "files_known", "files_active", "files_missing", "files_in_error",
             "bytes_read", "bytes_pending", "bytes_lost", "lines_read", "events_read",
             "malformed_lines", "files_waiting", "last_pass_at", "last_error", "last_error_at",
             "seconds_since_pass", "stale")
STALE_INTERVALS = 3          # a node that has not passed for this many intervals is stale


def status(engine, nodes=None, stale_after_s: float | None = None) -> dict:
    """Returns what ingestion has done: files, bytes read and pending, lines, last pass/error,
    for the nodes ``nodes`` (None: all) together, and under "nodes" for each node.

    Only nodes with files or an error are listed. A node is ``stale`` when its last pass (on the database's clock) is more than
    ``stale_after_s`` ago, or was never stamped; never stale when ``stale_after_s`` is None.
    Raises sqlalchemy errors when the database cannot answer (the caller reports that).
    """
    from ingestion.generations import DB_EPOCH
    with _connection(engine) as conn:
        d = db.dialect(conn)
        files = {r["node"]: r for r in conn.execute(db.load_sql("status_files", d)).mappings()}
        passes = {r["node"]: r for r in conn.execute(db.load_sql("status_nodes", d)).mappings()}
        now = conn.exec_driver_sql("SELECT " + DB_EPOCH[d]).scalar()
        newest = _newest_event(conn, d, nodes)
    per_node = []
    # A node is one with files, or with an error (a missing folder): a process that passes
    # over an empty folder (a dashboard on a host without logs) is no SFTPGo node to show.
    named = set(files) | {n for n, p in passes.items() if p.get("last_error")}
    for name in sorted(named):
        if nodes is not None and name not in nodes:
            continue
        f, p = files.get(name, {}), passes.get(name, {})
        node = {"node": name, **{k: int(f.get(k) or 0) for k in _STATUS_INTS}}
        # files its last pass left for a later one: pending before they are generations
        node["files_waiting"] = int(p.get("files_waiting") or 0)
        node["bytes_pending"] += int(p.get("bytes_waiting") or 0)
        for k in ("last_pass_at", "last_error", "last_error_at"):
            node[k] = str(p[k]) if p.get(k) is not None else None
        epoch = p.get("last_pass_epoch")
        node["seconds_since_pass"] = round(max(float(now) - float(epoch), 0.0), 3) \
            if epoch is not None and now is not None else None
        node["stale"] = stale_after_s is not None and (
            node["seconds_since_pass"] is None or node["seconds_since_pass"] > stale_after_s)
        per_node.append(node)
    out = {k: sum(n[k] for n in per_node) for k in (*_STATUS_INTS, "files_waiting")}
    out["last_pass_at"] = max((n["last_pass_at"] for n in per_node if n["last_pass_at"]),
                              default=None)
    errors = [n for n in per_node if n["last_error"]]
    last = max(errors, key=lambda n: n["last_error_at"] or "", default=None)
    out["last_error"] = last["last_error"] if last else None
    out["last_error_at"] = last["last_error_at"] if last else None
    # always with its milliseconds (MariaDB's datetime prints none when they are .000)
    out["newest_event"] = stored_time(newest) if newest is not None else None
    out["nodes"] = per_node
    out["stale_nodes"] = [n["node"] for n in per_node if n["stale"]]
    return out


def _newest_event(conn, d: str, nodes) -> object:
    if nodes is None:
        return conn.execute(db.load_sql("newest_event", d)).scalar()
    if not nodes:
        return None
    return conn.execute(scoped("newest_event", d, nodes), {"nodes": list(nodes)}).scalar()


def lines_pending(st: dict) -> int:
    """Returns an estimate of the lines waiting to be read, from the mean line length so far."""
    if st["bytes_pending"] <= 0:
        return 0
    if st["lines_read"] <= 0 or st["bytes_read"] <= 0:
        return max(1, st["bytes_pending"] // 200)     # nothing read yet: a typical SFTPGo line
    return max(1, round(st["bytes_pending"] * st["lines_read"] / st["bytes_read"]))

