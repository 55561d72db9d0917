"""What the rollups are: each table's key and values (daily_stats, stats_totals, the security,
user and insight rollups as Rollup rows), the upsert that adds an increment to a cell, and the
SQL that recomputes a table from the events (for rollups.py's check and rebuild)."""
from __future__ import annotations

from dataclasses import dataclass

from .sqlgen import insert_sql


# Every rollup's key ends with the node (whose folder the events' file is in): a user or
# an IP active on two nodes is two cells, which a read over all nodes adds up (sums) or
# counts once (COUNT(DISTINCT ...) over the cells of every node). The security rollups are
# store.SECURITY_ROLLUPS below, their key ending with NODE_KEY.
DAILY_COLUMNS = ("day", "kind", "username", "node", "events", "bytes", "failed")

# daily_stats.bytes saturates here: 4 EiB per user, day and kind, far inside int64, so no
# increment can overflow either database (parse.MAX_SIZE bounds each transfer to 1 PiB).
BYTES_CAP = 1 << 62


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


ROLLUP_BY_TABLE = {r.table: r for r in SECURITY_ROLLUPS + USER_ROLLUPS + INSIGHT_ROLLUPS}
# Every table a batch adds increments to, daily_stats first: its columns, its upsert tail
ROLLUP_COLUMNS = {"daily_stats": DAILY_COLUMNS, "stats_totals": TOTALS_COLUMNS} \
    | {t: r.columns for t, r in ROLLUP_BY_TABLE.items()}
UPSERT_TAIL = {d: {"daily_stats": _DAILY_UPSERT[d], "stats_totals": _TOTALS_UPSERT[d]}
                | {r.table: _upsert_tail(r, d) for r in ROLLUP_BY_TABLE.values()}
                for d in ("sqlite", "mysql")}
UPSERT_SQL = {d: {t: insert_sql(t, ROLLUP_COLUMNS[t], d) + UPSERT_TAIL[d][t] for t in ROLLUP_COLUMNS}
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
