"""Write a batch: its events, malformed lines, daily rollups and checkpoint, in one transaction.

The checkpoint moves only inside the transaction that stores the rows it covers, and only
from the offset this pass started from (optimistic check), so a crash at any instant, or a
second writer, can neither lose nor duplicate a line. The unique key (file_id,
start_offset) backs that up: a replay fails loudly instead of storing twice.
"""
from __future__ import annotations

import functools
import itertools
import operator
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from . import loadfiles
from .folders import prefixes
from .identity import Generation, heads_compatible
from .parse import NOT_MALFORMED

EVENT_COLUMNS = ("file_id", "start_offset", "end_offset", "ts", "day", "kind", "username",
                 "size_bytes", "failed", "action", "remote_ip", "protocol", "file_path",
                 "elapsed_ms", "connection_id", "method", "error", "client", "encrypted",
                 "partial")
# A reject is (file_id, start_offset, end_offset, reason, sample), or with a 6th item, the
# number of lines it stands for (a run of blank lines: see batch.RejectRow); 1 when absent.
MALFORMED_COLUMNS = ("file_id", "start_offset", "end_offset", "reason", "sample", "line_count")
# Every rollup's key ends with the node (whose folder the events' file is in): a user or
# an IP active on two nodes is two cells, which a read over all nodes adds up (sums) or
# counts once (COUNT(DISTINCT ...) over the cells of every node). The security rollups are
# store.SECURITY_ROLLUPS below, their key ending with NODE_KEY.
DAILY_COLUMNS = ("day", "kind", "username", "node", "events", "bytes", "failed")

# daily_stats.bytes saturates here: 4 EiB per user, day and kind, far inside int64, so no
# increment can overflow either database (parse.MAX_SIZE bounds each transfer to 1 PiB).
BYTES_CAP = 1 << 62


class CheckpointMoved(RuntimeError):
    """The checkpoint is not where this pass found it: someone else wrote; retry later."""


def _placeholders(dialect: str, n: int) -> str:
    return ", ".join(["?" if dialect == "sqlite" else "%s"] * n)


