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
from prometheus_client.utils import floatToGoString

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
    want: list[str] | None = None           # sorted only when someone has no slot yet
    for _attempt in range(GIVE_ATTEMPTS):
        if given is None:
            with engine.connect() as conn:
                given = _given(conn)
        if sum(1 for slot in given.values() if slot <= max_users) >= max_users:
            break                           # the bound is full: nobody new gets a slot
        if want is None and not any(kind in USER_KINDS and username not in given
                                    and username not in ("", OTHER)
                                    for kind, username, *_rest in totals):
            break
        want = candidates(totals) if want is None else want
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
               {(n,): t.bans.get(n, 0) for n in nodes}),
        Family("sftpgo_dash_users_seen", g, "Distinct users ever seen (uploads, downloads, "
               "file operations, logins).", ("node",),
               {(n,): len(t.seen.get(n, ())) for n in nodes}),
        Family("sftpgo_dash_newest_event_timestamp_seconds", g, "Time of the newest event, "
               "read in this process's time zone (Unix seconds).", ("node",),
               {(n,): _epoch(ts) for n, ts in t.newest.items()}),
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
