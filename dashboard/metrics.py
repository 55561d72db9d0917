"""GET /metrics: the dashboard's figures for Prometheus (docs/metrics.md is the contract).

Every value is read at scrape time from the rollups, never from the events: stats_totals
(daily_stats summed over all days, migration 016) for the per-user counters, bans, users
seen and the newest event; login_failures_method_daily for failed logins; node_status,
log_files and checkpoints for ingestion; malformed_lines. So every worker process answers
the same, and a counter equals the all-time /api/stats figure of its node, user and kind.

User series are bounded (METRICS_MAX_USERS): the table metrics_users gives a user a slot
once and for good, so its counters never move into user="__other__" and back out; the users
without a slot (and events without a username) are summed under user="__other__", so the
sums over users still equal the totals. A real user named "__other__" is never given a
slot: its events count there too.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import Flask, Response
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

import db
from ingestion import parse
from ingestion.store import now_text

from . import api
from .context import AppContext

log = logging.getLogger(__name__)

OTHER = "__other__"
DIRECTIONS = ("upload", "download")
USER_KINDS = ("upload", "download", "file_op", "login")
# Labels bounded by nature: SFTPGo's own words (sftpgo-log-format.md), anything else "other"
PROTOCOLS = frozenset({"SSH", "SFTP", "SCP", "FTP", "DAV", "HTTP", "HTTPShare", "OIDC",
                       "DataRetention", "EventAction"})
METHODS = frozenset({"password", "publickey", "keyboard-interactive", "publickey+password",
                     "publickey+keyboard-interactive", "TLSCertificate",
                     "TLSCertificate+password", "IDP", "no_auth_tried", "no_auth_tryed"})
REASONS = frozenset({parse.EMPTY, parse.NOT_JSON, parse.NOT_OBJECT, parse.NUL_RUN,
                     parse.TOO_LONG, parse.TORN_TAIL, parse.PARSE_ERROR, parse.BAD_TIME,
                     parse.BAD_SIZE, parse.BAD_VALUE})
GIVE_ATTEMPTS = 5           # rounds of giving slots when other processes give them at once


@dataclass
class Snapshot:
    """What one scrape read: plain rows, before any label is chosen."""
    totals: list = field(default_factory=list)     # (kind, username, node, events, bytes, failed, last_ts)
    given: set = field(default_factory=set)        # users with a series of their own
    failures: list = field(default_factory=list)   # (node, method, protocol, events)
    files: dict = field(default_factory=dict)      # node -> status_files row
    passes: dict = field(default_factory=dict)     # node -> status_nodes row
    malformed: list = field(default_factory=list)  # (node, reason, lines)
    alerts: list = field(default_factory=list)     # (rule, firing)


# --- reads -------------------------------------------------------------------------------

def read(engine: sa.Engine, max_users: int) -> Snapshot:
    """Returns what /metrics shows, giving new users their slots on the way (give_slots);
    raises what the database raises."""
    d = db.dialect(engine)
    with engine.connect() as conn:
        totals = conn.exec_driver_sql(db.load_sql("metrics_totals", d).text).all()
        snap = Snapshot(
            totals=totals,
            failures=conn.execute(db.load_sql("metrics_login_failures", d)).all(),
            files={r["node"]: r for r in conn.execute(db.load_sql("status_files", d)).mappings()},
            passes={r["node"]: r for r in conn.execute(db.load_sql("status_nodes", d)).mappings()},
            malformed=conn.execute(db.load_sql("metrics_malformed", d)).all(),
            alerts=alerts_firing(conn))
        given = _given(conn)
    snap.given = give_slots(engine, totals, max_users, given)
    return snap


def alerts_firing(conn) -> list[tuple[str, int]]:
    """Returns (rule, alerts now firing) per rule. The alerts (alerts.md) are not built yet:
    none, so sftpgo_dash_alerts_firing has no samples; their read goes here."""
    return []


def _given(conn) -> dict[str, int]:
    return {username: int(slot) for slot, username in
            conn.execute(db.load_sql("metrics_users", db.dialect(conn)))}


def candidates(totals) -> list[str]:
    """Returns the users that may be given a slot (every name of a user kind but '' and
    OTHER), the busiest first: bytes moved, transfers, other events, then the name."""
    acc: dict[str, list] = {}
    for kind, username, _node, events, nbytes, _failed, _ts in totals:
        if kind not in USER_KINDS or username in ("", OTHER):
            continue
        cur = acc.setdefault(username, [0, 0, 0])
        if kind in DIRECTIONS:
            cur[0] += int(nbytes)
            cur[1] += int(events)
        else:
            cur[2] += int(events)
    return sorted(acc, key=lambda u: (-acc[u][0], -acc[u][1], -acc[u][2], u))


def give_slots(engine: sa.Engine, totals, max_users: int,
               given: dict[str, int] | None = None) -> set[str]:
    """Gives each user of ``totals`` without a slot a free one (1..max_users), the busiest
    first, and returns the users whose slot is within the bound.

    The slots are rows of metrics_users, unique by slot and by user: when another process
    gives some at the same moment, an insert that collides does nothing, the table is read
    again and the rest go to the slots still free. A user once given keeps its slot."""
    d = db.dialect(engine)
    want = candidates(totals)
    for _attempt in range(GIVE_ATTEMPTS):
        if given is None:
            with engine.connect() as conn:
                given = _given(conn)
        todo = [u for u in want if u not in given]
        free = sorted(set(range(1, max_users + 1)) - set(given.values()))[:len(todo)]
        if not todo or not free:
            break
        now = now_text()
        try:
            with engine.begin() as conn:
                conn.execute(db.load_sql("metrics_give_user", d),
                             [{"slot": s, "username": u, "given_at": now}
                              for s, u in zip(free, todo)])
        except sa.exc.OperationalError as exc:
            if not _lock_conflict(exc):
                raise
            log.info("Metrics slots given by another process at once; reading again. error=%s",
                     db.error_reason(exc))
        given = None
    else:
        with engine.connect() as conn:
            given = _given(conn)
    return {u for u, slot in given.items() if slot <= max_users}


def _lock_conflict(exc: sa.exc.OperationalError) -> bool:
    """Whether ``exc`` is MariaDB's deadlock or lock wait timeout (another process's
    inserts at once): worth one more round."""
    return db.error_reason(exc).startswith(("(1213,", "(1205,"))


# --- the metric families -----------------------------------------------------------------

@dataclass
class _Tally:
    """The counters of stats_totals, by label set."""
    transfers: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    per_user: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    seen: dict = field(default_factory=lambda: defaultdict(set))
    bans: dict = field(default_factory=lambda: defaultdict(int))
    newest: dict = field(default_factory=dict)
    nodes: set = field(default_factory=set)


def _tally(snap: Snapshot) -> _Tally:
    """Returns the stats_totals cells added up by label set: (node, user, direction) ->
    transfers, bytes, failed; (node, user) -> file operations, logins; per node the users
    seen, bans and newest time. A user without a slot counts as OTHER. Every (node, user)
    gets all its series, zeros included, so a first download or login is a rise."""
    t = _Tally(nodes=set(snap.files) | set(snap.passes))
    for kind, username, node, events, nbytes, failed, last_ts in snap.totals:
        t.nodes.add(node)
        if last_ts is not None:
            ts = _text_time(last_ts)
            if ts > t.newest.get(node, ""):
                t.newest[node] = ts
        if kind == "ban":
            t.bans[node] += int(events)
        if kind not in USER_KINDS:
            continue
        if username:
            t.seen[node].add(username)
        user = username if username in snap.given else OTHER
        counts = t.per_user[(node, user)]
        if kind in DIRECTIONS:
            cell = t.transfers[(node, user, kind)]
            cell[0] += int(events)
            cell[1] += int(nbytes)
            cell[2] += int(failed)
        else:
            counts[0 if kind == "file_op" else 1] += int(events)
    for node, user in t.per_user:
        for direction in DIRECTIONS:
            t.transfers[(node, user, direction)]         # noqa: B018 (the zero series)
    return t


def families(snap: Snapshot) -> list:
    """Returns the metric families of ``snap`` (prometheus_client's), in the contract's order."""
    t = _tally(snap)
    transfers, per_user, nodes = t.transfers, t.per_user, t.nodes
    seen, bans, newest = t.seen, t.bans, t.newest
    return [
        _counter("sftpgo_dash_transfers", "Uploads and downloads (all time).",
                 ("node", "user", "direction"), {k: v[0] for k, v in transfers.items()}),
        _counter("sftpgo_dash_transfer_bytes", "Bytes moved by uploads and downloads (all time).",
                 ("node", "user", "direction"), {k: v[1] for k, v in transfers.items()}),
        _counter("sftpgo_dash_transfer_failures",
                 "Uploads and downloads that failed (all time).",
                 ("node", "user", "direction"), {k: v[2] for k, v in transfers.items()}),
        _counter("sftpgo_dash_file_operations", "File operations (all time).",
                 ("node", "user"), {k: v[0] for k, v in per_user.items()}),
        _counter("sftpgo_dash_logins", "Successful logins (all time).",
                 ("node", "user"), {k: v[1] for k, v in per_user.items()}),
        _counter("sftpgo_dash_login_failures",
                 "Failed logins (all time), by protocol and method as logged; others as 'other'.",
                 ("node", "protocol", "method"), _failures(snap.failures)),
        _counter("sftpgo_dash_bans", "Bans by SFTPGo's defender (all time).",
                 ("node",), {(n,): bans.get(n, 0) for n in nodes}),
        _gauge("sftpgo_dash_users_seen", "Distinct users ever seen (uploads, downloads, file "
               "operations, logins).", ("node",), {(n,): len(seen.get(n, ())) for n in nodes}),
        _gauge("sftpgo_dash_newest_event_timestamp_seconds",
               "Time of the newest event, read in this process's time zone (Unix seconds).",
               ("node",), {(n,): _epoch(ts) for n, ts in newest.items()}),
        _gauge("sftpgo_dash_ingest_last_pass_timestamp_seconds",
               "When the node's last ingestion pass ended, on the database's clock (Unix "
               "seconds).", ("node",),
               {(n,): float(p["last_pass_epoch"]) for n, p in snap.passes.items()
                if p["last_pass_epoch"] is not None}),
        _gauge("sftpgo_dash_ingest_bytes_pending", "Bytes of the node's log files not yet read.",
               ("node",), {(n,): int(snap.files[n]["bytes_pending"] or 0) if n in snap.files
                           else 0 for n in nodes}),
        _counter("sftpgo_dash_ingest_bytes_lost",
                 "Bytes of the node's log files that went before they were read.", ("node",),
                 {(n,): int(snap.files[n]["bytes_lost"] or 0) if n in snap.files else 0
                  for n in nodes}),
        _counter("sftpgo_dash_malformed_lines", "Kept malformed lines, by reason.",
                 ("node", "reason"), _malformed(snap.malformed)),
        _gauge("sftpgo_dash_alerts_firing", "Alerts now firing, by rule.", ("rule",),
               {(rule,): n for rule, n in snap.alerts}),
    ]


def _failures(rows) -> dict[tuple, int]:
    out: dict[tuple, int] = defaultdict(int)
    for node, method, protocol, events in rows:
        out[(node, protocol if protocol in PROTOCOLS else "other",
             method if method in METHODS else "other")] += int(events)
    return out


def _malformed(rows) -> dict[tuple, int]:
    out: dict[tuple, int] = defaultdict(int)
    for node, reason, lines in rows:
        out[(node, reason if reason in REASONS else "other")] += int(lines)
    return out


def _counter(name: str, doc: str, labels: tuple, samples: dict) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    for key in sorted(samples):
        family.add_metric(key, samples[key])
    return family


def _gauge(name: str, doc: str, labels: tuple, samples: dict) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for key in sorted(samples):
        family.add_metric(key, samples[key])
    return family


def _text_time(value) -> str:
    """Returns a stored time as 'YYYY-MM-DD HH:MM:SS.mmm' (SQLite: text; MariaDB: datetime)."""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}.{value.microsecond // 1000:03d}"
    return str(value).replace("T", " ")


def _epoch(text: str) -> float:
    """Returns a log time (no zone: the SFTPGo host's local time, or UTC with log_utc_time)
    as Unix seconds, read in this process's time zone (TZ)."""
    return datetime.fromisoformat(text).timestamp()


class _Families:
    """What generate_latest() collects from: the families of one scrape."""

    def __init__(self, found: list):
        self.found = found

    def collect(self):
        return iter(self.found)


def exposition(snap: Snapshot) -> bytes:
    """Returns ``snap`` in Prometheus' text format 0.0.4 (prometheus_client's writer)."""
    return generate_latest(_Families(families(snap)))


# --- the route ---------------------------------------------------------------------------

def metrics_response(context: AppContext) -> Response:
    """Returns the /metrics answer: 200 text, or failure()'s JSON (503 when the database
    cannot be reached or used)."""
    try:
        snap = read(context.engine(), context.settings.metrics_max_users)
    except api.READ_FAILURES as exc:
        return api.failure(exc)
    return Response(exposition(snap), content_type=CONTENT_TYPE_PLAIN_0_0_4,
                    headers={"Cache-Control": "no-store"})


def register(server: Flask, context: AppContext) -> None:
    """Adds GET /metrics to ``server``."""
    @server.get("/metrics")
    def metrics():
        return metrics_response(context)