def _insert(table: str, columns: tuple, dialect: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({_placeholders(dialect, len(columns))})"


# What an increment does to a daily_stats cell that exists already.
# bytes = min(bytes, cap - new) + new: saturates at the cap, never overflows
_DAILY_UPSERT = {
    "sqlite": " ON CONFLICT (day, kind, username, node) DO UPDATE SET"
              " events = events + excluded.events,"
              f" bytes = MIN(bytes, {BYTES_CAP} - excluded.bytes) + excluded.bytes,"
              " failed = failed + excluded.failed",
    "mysql": " ON DUPLICATE KEY UPDATE events = events + VALUES(events),"
             f" bytes = LEAST(bytes, {BYTES_CAP} - VALUES(bytes)) + VALUES(bytes),"
             " failed = failed + VALUES(failed)",
}

_SQL = {
    d: {
        "events": _insert("events", EVENT_COLUMNS, d),
        "malformed": _insert("malformed_lines", MALFORMED_COLUMNS, d),
    }
    for d in ("sqlite", "mysql")
}


# --- the security rollups, table-driven ----------------------------------------------------
# Each event kind that feeds them has a finest key: (column, index in EVENT_COLUMNS, its SQL
# over events e); a missing value is ''. A batch's events of that kind are counted once by
# that key (events, first and last ts), and each rollup then groups those cells by its own
# key, a subset of the finest one, ending with the node (NODE_KEY: the batch's node, in SQL
# its file's, lf.node). The check/rebuild SQL (rollups.py) comes from the same table, so
# adding a column to every rollup's key is: one entry in FINEST, one name in each
# Rollup.key, and a migration.

FINEST = {
    "login_failed": (("day", 4, "e.day"), ("ip", 10, "COALESCE(e.remote_ip, '')"),
                     ("username", 6, "e.username"), ("method", 15, "COALESCE(e.method, '')"),
                     ("protocol", 11, "COALESCE(e.protocol, '')")),
    "ban": (("day", 4, "e.day"), ("ip", 10, "COALESCE(e.remote_ip, '')")),
}
# The node: not a column of events but of their file (log_files lf), the same for a batch.
NODE_KEY = ("node", "lf.node")
# What a rollup's value columns can be made of: (how cells combine, its SQL over events).
# "events" counts (saturating at BYTES_CAP), the others are the first/last time or day.
SOURCES = {"events": ("sum", "COUNT(*)"), "first_ts": ("min", "MIN(e.ts)"),
           "last_ts": ("max", "MAX(e.ts)"), "first_day": ("min", "MIN(e.day)"),
           "last_day": ("max", "MAX(e.day)"),
           # the user rollups' (USER_ROLLUPS, whose SQL is user_rollup_sql's)
           "transfers": ("sum", "COUNT(*)"), "bytes": ("sum", None)}
# How a rollup without a day in its key is recomputed from a rollup with one (its days):
# the SQL of each value column over the finer rollup's cells.
FROM_DAYS = {"events": "SUM(events)", "first_ts": "MIN(first_ts)", "last_ts": "MAX(last_ts)",
             "first_day": "MIN(day)", "last_day": "MAX(day)"}


@dataclass(frozen=True)
class Rollup:
    """One security rollup: ``table`` counts events of ``kind`` by ``key`` (names of
    FINEST[kind], then NODE_KEY's) into ``values`` (names of SOURCES).

    ``from_days`` names the day-keyed rollup that check/rebuild recompute an all-time one
    from (a rollup is never pruned, its events may be: see rollups.py)."""
    table: str
    kind: str
    key: tuple
    values: tuple = ("events",)
    from_days: str | None = None

    @property
    def columns(self) -> tuple:
        return self.key + self.values


SECURITY_ROLLUPS = (
    Rollup("login_failures_ip_daily", "login_failed", ("day", "ip", "node"),
           ("events", "first_ts", "last_ts")),
    Rollup("login_failures_user_daily", "login_failed", ("day", "username", "node")),
    Rollup("login_failures_method_daily", "login_failed", ("day", "method", "protocol", "node")),
    Rollup("login_failure_pair_days", "login_failed", ("ip", "username", "day", "node")),
    Rollup("login_failure_pairs", "login_failed", ("ip", "username", "node"),
           ("events", "first_day", "last_day"), from_days="login_failure_pair_days"),
    Rollup("bans_daily", "ban", ("day", "ip", "node")),
)


def _upsert_tail(r: Rollup, dialect: str) -> str:
    """Returns what an increment does to a cell of ``r`` that exists: counts add up and
    saturate like bytes; first/last widen to the batch's."""
    sets = []
    for col in r.values:
        how = SOURCES[col][0]
        new = f"excluded.{col}" if dialect == "sqlite" else f"VALUES({col})"
        if how == "sum":
            least = "MIN" if dialect == "sqlite" else "LEAST"
            sets.append(f"{col} = {least}({col}, {BYTES_CAP} - {new}) + {new}")
        elif dialect == "sqlite":
            sets.append(f"{col} = {how.upper()}({col}, {new})")
        else:
            sets.append(f"{col} = {'LEAST' if how == 'min' else 'GREATEST'}({col}, {new})")
    if dialect == "sqlite":
        return f" ON CONFLICT ({', '.join(r.key)}) DO UPDATE SET " + ", ".join(sets)
    return " ON DUPLICATE KEY UPDATE " + ", ".join(sets)


# --- the user rollups (migration 011): what /api/users/<name> groups per IP and protocol --
# Rollups of the same shape as the security ones (Rollup: key ending with the node, sums
# that saturate, the same upserts), keyed username first (the API reads one user's days).
# Their cells come from the user kinds' events rather than FINEST's one kind, so their
# batch increments are user_rows' and their recomputing SQL user_rollup_sql's.
USER_KINDS = ("upload", "download", "file_op", "login")
TRANSFER_KINDS = ("upload", "download")
USER_ROLLUPS = (
    # the user kinds' events with a non-empty remote_ip
    Rollup("user_ips_daily", "user", ("username", "day", "ip", "node")),
    # the transfers and their bytes, '' for a missing protocol
    Rollup("user_protocols_daily", "transfer", ("username", "day", "protocol", "node"),
           ("transfers", "bytes")),
)

# --- the all-time totals (migration 015): daily_stats without the day, for GET /metrics ---
# One cell per kind x username x node, from the same increments as daily_stats (its cells
# of a batch, added up over their days), with the time of the cell's newest event. Checked
# and rebuilt against daily_stats and the events by rollups.py.
TOTALS_COLUMNS = ("kind", "username", "node", "events", "bytes", "failed", "last_ts")
_TOTALS_UPSERT = {
    "sqlite": " ON CONFLICT (kind, username, node) DO UPDATE SET"
              " events = events + excluded.events,"
              f" bytes = MIN(bytes, {BYTES_CAP} - excluded.bytes) + excluded.bytes,"
              " failed = failed + excluded.failed,"
              " last_ts = MAX(COALESCE(last_ts, excluded.last_ts), excluded.last_ts)",
    "mysql": " ON DUPLICATE KEY UPDATE events = events + VALUES(events),"
             f" bytes = LEAST(bytes, {BYTES_CAP} - VALUES(bytes)) + VALUES(bytes),"
             " failed = failed + VALUES(failed),"
             " last_ts = GREATEST(COALESCE(last_ts, VALUES(last_ts)), VALUES(last_ts))",
}

# --- the insight rollups (migration 018): /api/paths, /api/clients, /api/activity ---------
# Rollups of the same shape again (Rollup, node last, saturating sums, the same upserts),
# their cells from insight_rows and their recomputing SQL from sql/rollups/<table>.*.sql.
# path_daily: the transfers by folder (ingestion/folders.py) at each depth 1..8, per day
# and user. login_clients_daily: the logins per day, client ('' for none), encrypted (1, 0,
# -1 when the line does not say) and user. events_hourly: the events but bans, per day and
# hour of their ts.
INSIGHT_ROLLUPS = (
    Rollup("path_daily", "transfer", ("depth", "day", "path", "username", "node"),
           ("uploads", "downloads", "bytes_uploaded", "bytes_downloaded")),
    Rollup("login_clients_daily", "login", ("day", "client", "encrypted", "username", "node")),
    Rollup("events_hourly", "event", ("day", "hour", "node")),
)
SOURCES.update(dict.fromkeys(("uploads", "downloads", "bytes_uploaded", "bytes_downloaded"),
                             ("sum", None)))


def insight_rows(events: list[tuple], node: str) -> dict[str, list[tuple]]:
    """Returns {table: increments} of the INSIGHT_ROLLUPS for event rows of ``node``'s files
    (Rollup.columns order; sums saturate at BYTES_CAP). A transfer costs a dict update by
    its folder (folders.folder_key); the depths are expanded once per folder of the batch."""
    by_folder: dict[tuple, list] = {}
    clients: dict[tuple, int] = {}
    hours: dict[str, int] = {}
    get_hour, get_folder = hours.get, by_folder.get
    for row in events:   # row in EVENT_COLUMNS order
        kind = row[5]
        if kind == "ban":
            continue
        hour = row[3][:13]
        hours[hour] = get_hour(hour, 0) + 1
        if kind == "upload" or kind == "download":
            path = row[12]
            if path is None:
                continue
            # folders.folder_key, inline: '/' if the path has one, else '\' (Windows)
            cut = path.rfind("/")
            if cut < 0:
                cut = path.rfind("\\")
            key = (row[4], row[6], path[:cut + 1])
            cur = get_folder(key)
            if cur is None:
                cur = by_folder[key] = [0, 0, 0, 0]
            if kind == "upload":
                cur[0] += 1
                cur[2] += row[7]
            else:
                cur[1] += 1
                cur[3] += row[7]
        elif kind == "login":
            key = (row[4], row[17] or "", -1 if row[18] is None else row[18], row[6], node)
            clients[key] = clients.get(key, 0) + 1
    out: dict[str, list[tuple]] = {}
    if by_folder:
        cells: dict[tuple, list] = {}
        get_cell = cells.get
        for (day, user, fkey), sums in by_folder.items():
            for depth, name in enumerate(prefixes(fkey), 1):
                cur = get_cell((depth, day, name, user))
                if cur is None:
                    cells[(depth, day, name, user)] = sums[:]
                else:
                    cur[0] += sums[0]
                    cur[1] += sums[1]
                    cur[2] += sums[2]
                    cur[3] += sums[3]
        cap = BYTES_CAP
        out["path_daily"] = [(depth, day, name, user, node, u, d,
                              bu if bu < cap else cap, bd if bd < cap else cap)
                             for (depth, day, name, user), (u, d, bu, bd) in cells.items()]
    if clients:
        out["login_clients_daily"] = [(*k, min(n, BYTES_CAP)) for k, n in clients.items()]
    if hours:
        out["events_hourly"] = [(h[:10], int(h[11:13]), node, n) for h, n in hours.items()]
    return out


ROLLUP_BY_TABLE = {r.table: r for r in SECURITY_ROLLUPS + USER_ROLLUPS + INSIGHT_ROLLUPS}
# Every table a batch adds increments to, daily_stats first: its columns, its upsert tail
_COLUMNS = {"daily_stats": DAILY_COLUMNS, "stats_totals": TOTALS_COLUMNS} \
    | {t: r.columns for t, r in ROLLUP_BY_TABLE.items()}
_ROLLUP_TAIL = {d: {"daily_stats": _DAILY_UPSERT[d], "stats_totals": _TOTALS_UPSERT[d]}
                | {r.table: _upsert_tail(r, d) for r in ROLLUP_BY_TABLE.values()}
                for d in ("sqlite", "mysql")}
_ROLLUP_SQL = {d: {t: _insert(t, _COLUMNS[t], d) + _ROLLUP_TAIL[d][t] for t in _COLUMNS}
               for d in ("sqlite", "mysql")}


def from_events_sql(r: Rollup) -> str:
    """Returns the SELECT that recomputes rollup ``r`` from the events (its columns, in
    order), each event counted in its file's node. The comment NODE in it is where
    rollups.py puts a node condition (or nothing). Same SQL on both dialects; every name in
    it is this module's own."""
    exprs = {name: sql for name, _i, sql in FINEST[r.kind]}
    exprs[NODE_KEY[0]] = NODE_KEY[1]
    keys = [exprs[k] for k in r.key]
    cols = [f"{e} AS {k}" for e, k in zip(keys, r.key)] + \
           [f"{SOURCES[v][1]} AS {v}" for v in r.values]
    return (f"SELECT {', '.join(cols)} FROM events e JOIN log_files lf ON lf.id = e.file_id"
            f" WHERE e.kind = '{r.kind}' /*node*/ GROUP BY {', '.join(keys)}")


def from_days_sql(r: Rollup) -> str:
    """Returns the SELECT that recomputes the all-time rollup ``r`` from the cells of its
    day-keyed r.from_days (its columns, in order); NODE as in from_events_sql."""
    key = ", ".join(r.key)
    cols = [*r.key, *(f"{FROM_DAYS[v]} AS {v}" for v in r.values)]
    # aliased lf: the node condition names lf.node, the events' file's node elsewhere
    return (f"SELECT {', '.join(cols)} FROM {r.from_days} lf WHERE 1 = 1 /*node*/"
            f" GROUP BY {key}")


_IP_FROM_EVENTS = (
    "SELECT e.username AS username, e.day AS day, e.remote_ip AS ip, lf.node AS node,"
    " COUNT(*) AS events FROM events e JOIN log_files lf ON lf.id = e.file_id"
    " WHERE e.kind IN ('upload', 'download', 'file_op', 'login')"
    " AND e.remote_ip IS NOT NULL AND e.remote_ip <> '' /*node*/"
    " GROUP BY e.username, e.day, e.remote_ip, lf.node")
# bytes clamped to 0..2^62 as the cells saturate; SQLite's SUM raises on int64 overflow, so
# there the sizes are summed as 32-bit halves and recombined (see from_events.sqlite.sql)
_PROTOCOL_FROM_EVENTS = {
    "sqlite": (
        "SELECT username, day, protocol, node, transfers,"
        " CASE WHEN hi >= 1073741824 THEN 4611686018427387904 WHEN hi < 0 THEN 0"
        " ELSE hi * 4294967296 + lo END AS bytes"
        " FROM (SELECT username, day, protocol, node, transfers, hi + (lo_sum >> 32) AS hi,"
        " lo_sum & 4294967295 AS lo"
        " FROM (SELECT e.username AS username, e.day AS day,"
        " COALESCE(e.protocol, '') AS protocol, lf.node AS node, COUNT(*) AS transfers,"
        " COALESCE(SUM(e.size_bytes >> 32), 0) AS hi,"
        " COALESCE(SUM(e.size_bytes & 4294967295), 0) AS lo_sum"
        " FROM events e JOIN log_files lf ON lf.id = e.file_id"
        " WHERE e.kind IN ('upload', 'download') /*node*/"
        " GROUP BY e.username, e.day, COALESCE(e.protocol, ''), lf.node) s) t"),
    "mysql": (
        "SELECT e.username AS username, e.day AS day, COALESCE(e.protocol, '') AS protocol,"
        " lf.node AS node, COUNT(*) AS transfers,"
        " LEAST(GREATEST(COALESCE(SUM(e.size_bytes), 0), 0), 4611686018427387904) AS bytes"
        " FROM events e JOIN log_files lf ON lf.id = e.file_id"
        " WHERE e.kind IN ('upload', 'download') /*node*/"
        " GROUP BY e.username, e.day, COALESCE(e.protocol, ''), lf.node"),
}


def user_rollup_sql(table: str, dialect: str) -> str:
    """Returns the SELECT recomputing user rollup ``table`` from the events (its columns in
    order, each event counted in its file's node); the comment NODE in it is where
    rollups.py puts a node condition (or nothing)."""
    return _IP_FROM_EVENTS if table == "user_ips_daily" else _PROTOCOL_FROM_EVENTS[dialect]


def user_rows(events: list[tuple], node: str) -> dict[str, list[tuple]]:
    """Returns {table: increments} of the user rollups for event rows of ``node``'s files:
    user_ips_daily (username, day, ip, node, events) for the user kinds with a non-empty
    remote_ip, user_protocols_daily (username, day, protocol, node, transfers, bytes) for
    the transfers, '' for a missing protocol; counts and bytes saturate at BYTES_CAP."""
    ips: dict[tuple, int] = {}
    protocols: dict[tuple, list] = {}
    for row in events:   # row in EVENT_COLUMNS order
        kind = row[5]
        if kind not in USER_KINDS:
            continue
        ip = row[10]
        if ip:
            key = (row[6], row[4], ip, node)
            ips[key] = ips.get(key, 0) + 1
        if kind in TRANSFER_KINDS:
            key = (row[6], row[4], row[11] or "", node)
            cur = protocols.get(key)
            if cur is None:
                cur = protocols[key] = [0, 0]
            cur[0] += 1
            if row[7] is not None:
                cur[1] += row[7]
    out = {}
    if ips:
        out["user_ips_daily"] = [(*k, n) for k, n in ips.items()]
    if protocols:
        out["user_protocols_daily"] = [(*k, n, max(0, min(b, BYTES_CAP)))
                                       for k, (n, b) in protocols.items()]
    return out


_ADVANCE = sa.text(
    "UPDATE checkpoints SET committed_offset = :new, marker = :marker,"
    " line_count = line_count + :lines, event_count = event_count + :events,"
    " malformed_count = malformed_count + :malformed, updated_at = :now"
    " WHERE file_id = :file_id AND committed_offset = :old")


def now_text() -> str:
    """Returns the wall-clock time as 'YYYY-MM-DD HH:MM:SS.ffffff' (local time)."""
    return datetime.now().isoformat(sep=" ", timespec="microseconds")


def rollup_rows(events: list[tuple], node: str) -> list[tuple]:
    """Returns daily_stats increments (day, kind, username, node, events, bytes, failed) for
    rows of ``node``'s files.

    bytes saturates at BYTES_CAP, as the stored cells do.
    """
    return _daily_rows(_daily_cells(events, node))


def _daily_cells(events: list[tuple], node: str) -> dict[tuple, list]:
    """Returns {(day, kind, username, node): [events, bytes, failed, newest ts]} of rows of
    ``node``'s files (bytes not yet saturated)."""
    acc: dict[tuple, list] = {}
    for row in events:   # row in EVENT_COLUMNS order
        kind = row[5]
        key = (row[4], kind, "" if kind == "login_failed" else row[6], node)
        cur = acc.get(key)
        if cur is None:
            cur = acc[key] = [0, 0, 0, row[3]]
        cur[0] += 1
        if row[7] is not None:
            cur[1] += row[7]
        cur[2] += row[8]
        if row[3] > cur[3]:
            cur[3] = row[3]
    return acc


def _daily_rows(cells: dict[tuple, list]) -> list[tuple]:
    return [(*k, n, b if b <= BYTES_CAP else BYTES_CAP, f) for k, (n, b, f, _ts) in cells.items()]


def totals_rows(cells: dict[tuple, list]) -> list[tuple]:
    """Returns stats_totals increments (TOTALS_COLUMNS) from a batch's daily cells: their
    sums over the days (bytes saturating at BYTES_CAP) and their newest time."""
    acc: dict[tuple, list] = {}
    for (_day, kind, username, node), (n, b, f, ts) in cells.items():
        cur = acc.get((kind, username, node))
        if cur is None:
            acc[(kind, username, node)] = [n, b, f, ts]
            continue
        cur[0] += n
        cur[1] += b
        cur[2] += f
        if ts > cur[3]:
            cur[3] = ts
    return [(*k, n, min(b, BYTES_CAP), f, ts) for k, (n, b, f, ts) in acc.items()]


def _finest_cells(events: list[tuple]) -> dict[str, dict[tuple, list]]:
    """Returns, per kind of FINEST, its cells {finest key: [events, first_ts, last_ts]}."""
    getters = {kind: operator.itemgetter(*(i for _n, i, _s in key))
               for kind, key in FINEST.items()}
    cells: dict[str, dict[tuple, list]] = {kind: {} for kind in FINEST}
    for row in events:   # row in EVENT_COLUMNS order
        get = getters.get(row[5])
        if get is None:
            continue
        acc = cells[row[5]]
        key = get(row)
        cur = acc.get(key)
        ts = row[3]
        if cur is None:
            acc[key] = [1, ts, ts]
        else:
            cur[0] += 1
            if ts < cur[1]:
                cur[1] = ts
            if ts > cur[2]:
                cur[2] = ts
    return cells


def security_rows(events: list[tuple], node: str) -> dict[str, list[tuple]]:
    """Returns {table: increments} of every security rollup with cells in these events, all
    of ``node``'s files (the batch's node, NODE_KEY of every key).

    Each increment is a row in Rollup.columns order; '' stands for a missing key value;
    counts saturate at BYTES_CAP.
    """
    cells = _finest_cells(events)
    out = {}
    for r in SECURITY_ROLLUPS:
        finest = cells[r.kind]
        if not finest:
            continue
        names = [n for n, _i, _s in FINEST[r.kind]]
        # None picks the batch's node
        pick = [None if k == NODE_KEY[0] else names.index(k) for k in r.key]
        day = names.index("day")
        acc: dict[tuple, list] = {}
        for fkey, (n, first, last) in finest.items():
            key = tuple(node if i is None else "" if fkey[i] is None else fkey[i]
                        for i in pick)
            vals = {"events": n, "first_ts": first, "last_ts": last,
                    "first_day": fkey[day], "last_day": fkey[day]}
            cur = acc.get(key)
            if cur is None:
                acc[key] = [vals[v] for v in r.values]
                continue
            for j, v in enumerate(r.values):
                how = SOURCES[v][0]
                if how == "sum":
                    cur[j] += vals[v]
                elif how == "min" and vals[v] < cur[j]:
                    cur[j] = vals[v]
                elif how == "max" and vals[v] > cur[j]:
                    cur[j] = vals[v]
        out[r.table] = [(*k, *(min(x, BYTES_CAP) if SOURCES[v][0] == "sum" else x
                               for x, v in zip(vals, r.values)))
                        for k, vals in acc.items()]
    return out


def batch_increments(events: list[tuple], node: str) -> dict[str, list[tuple]]:
    """Returns {table: increments} of every rollup (daily_stats, stats_totals, the
    SECURITY_ROLLUPS, the USER_ROLLUPS, the INSIGHT_ROLLUPS) for event rows of ``node``'s
    files; a table without cells is left out."""
    out = {}
    if events:
        cells = _daily_cells(events, node)
        out = {"daily_stats": _daily_rows(cells), "stats_totals": totals_rows(cells)}
    return out | security_rows(events, node) | user_rows(events, node) \
        | insight_rows(events, node)


# MySQL/MariaDB: the keys of the rare events, which /api/events reads by failed=1 or by one
# kind other than a transfer (migration 013: MariaDB has no partial index). SQLite's partial
# indexes hold the same rows (migration 010).
RARE_COLUMNS = ("file_id", "start_offset", "failed_ts", "rare_kind", "rare_ts")
_RARE_SQL = _insert("events_rare", RARE_COLUMNS, "mysql")
# The same rows from the events (e) themselves: for check and rebuild (rollups.py), as
# migration 013 fills the table. NODE as in from_events_sql.
RARE_FROM_EVENTS = (
    "SELECT e.file_id AS file_id, e.start_offset AS start_offset,"
    " IF(e.failed = 1, e.ts, NULL) AS failed_ts,"
    " IF(e.kind IN ('upload', 'download'), NULL, e.kind) AS rare_kind,"
    " IF(e.kind IN ('upload', 'download'), NULL, e.ts) AS rare_ts"
    " FROM events e JOIN log_files lf ON lf.id = e.file_id"
    " WHERE (e.failed = 1 OR e.kind NOT IN ('upload', 'download')) /*node*/")


def rare_rows(events: list[tuple]) -> list[tuple]:
    """Returns the events_rare rows (RARE_COLUMNS) of the failed and non-transfer events."""
    rows = []
    for e in events:   # e in EVENT_COLUMNS order
        transfer = e[5] in TRANSFER_KINDS
        if e[8] == 1 or not transfer:
            rows.append((e[0], e[1], e[3] if e[8] == 1 else None, None if transfer else e[5],
                         None if transfer else e[3]))
    return rows


def _lines_of(row: tuple) -> int:
    return row[5] if len(row) > 5 else 1


def malformed_count(rejects: list[tuple]) -> int:
    """Returns how many kept lines are malformed (not a JSON object).

    A JSON object that would be an event but has an unusable ``time``, ``size_bytes`` or text
    field is kept too, for inspection (``bad_time``, ``bad_size``, ``bad_value``); it is not
    malformed under the contract. A row standing for a run counts its lines.
    """
    return sum(_lines_of(r) for r in rejects if r[3] not in NOT_MALFORMED)


def store_batch(conn, dialect: str, file_id: int, old_offset: int, new_offset: int,
                marker: bytes, events: list[tuple], rejects: list[tuple], lines: int,
                between=None, bulk: bool = False, rollups: bool = True, *, node: str) -> None:
    """Stores one batch and moves the file's checkpoint from old_offset to new_offset.

    ``node`` is the file's node: the rollup cells the events count in are that node's (the
    events themselves carry no node: theirs is their file's).

    ``between`` is called after the rows and before the checkpoint (a seam for crash tests).
    ``bulk`` sends the events (and their events_rare keys) to MySQL/MariaDB with LOAD DATA
    LOCAL (see bulk_load_available).
    ``rollups=False`` leaves daily_stats, stats_totals and the SECURITY_, USER_ and
    INSIGHT_ROLLUPS alone: only for measuring what the rollups cost.
    """
    sql = _SQL[dialect]
    if events:
        if bulk:
            _load(conn, _LOAD_EVENTS, events_tsv(events), len(events))
        elif dialect == "sqlite":
            _insert_sqlite(conn, "events", EVENT_COLUMNS, events)
        else:
            conn.exec_driver_sql(sql["events"], events)
        if dialect == "mysql" and (rare := rare_rows(events)):
            if bulk:       # PyMySQL's escaping of each value costs more than the server's work
                _load(conn, _LOAD_RARE, rare_tsv(rare), len(rare))
            else:
                conn.exec_driver_sql(_RARE_SQL, rare)
        if rollups:
            for table, rows in batch_increments(events, node).items():
                if dialect == "sqlite":
                    _insert_sqlite(conn, table, _COLUMNS[table], rows,
                                   _ROLLUP_TAIL["sqlite"][table])
                else:
                    conn.exec_driver_sql(_ROLLUP_SQL["mysql"][table], rows)
    if rejects:
        conn.exec_driver_sql(sql["malformed"], [r if len(r) > 5 else (*r, 1) for r in rejects])
    if between is not None:
        between()
    moved = conn.execute(_ADVANCE, {
        "new": new_offset, "marker": marker, "lines": lines, "events": len(events),
        "malformed": malformed_count(rejects), "now": now_text(), "file_id": file_id,
        "old": old_offset})
    if moved.rowcount != 1:
        raise CheckpointMoved(f"file_id={file_id} expected offset {old_offset}")


# --- SQLite: many rows per statement ------------------------------------------------------
# Python's sqlite3 lets other threads run only while a statement steps, so executemany gives
# the GIL away and takes it back once per row; with the parsing thread busy, each take-back
# waits up to the interpreter's switch interval, and the commit thread all but stalls until
# parsing pauses. One INSERT of many rows binds its values in one go and then steps through
# them all without the GIL: the commit thread inserts while the next batch is parsed.
# Statements come in a few fixed sizes (CHUNK rows, then halves), so each is prepared once
# per connection and found in sqlite3's statement cache afterwards.

CHUNK = 1024   # rows per statement: 1024 x 20 columns = 20,480 values, under SQLite's 32,766


def chunk_sizes(n: int) -> list[int]:
    """Returns row counts adding up to ``n``: CHUNK as often as it fits, then powers of two."""
    sizes = [CHUNK] * (n // CHUNK)
    rest, size = n % CHUNK, CHUNK
    while rest:
        size //= 2
        if rest >= size:
            sizes.append(size)
            rest -= size
    return sizes


# OR FAIL: a row the table refuses (a duplicate key) stops the statement and raises, as plain
# INSERT does, but leaves the statement's earlier rows to the caller, who rolls back the whole
# transaction on any error anyway. Plain INSERT (OR ABORT) must be able to undo just the
# statement, so SQLite copies every page a statement first touches into a statement journal,
# a temporary file: on the real-lines workload 106,000 16 KiB page writes beside the 19,000 of
# the WAL, half of the process's system time (measured: 1.37 -> 0.68 s sys, 4.3 -> 3.6 s CPU).
@functools.lru_cache(maxsize=256)   # 7 tables x a dozen sizes
def _multi_row(table: str, columns: tuple, rows: int, tail: str = "") -> str:
    one = "(" + ", ".join(["?"] * len(columns)) + ")"
    return (f"INSERT OR FAIL INTO {table} ({', '.join(columns)}) VALUES "
            + ", ".join([one] * rows) + tail)


def _insert_sqlite(conn, table: str, columns: tuple, rows: list[tuple], tail: str = "") -> None:
    """Inserts rows through the sqlite3 cursor, inside the caller's transaction.

    sqlite3's own errors are raised as SQLAlchemy's (IntegrityError, OperationalError, ...),
    as through any other statement: callers tell a refused batch from an outage by them.
    """
    cur = conn.connection.cursor()    # the sqlite3 cursor, inside the same transaction
    statement = None
    try:
        i = 0
        for n in chunk_sizes(len(rows)):
            values = list(itertools.chain.from_iterable(rows[i:i + n]))
            statement = _multi_row(table, columns, n, tail)
            cur.execute(statement, values)
            i += n
    except sqlite3.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, sqlite3.Error) from None
    finally:
        cur.close()


# --- MySQL/MariaDB bulk path ----------------------------------------------------------------
# PyMySQL escapes every value in Python, which costs more than parsing the line. LOAD DATA
# LOCAL takes a tab-separated file instead: data, not SQL, so nothing in it can be run.

_TSV = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"})
_LOAD_EVENTS = ("LOAD DATA LOCAL INFILE %s INTO TABLE events CHARACTER SET utf8mb4 "
                f"({', '.join(EVENT_COLUMNS)})")
_LOAD_RARE = ("LOAD DATA LOCAL INFILE %s INTO TABLE events_rare CHARACTER SET utf8mb4 "
              f"({', '.join(RARE_COLUMNS)})")


def bulk_load_available(conn) -> bool:
    """Returns True when the MySQL/MariaDB server accepts LOAD DATA LOCAL."""
    try:
        return bool(conn.exec_driver_sql("SELECT @@GLOBAL.local_infile").scalar())
    except sa.exc.DBAPIError:
        return False


_NEEDS_ESCAPE = re.compile("[\\\\\t\n\r\0]").search


def _t(v) -> str:
    if v is None:
        return "\\N"
    return v.translate(_TSV) if _NEEDS_ESCAPE(v) else v


def _n(v) -> str:
    return "\\N" if v is None else str(v)


def events_tsv(rows: list[tuple]) -> bytes:
    """Returns event rows as LOAD DATA's default text format (tab, backslash escapes, \\N)."""
    return "".join([
        f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\t{r[5]}\t{_t(r[6])}\t"
        f"{_n(r[7])}\t{r[8]}\t{_t(r[9])}\t{_t(r[10])}\t{_t(r[11])}\t"
        f"{_t(r[12])}\t{_n(r[13])}\t{_t(r[14])}\t{_t(r[15])}\t{_t(r[16])}\t{_t(r[17])}\t"
        f"{_n(r[18])}\t{r[19]}\n"
        for r in rows]).encode("utf-8", "surrogatepass")


def rare_tsv(rows: list[tuple]) -> bytes:
    """Returns rare_rows' rows as LOAD DATA's text format (numbers, times and our own kind
    names only: nothing to escape)."""
    return "".join([f"{r[0]}\t{r[1]}\t{_n(r[2])}\t{_n(r[3])}\t{_n(r[4])}\n"
                    for r in rows]).encode("ascii")


def _load(conn, statement: str, data: bytes, rows: int) -> None:
    """Loads ``rows`` rows of LOAD DATA text through a file in /dev/shm (or the temp dir),
    removed afterwards (a killed process's file is swept later: loadfiles.py)."""
    with loadfiles.load_file(data) as path:
        loaded = conn.exec_driver_sql(statement, (path,)).rowcount
    if loaded != rows:        # LOCAL turns duplicate keys into warnings: refuse them here
        raise CheckpointMoved(f"LOAD DATA stored {loaded} of {rows} rows")


# --- generations ---------------------------------------------------------------------------

_LOAD = ("SELECT f.id, f.head, f.dev, f.ino, f.path, f.compressed, f.state, f.size_seen,"
         " f.first_ts, f.bytes_lost, c.committed_offset, c.marker, f.error, f.disk_size,"
         " f.mtime_ns, f.base FROM log_files f LEFT JOIN checkpoints c ON c.file_id = f.id")
_LOAD_ALL = sa.text(_LOAD + " WHERE f.node = :node ORDER BY f.id")
_LOAD_PRESENT = sa.text(_LOAD + " WHERE f.node = :node AND f.state <> 'missing' ORDER BY f.id")


_NODE_FILES = sa.text("SELECT id FROM log_files WHERE node IN :nodes").bindparams(
    sa.bindparam("nodes", expanding=True))


def node_files(conn, nodes) -> list[int]:
    """Returns the ids of every generation (file) of ``nodes``, sorted: an event's node is its
    file's (a node's passes prune only these; node= filters on raw events bind them)."""
    return sorted(int(i) for i in conn.execute(_NODE_FILES, {"nodes": list(nodes)}).scalars())


def load_generations(conn, node: str, with_missing: bool = True) -> list[Generation]:
    """Returns the known generations of ``node`` (without those last seen missing, if asked).

    A node's pass sees only its own generations, so it can never judge (release, mark lost,
    re-key) another node's files. A lost checkpoint is rebuilt from the stored rows.
    """
    gens = []
    for r in conn.execute(_LOAD_ALL if with_missing else _LOAD_PRESENT, {"node": node}):
        offset, marker = r.committed_offset, r.marker
        if offset is None:
            offset = _recover_offset(conn, r.id)
            marker = None
        gens.append(Generation(r.id, bytes(r.head), r.dev, r.ino, r.path, bool(r.compressed),
                               r.state, r.size_seen, r.first_ts, r.bytes_lost, offset,
                               bytes(marker) if marker is not None else None, r.error or None,
                               r.disk_size, r.mtime_ns, int(r.base or 0)))
    return gens


def _recover_offset(conn, file_id: int) -> int:
    """Returns the end of the last stored row of a file: where a lost checkpoint must be."""
    q = sa.text("SELECT MAX(end_offset) FROM events WHERE file_id = :f"
                " UNION ALL SELECT MAX(end_offset) FROM malformed_lines WHERE file_id = :f")
    ends = [v for (v,) in conn.execute(q, {"f": file_id}) if v is not None]
    return max(ends, default=0)


def create_generation(conn, node: str, head: bytes, dev: int, ino: int, path: str,
                      compressed: bool, size: int, first_ts: str | None,
                      version: tuple[int, int] | None = None, base: int = 0) -> int:
    """Inserts a new generation of ``node`` read from offset 0; returns its id.

    ``version`` is the file's (size on disk, mtime_ns) as looked at (Generation.unchanged);
    ``base`` where the generation starts in the file's content.
    """
    now = now_text()
    disk_size, mtime_ns = version or (None, None)
    res = conn.execute(_NEW_FILE, {
        "node": node, "head": head, "dev": dev, "ino": ino, "path": path,
        "compressed": int(compressed), "size": size, "first_ts": first_ts,
        "disk_size": disk_size, "mtime_ns": mtime_ns, "base": base, "now": now})
    file_id = res.lastrowid
    conn.execute(_NEW_CHECKPOINT, {"f": file_id, "m": b"", "now": now})
    return file_id


_NEW_FILE = sa.text(
    "INSERT INTO log_files (node, head, dev, ino, path, first_path, compressed, state,"
    " size_seen, first_ts, bytes_lost, disk_size, mtime_ns, base, created_at, updated_at)"
    " VALUES (:node, :head, :dev, :ino, :path, :path, :compressed, 'active', :size,"
    " :first_ts, 0, :disk_size, :mtime_ns, :base, :now, :now)")
_NEW_CHECKPOINT = sa.text("INSERT INTO checkpoints (file_id, committed_offset, marker,"
                          " updated_at) VALUES (:f, 0, :m, :now)")


_OTHER_NODES_FILE = sa.text(
    "SELECT node, head FROM log_files WHERE dev = :dev AND ino = :ino AND node <> :node"
    " ORDER BY id")


def other_node_with(conn, node: str, dev: int | None, ino: int | None,
                    head: bytes) -> str | None:
    """Returns the node other than ``node`` that already has this file as a generation: the
    same device and inode, and a head compatible with ``head`` (one a prefix of the other),
    so the same physical file, not a copy of its bytes (a copy is another inode). None when
    no other node has it. One indexed lookup (ix_log_files_inode, migration 012).
    """
    if dev is None or ino is None:
        return None
    for r in conn.execute(_OTHER_NODES_FILE, {"dev": dev, "ino": ino, "node": node}):
        if heads_compatible(bytes(r.head), head):
            return r.node
    return None


_LAST_EVENT_WITHIN = sa.text(
    "SELECT start_offset, end_offset, ts, kind, username FROM events WHERE file_id = :f"
    " AND start_offset < :n AND end_offset <= :n ORDER BY start_offset DESC LIMIT 1")


def last_event_within(conn, file_id: int, size: int) -> tuple | None:
    """Returns (start, end, (ts, kind, username)) of the last event stored for generation
    ``file_id`` that ends within its first ``size`` bytes; None when there is none."""
    r = conn.execute(_LAST_EVENT_WITHIN, {"f": file_id, "n": size}).first()
    if r is None:
        return None
    ts = r.ts if isinstance(r.ts, str) else r.ts.isoformat(sep=" ", timespec="milliseconds")
    return int(r.start_offset), int(r.end_offset), (ts, r.kind, r.username)


def restore_checkpoint(conn, gen: Generation, marker: bytes) -> None:
    """Recreates a missing checkpoint row at gen.offset (recovered from the stored rows).

    Event and malformed counts are recounted from the rows (a run row counts its lines); the
    line count, which non-event lines also fed, can only be restored as a lower bound: the
    events plus every kept line.
    """
    counts = {"f": gen.id}
    events = conn.execute(sa.text("SELECT COUNT(*) FROM events WHERE file_id = :f"), counts).scalar()
    kept, malformed = (int(v) for v in conn.execute(sa.text(
        "SELECT COALESCE(SUM(line_count), 0),"
        " COALESCE(SUM(CASE WHEN reason IN :ok THEN 0 ELSE line_count END), 0)"
        " FROM malformed_lines WHERE file_id = :f").bindparams(
            sa.bindparam("ok", expanding=True)),
        {**counts, "ok": sorted(NOT_MALFORMED)}).one())
    conn.execute(sa.text("DELETE FROM checkpoints WHERE file_id = :f"), counts)
    conn.execute(sa.text(
        "INSERT INTO checkpoints (file_id, committed_offset, marker, line_count, event_count,"
        " malformed_count, updated_at) VALUES (:f, :o, :m, :lines, :events, :malformed, :now)"),
        {"f": gen.id, "o": gen.offset, "m": marker, "lines": events + kept,
         "events": events, "malformed": malformed, "now": now_text()})


_GENERATION_COLUMNS = frozenset({"head", "dev", "ino", "path", "compressed", "state", "size_seen",
                                 "first_ts", "bytes_lost", "error", "disk_size", "mtime_ns",
                                 "base"})


def update_generation(conn, file_id: int, **fields) -> None:
    """Updates columns of a log_files row (names are this module's own, values are bound)."""
    unknown = set(fields) - _GENERATION_COLUMNS
    if unknown:                          # column names go into the SQL text: only our own
        raise ValueError(f"not a log_files column: {sorted(unknown)}")
    conn.execute(_update_sql(tuple(sorted(fields))),
                 {**fields, "now": now_text(), "id": file_id})


@functools.lru_cache(maxsize=64)
def _update_sql(names: tuple) -> sa.TextClause:
    sets = ", ".join(f"{k} = :{k}" for k in names)
    return sa.text(f"UPDATE log_files SET {sets}, updated_at = :now WHERE id = :id")


# --- copies: files that hold only bytes read already (migration 014) -----------------------

@dataclass(frozen=True)
class Copy:
    """A file (or a part of one, from ``base`` on) of a node's folder found to repeat read
    bytes, as it was then."""
    dev: int
    ino: int
    base: int
    content_size: int
    disk_size: int
    mtime_ns: int
    path: str
    copy_of: int | None

    def unchanged(self, cand) -> bool:
        """Returns True when ``cand`` (a discover.Candidate) is this copy's file as it was."""
        return (self.dev, self.ino, self.path) == (cand.dev, cand.ino, cand.path) \
            and (self.disk_size, self.mtime_ns) == cand.version


def load_copies(conn, node: str) -> dict[tuple[int, int, int], Copy]:
    """Returns ``node``'s known copies by (dev, ino, base)."""
    rows = conn.execute(sa.text("SELECT dev, ino, base, content_size, disk_size, mtime_ns,"
                                " path, copy_of FROM log_copies WHERE node = :node"),
                        {"node": node})
    return {(r.dev, r.ino, r.base): Copy(r.dev, r.ino, r.base, r.content_size, r.disk_size,
                                         r.mtime_ns, r.path, r.copy_of) for r in rows}


def record_copy(conn, node: str, sight, copy_of: int | None) -> None:
    """Records (or updates) that ``sight`` (an identity.Sighting: a file or a part of one)
    holds only read bytes."""
    c = sight.cand
    key = {"node": node, "dev": c.dev, "ino": c.ino, "base": sight.base}
    conn.execute(sa.text("DELETE FROM log_copies WHERE node = :node AND dev = :dev"
                         " AND ino = :ino AND base = :base"), key)
    conn.execute(sa.text(
        "INSERT INTO log_copies (node, dev, ino, base, content_size, disk_size, mtime_ns, path,"
        " copy_of, updated_at) VALUES (:node, :dev, :ino, :base, :content_size, :size,"
        " :mtime_ns, :path, :copy_of, :now)"),
        {**key, "content_size": sight.content_size, "size": c.size, "mtime_ns": c.mtime_ns,
         "path": c.path, "copy_of": copy_of, "now": now_text()})


def forget_copies(conn, node: str, keys) -> None:
    """Drops the copies of ``node`` with these (dev, ino, base): gone, or no longer copies."""
    for dev, ino, base in keys:
        conn.execute(sa.text("DELETE FROM log_copies WHERE node = :node AND dev = :dev"
                             " AND ino = :ino AND base = :base"),
                     {"node": node, "dev": dev, "ino": ino, "base": base})


# The database's clock in seconds since 1970: a node's last pass is stamped with it, and a
# stale node judged by it, so the hosts' clocks and time zones do not matter.
DB_EPOCH = {"sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
            "mysql": "UNIX_TIMESTAMP(NOW(3))"}

_NODE_STATUS_UPSERT = {
    "sqlite": "INSERT INTO node_status (node, {cols}) VALUES (:node, {vals})"
              " ON CONFLICT (node) DO UPDATE SET {sets}",
    "mysql": "INSERT INTO node_status (node, {cols}) VALUES (:node, {vals})"
             " ON DUPLICATE KEY UPDATE {sets}",
}


def _node_status(conn, node: str, values: dict, epoch: bool) -> None:
    d = "sqlite" if conn.dialect.name == "sqlite" else "mysql"
    cols, vals = list(values), [f":{k}" for k in values]
    if epoch:
        cols.append("last_pass_epoch")
        vals.append(DB_EPOCH[d])
    sets = ", ".join(f"{c} = excluded.{c}" if d == "sqlite" else f"{c} = VALUES({c})"
                     for c in cols)
    conn.execute(sa.text(_NODE_STATUS_UPSERT[d].format(
        cols=", ".join(cols), vals=", ".join(vals), sets=sets)), {"node": node, **values})


def record_pass(conn, node: str, problem: str | None = None,
                waiting: tuple[int, int] = (0, 0)) -> None:
    """Stamps the time of a completed pass of ``node``, with the problem it met (files it
    could not read) and the files it left for a later pass (count, bytes on disk)."""
    now = now_text()
    values = {"last_pass_at": now, "files_waiting": waiting[0], "bytes_waiting": waiting[1]}
    if problem is not None:
        values.update(last_error=problem[:2000], last_error_at=now)
    _node_status(conn, node, values, epoch=True)


def record_error(conn, node: str, error: str) -> None:
    """Stamps the error that stopped a pass of ``node`` (its last completed pass keeps its
    time)."""
    _node_status(conn, node, {"last_error": error[:2000], "last_error_at": now_text()},
                 epoch=False)


def bytes_lost(conn, node: str) -> int:
    """Returns the bytes of ``node``'s files that went before they were read."""
    return int(conn.execute(sa.text("SELECT COALESCE(SUM(bytes_lost), 0) FROM log_files"
                                    " WHERE node = :node"), {"node": node}).scalar() or 0)
