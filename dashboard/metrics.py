"""GET /metrics: the dashboard's figures for Prometheus (docs/metrics.md is the contract).

Every value is read at scrape time from the rollups, never from the events: stats_totals
(daily_stats summed over all days, migration 015) for the per-user counters, bans, users
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

import gzip
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import Flask, Response, request
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import (CONTENT_TYPE_PLAIN_0_0_4, generate_latest,
                                          gzip_accepted)
from prometheus_client.utils import floatToGoString

import db
from ingestion import parse
from ingestion.sqlgen import now_text

from . import api
from .context import AppContext

log = logging.getLogger(__name__)

OTHER = "__other__"
# Labels bounded by nature: SFTPGo's own words (docs/metrics.md lists them), anything else "other"
PROTOCOLS = frozenset({"SSH", "SFTP", "SCP", "FTP", "DAV", "HTTP", "HTTPShare", "OIDC",
                       "DataRetention", "EventAction"})
METHODS = frozenset({"password", "publickey", "keyboard-interactive", "publickey+password",
                     "publickey+keyboard-interactive", "TLSCertificate",
                     "TLSCertificate+password", "IDP", "no_auth_tried", "no_auth_tryed"})
REASONS = frozenset({parse.EMPTY, parse.NOT_JSON, parse.NOT_OBJECT, parse.NUL_RUN,
                     parse.TOO_LONG, parse.TORN_TAIL, parse.PARSE_ERROR, parse.BAD_TIME,
                     parse.BAD_SIZE, parse.BAD_VALUE})
GIVE_ATTEMPTS = 5           # rounds of giving slots when other processes give them at once


# A row of metrics_user_totals: one user on one node
USER_ROW = ("node", "username", "slot", "uploads", "upload_bytes", "upload_failures",
            "downloads", "download_bytes", "download_failures", "file_ops", "logins")


@dataclass
class Snapshot:
    """What one scrape read: plain rows, before any label is chosen."""
    users: list = field(default_factory=list)      # metrics_user_totals rows (USER_ROW)
    nodes: list = field(default_factory=list)      # (node, newest, bans)
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
        sql = lambda name: db.load_sql(name, d).text        # noqa: E731 (no bind parameters)
        snap = Snapshot(
            users=conn.exec_driver_sql(sql("metrics_user_totals")).all(),
            nodes=conn.exec_driver_sql(sql("metrics_nodes")).all(),
            failures=conn.exec_driver_sql(sql("metrics_login_failures")).all(),
            files={r["node"]: r for r in conn.execute(db.load_sql("status_files", d)).mappings()},
            passes={r["node"]: r for r in conn.execute(db.load_sql("status_nodes", d)).mappings()},
            malformed=conn.exec_driver_sql(sql("metrics_malformed")).all(),
            alerts=alerts_firing(conn))
    if any(slot is None and name not in ("", OTHER) for _n, name, slot, *_r in snap.users):
        snap.given = give_slots(engine, snap.users, max_users)
    else:
        snap.given = {name for _n, name, slot, *_r in snap.users
                      if slot is not None and slot <= max_users}
    return snap


def alerts_firing(conn) -> list[tuple[str, int]]:
    """Returns (rule, alerts now firing) per rule. The alerts (docs/alerts.md) are not built yet:
    none, so sftpgo_dash_alerts_firing has no samples; their read goes here."""
    return []


def _given(conn) -> dict[str, int]:
    return {username: int(slot) for slot, username in
            conn.execute(db.load_sql("metrics_users", db.dialect(conn)))}


def _n(value) -> int:
    return 0 if value is None else int(value)


def candidates(users) -> list[str]:
    """Returns the users of ``users`` (USER_ROW rows) that may be given a slot (every name
    but '' and OTHER), the busiest first: bytes moved, transfers, other events (over all
    nodes), then the name."""
    acc: dict[str, list] = {}
    for _node, name, _slot, up, up_b, _uf, down, down_b, _df, ops, logins in users:
        if name in ("", OTHER):
            continue
        cur = acc.setdefault(name, [0, 0, 0])
        cur[0] += _n(up_b) + _n(down_b)
        cur[1] += _n(up) + _n(down)
        cur[2] += _n(ops) + _n(logins)
    return sorted(acc, key=lambda u: (-acc[u][0], -acc[u][1], -acc[u][2], u))


def give_slots(engine: sa.Engine, users, max_users: int) -> set[str]:
    """Gives each user of ``users`` (USER_ROW rows) without a slot a free one
    (1..max_users), the busiest first, and returns the users whose slot is within the bound.

    The slots are rows of metrics_users, unique by slot and by user: when another process
    gives some at the same moment, an insert that collides does nothing, the table is read
    again and the rest go to the slots still free. A user once given keeps its slot."""
    d = db.dialect(engine)
    want: list[str] | None = None
    for _attempt in range(GIVE_ATTEMPTS):
        with engine.connect() as conn:
            given = _given(conn)
        if sum(1 for slot in given.values() if slot <= max_users) >= max_users:
            break                           # the bound is full: nobody new gets a slot
        want = candidates(users) if want is None else want
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
    """The counters of a snapshot, by label set."""
    transfers: dict = field(default_factory=dict)  # (node, user, direction): [n, bytes, failed]
    per_user: dict = field(default_factory=dict)   # (node, user): [file ops, logins]
    nodes: set = field(default_factory=set)


def _tally(snap: Snapshot) -> _Tally:
    """Returns the users' rows added up by label set: a user without a slot (and '') counts
    as OTHER. Every (node, user) gets all its series, zeros included, so that a first
    download or login is a rise."""
    t = _Tally(nodes=set(snap.files) | set(snap.passes) | {row[0] for row in snap.nodes})
    given = snap.given
    for node, name, _slot, up, up_b, up_f, down, down_b, down_f, ops, logins in snap.users:
        user = name if name in given else OTHER
        for direction, n, b, f in (("upload", up, up_b, up_f), ("download", down, down_b, down_f)):
            cell = t.transfers.setdefault((node, user, direction), [0, 0, 0])
            cell[0] += _n(n)
            cell[1] += _n(b)
            cell[2] += _n(f)
        cell = t.per_user.setdefault((node, user), [0, 0])
        cell[0] += _n(ops)
        cell[1] += _n(logins)
    return t


@dataclass(frozen=True)
class Family:
    """One metric family as plain data: ``samples`` maps the values of ``labels`` (in that
    order) to a number. ``name`` is without a counter's ``_total``, as prometheus_client
    takes it."""
    name: str
    kind: str                  # "counter" or "gauge"
    doc: str
    labels: tuple
    samples: dict


def family_data(snap: Snapshot) -> list[Family]:
    """Returns the contract's metric families of ``snap``, in its order."""
    t = _tally(snap)
    transfers, per_user, nodes = t.transfers, t.per_user, t.nodes
    bans = {n: _n(b) for n, _ts, b in snap.nodes}
    seen: dict[str, int] = defaultdict(int)
    for node, name, *_rest in snap.users:
        if name:
            seen[node] += 1
    c, g = "counter", "gauge"
    per_transfer = ("node", "user", "direction")
    return [
        Family("sftpgo_dash_transfers", c, "Uploads and downloads (all time).", per_transfer,
               {k: v[0] for k, v in transfers.items()}),
        Family("sftpgo_dash_transfer_bytes", c, "Bytes moved by uploads and downloads (all "
               "time).", per_transfer, {k: v[1] for k, v in transfers.items()}),
        Family("sftpgo_dash_transfer_failures", c, "Uploads and downloads that failed (all "
               "time).", per_transfer, {k: v[2] for k, v in transfers.items()}),
        Family("sftpgo_dash_file_operations", c, "File operations (all time).",
               ("node", "user"), {k: v[0] for k, v in per_user.items()}),
        Family("sftpgo_dash_logins", c, "Successful logins (all time).", ("node", "user"),
               {k: v[1] for k, v in per_user.items()}),
        Family("sftpgo_dash_login_failures", c, "Failed logins (all time), by protocol and "
               "method as logged; others as 'other'.", ("node", "protocol", "method"),
               _failures(snap.failures)),
        Family("sftpgo_dash_bans", c, "Bans by SFTPGo's defender (all time).", ("node",),
               {(n,): bans.get(n, 0) for n in nodes}),
        Family("sftpgo_dash_users_seen", g, "Distinct users ever seen (uploads, downloads, "
               "file operations, logins).", ("node",), {(n,): seen.get(n, 0) for n in nodes}),
        Family("sftpgo_dash_newest_event_timestamp_seconds", g, "Time of the newest event, "
               "read in this process's time zone (Unix seconds).", ("node",),
               {(n,): _epoch(_text_time(ts)) for n, ts, _b in snap.nodes
                if ts is not None}),
        Family("sftpgo_dash_ingest_last_pass_timestamp_seconds", g, "When the node's last "
               "ingestion pass ended, on the database's clock (Unix seconds).", ("node",),
               {(n,): float(p["last_pass_epoch"]) for n, p in snap.passes.items()
                if p["last_pass_epoch"] is not None}),
        Family("sftpgo_dash_ingest_bytes_pending", g, "Bytes of the node's log files not yet "
               "read.", ("node",), {(n,): int(snap.files[n]["bytes_pending"] or 0)
                                    if n in snap.files else 0 for n in nodes}),
        Family("sftpgo_dash_ingest_bytes_lost", c, "Bytes of the node's log files that went "
               "before they were read.", ("node",),
               {(n,): int(snap.files[n]["bytes_lost"] or 0) if n in snap.files else 0
                for n in nodes}),
        Family("sftpgo_dash_malformed_lines", c, "Kept malformed lines, by reason.",
               ("node", "reason"), _malformed(snap.malformed)),
        Family("sftpgo_dash_alerts_firing", g, "Alerts now firing, by rule.", ("rule",),
               {(rule,): n for rule, n in snap.alerts}),
    ]


def families(snap: Snapshot) -> list:
    """Returns the families of ``snap`` as prometheus_client's metric families (what its
    generate_latest() writes; exposition() writes the same bytes faster)."""
    out = []
    for f in family_data(snap):
        family = (CounterMetricFamily if f.kind == "counter" else GaugeMetricFamily)(
            f.name, f.doc, labels=f.labels)
        for key in sorted(f.samples):
            family.add_metric(key, f.samples[key])
        out.append(family)
    return out


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


def library_exposition(snap: Snapshot) -> bytes:
    """Returns ``snap`` as prometheus_client's generate_latest() writes it (text 0.0.4)."""
    return generate_latest(_Families(families(snap)))


def exposition(snap: Snapshot) -> bytes:
    """Returns ``snap`` in Prometheus' text format 0.0.4: byte for byte what
    library_exposition() gives (the tests compare them), written about six times faster.

    generate_latest() costs ~11 µs a sample (it validates and escapes every label name
    again), ~90 ms for 1,000 users' 8,000 series: here each label value is escaped once per
    scrape, and each value goes through the library's own floatToGoString."""
    out = []
    escaped: dict[str, str] = {}
    for f in family_data(snap):
        name = f.name + "_total" if f.kind == "counter" else f.name
        doc = f.doc.replace("\\", r"\\").replace("\n", r"\n")
        out.append(f"# HELP {name} {doc}\n# TYPE {name} {f.kind}\n")
        order = sorted(range(len(f.labels)), key=lambda i: f.labels[i])
        for key in sorted(f.samples):
            parts = []
            for i in order:
                value = key[i]
                text = escaped.get(value)
                if text is None:
                    text = escaped[value] = (value.replace("\\", r"\\").replace("\n", r"\n")
                                             .replace('"', r'\"'))
                parts.append(f'{f.labels[i]}="{text}"')
            out.append(f"{name}{{{','.join(parts)}}} {floatToGoString(f.samples[key])}\n")
    return "".join(out).encode("utf-8")


# --- the route ---------------------------------------------------------------------------

def metrics_response(context: AppContext, accept_encoding: str | None = None) -> Response:
    """Returns the /metrics answer: 200 text (gzipped when the client takes gzip, as
    Prometheus does), or failure()'s JSON (503 when the database cannot be reached or used)."""
    try:
        snap = read(context.engine(), context.settings.metrics_max_users)
    except api.READ_FAILURES as exc:
        return api.failure(exc)
    body = exposition(snap)
    headers = {"Cache-Control": "no-store", "Vary": "Accept-Encoding"}
    if gzip_accepted(accept_encoding or ""):
        # level 1: 11x smaller for 1,000 users in 6 ms (prometheus_client's level 9: 40 ms)
        body = gzip.compress(body, compresslevel=1)
        headers["Content-Encoding"] = "gzip"
    return Response(body, content_type=CONTENT_TYPE_PLAIN_0_0_4, headers=headers)


def register(server: Flask, context: AppContext) -> None:
    """Adds GET /metrics to ``server``."""
    @server.get("/metrics")
    def metrics():
        return metrics_response(context, request.headers.get("Accept-Encoding"))
