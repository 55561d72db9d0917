"""Judging the rules: from the events and the node status in the database, never from a
process's memory, so any process of any node can do it, and stored alerts are never changed.

Event rules are judged incrementally. ``alert_cursor`` holds, per file, the offset up to which
its events have been judged (and the times they span); a step takes each file's events past
it (a "chunk": a primary-key range, one packed read per kind of event, any node's files),
groups the chunks whose times meet, and for each rule reads around each group only what the
new events can change: an event at time t can make the rule fire at an event of its key in
[t, t + within), whose window reaches back to t - within. So a group's frame is its new
events plus the judged events of the files whose judged times meet (first - within, last +
within] (the generation before, other nodes' files: keys span nodes). numpy counts every
candidate's window (t - within, t]; those that reach ``over`` are taken in time order per key
against the rule's alerts already stored: one fires unless an alert of its key is less than
``within`` away from it, before or after. For events that arrive in time order that is
exactly "the first event where the count reaches over, then none before F + within"; events
that arrive late (an archive copied in, a node behind) may add alerts in the past but never
one next to a stored one, and never change one. A file's events not judged yet are left out
of another's frame: judged later, their own frame counts the others, judged by then.

One step runs at a time across processes and nodes (the "alerts" lock of
db_locks.exclusive), in one transaction with the cursor moves: a kill -9 anywhere re-judges
the same events next time, and the derived ids make each alert one row whoever stores it.

Clock rules (quiet, stale_node) are judged against the clock on a step once the ingestion has
caught up (a backfill raises no quiet alert for old gaps); digests are queued there too.
"""
from __future__ import annotations

import bisect
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import sqlalchemy as sa

import db
import db_locks
from dashboard import queries

from . import digest as digests
from . import message, records
from .rules import Config, Rule

log = logging.getLogger(__name__)

STEP_BYTES = 64 << 20       # bytes of log whose events one step (a transaction) judges
NEEDS = {"login_failures": ("login_failed",), "ban": ("ban",),
         "login_after_failures": ("login_failed", "login"),
         "transfer_failures": ("upload", "download"), "bytes": ("upload", "download"),
         "new_ip": ("login",)}

# Times as milliseconds, computed by the database (the rare kinds' positions).
_MS = {"sqlite": "(CAST(strftime('%s', {c}) AS INTEGER) * 1000"
                 " + CAST(substr({c}, 21, 3) AS INTEGER))",
       "mysql": "((TO_SECONDS({c}) - 62167219200) * 1000 + MICROSECOND({c}) DIV 1000)"}
# What a rule reads: its source's kinds, in the SQL of each dialect. SQLite reads the rare
# kinds through the partial index of migration 010 (its WHERE terms written out, so the
# planner takes it) and the transfers through ix_events_ts; MySQL/MariaDB the rare kinds
# through events_rare (013).
SOURCES = {"failures": ("login_failed",), "logins": ("login",),
           "transfers": ("upload", "download")}
_KIND = {
    "sqlite": {"failures": "e.kind = 'login_failed' AND e.kind NOT IN ('upload', 'download')",
               "logins": "e.kind = 'login' AND e.kind NOT IN ('upload', 'download')",
               "transfers": "e.kind IN ('upload', 'download')"},
    "mysql": {"failures": "r.rare_kind = 'login_failed'", "logins": "r.rare_kind = 'login'",
              "transfers": "e.kind IN ('upload', 'download')"},
}
_FROM = {"sqlite": {s: "FROM events e" for s in SOURCES},
         "mysql": {"failures": "FROM events_rare r JOIN events e ON e.file_id = r.file_id"
                               " AND e.start_offset = r.start_offset",
                   "logins": "FROM events_rare r JOIN events e ON e.file_id = r.file_id"
                             " AND e.start_offset = r.start_offset",
                   "transfers": "FROM events e"}}
_TS = {"sqlite": {s: "e.ts" for s in SOURCES},
       "mysql": {"failures": "r.rare_ts", "logins": "r.rare_ts", "transfers": "e.ts"}}
# the columns a source's frame holds (only those its rules read are selected)
COLUMNS = {"ts": "e.ts", "ip": "e.remote_ip", "user": "e.username", "kind": "e.kind",
           "size": "e.size_bytes", "failed": "e.failed"}


SEP = "\x1f"           # between the values of a column's concatenation (the unit separator)
_EMPTY = {"ts": None, "ip": "''", "user": "''", "kind": "''", "size": "0", "failed": "0"}


def _select(d: str, cols: tuple, packed: bool) -> str:
    """The SELECT list: the columns, or (``packed``) each column's values joined by SEP in
    one text and the row count: one row instead of thousands (the database joins them in
    C; Python splits them in C)."""
    if not packed:
        return ", ".join(COLUMNS[c] for c in cols)
    out = []
    for c in cols:
        col = COLUMNS[c] if _EMPTY[c] is None else f"COALESCE({COLUMNS[c]}, {_EMPTY[c]})"
        out.append(f"group_concat({col}, '{SEP}')" if d == "sqlite" else
                   f"GROUP_CONCAT({col} SEPARATOR '{SEP}')")
    return ", ".join(out) + ", COUNT(*)"


def need_columns(rules: tuple) -> tuple[dict, dict]:
    """Returns ({source: columns}, {source: widest within in ms}) of the event rules: what
    a step reads, and over how long a span."""
    cols: dict = {}
    widest: dict = {}
    for r in rules:
        for src, c in NEEDS_COLUMNS.get(r.when, {}).items():
            if r.when == "login_failures" and r.per != "ip":
                c = c | {"user"}
            cols[src] = cols.get(src, {"ts"}) | c
            widest[src] = max(widest.get(src, 0), int((r.within_s or 0) * 1000))
    order = list(COLUMNS)
    return {s: tuple(sorted(c, key=order.index)) for s, c in cols.items()}, widest


def chunk_sql(d: str, source: str, cols: tuple) -> str:
    """One read of a chunk's events of one source (its file's primary-key range, in order,
    no index lookup per row): their first and last time, their count, and each column
    packed (values joined by SEP). Bound: file, first and end offset."""
    p = "?" if d == "sqlite" else "%s"
    kinds = ", ".join(f"'{k}'" for k in SOURCES[source])
    return (f"SELECT MIN(e.ts), MAX(e.ts), {_select(d, cols, True)} FROM events e"
            f" WHERE e.file_id = {p} AND e.start_offset >= {p} AND e.start_offset < {p}"
            f" AND e.kind IN ({kinds})")


def _unpack(texts, n: int) -> list | None:
    """Returns each packed column's values (None when a value held the separator)."""
    out = []
    for text in texts:
        if n == 0:
            out.append([])
            continue
        if isinstance(text, bytes):
            text = text.decode("utf-8", "surrogateescape")
        values = str(text).split(SEP)
        if len(values) != n:
            return None
        out.append(values)
    return out


def own_sql(d: str, source: str, cols: tuple, packed: bool = True) -> str:
    """The new events of a chunk: its file's primary-key range, read in order (no index
    lookup per row). Bound: file, first and end offset."""
    p = "?" if d == "sqlite" else "%s"
    kinds = ", ".join(f"'{k}'" for k in SOURCES[source])
    return (f"SELECT {_select(d, cols, packed)} FROM events e WHERE e.file_id = {p}"
            f" AND e.start_offset >= {p} AND e.start_offset < {p} AND e.kind IN ({kinds})")


def judged_sql(d: str, source: str, cols: tuple, packed: bool = True) -> str:
    """Another file's judged events in a time span (bound: first and last time, the file,
    the end of its judged part), through the source's time index."""
    p = "?" if d == "sqlite" else "%s"
    ts = _TS[d][source]
    return (f"SELECT {_select(d, cols, packed)} {_FROM[d][source]}"
            f" WHERE {_KIND[d][source]} AND {ts} >= {p} AND {ts} <= {p}"
            f" AND e.file_id = {p} AND e.start_offset < {p}")


# The rare kinds' events of a span with their position, to tell the new ones (bans, logins).
_POSITIONS = {
    "sqlite": f"SELECT {_MS['sqlite'].format(c='e.ts')}, e.remote_ip, e.username, e.file_id,"
              " e.start_offset FROM events e WHERE e.kind = ?"
              " AND e.kind NOT IN ('upload', 'download') AND e.ts > ? AND e.ts <= ?",
    "mysql": f"SELECT {_MS['mysql'].format(c='e.ts')}, e.remote_ip, e.username, e.file_id,"
             " e.start_offset FROM events_rare r JOIN events e ON e.file_id = r.file_id"
             " AND e.start_offset = r.start_offset WHERE r.rare_kind = %s AND r.rare_ts > %s"
             " AND r.rare_ts <= %s",
}


# the first login (of a user from an IP, of a user): an index walk in time order that stops
# at the first match (MIN() with these terms would read every event of the IP or user)
_FIRST_PAIR_LOGIN = ("SELECT ts FROM events WHERE remote_ip = :ip AND username = :u"
                     " AND kind = 'login' ORDER BY ts LIMIT 1")
_FIRST_LOGIN = ("SELECT ts FROM events WHERE username = :u AND kind = 'login'"
                " ORDER BY ts LIMIT 1")
_LAST_EVENTS = ("SELECT ts FROM events WHERE username = :u AND kind IN :kinds AND ts <= :now"
                " ORDER BY ts DESC LIMIT :n")


@dataclass
class Chunk:
    """One file's new events of a step: offsets [lo, hi), times [first, last] (ms)."""
    file_id: int
    lo: int
    hi: int
    first: int
    last: int
    count: int = 0
    parts: dict = field(default_factory=dict)   # source -> values per column (own events)


class Group:
    """Chunks whose times overlap or nearly (a file's new events, and another's of the same
    hours): judged together, their span read once per kind and rule."""

    def __init__(self, chunks: list[Chunk]):
        self.chunks = chunks
        self.first = min(c.first for c in chunks)
        self.last = max(c.last for c in chunks)
        self._ranges = {}
        for c in chunks:
            self._ranges.setdefault(c.file_id, []).append((c.lo, c.hi))

        if len(chunks) == 1:                   # the usual case: one file's new lines
            c = chunks[0]
            fid, lo, hi = c.file_id, c.lo, c.hi
            self.is_new = lambda file_id, offset: file_id == fid and lo <= offset < hi

    def is_new(self, file_id: int, offset: int) -> bool:
        ranges = self._ranges.get(file_id)
        return ranges is not None and any(lo <= offset < hi for lo, hi in ranges)


def _groups(chunks: list[Chunk], gap: int) -> list[Group]:
    out: list[list[Chunk]] = []
    for c in sorted(chunks, key=lambda c: c.first):
        if out and c.first - max(x.last for x in out[-1]) <= gap:
            out[-1].append(c)
        else:
            out.append([c])
    return [Group(g) for g in out]


@dataclass
class StepResult:
    busy: bool = False
    events: int = 0              # new events judged
    alerts: int = 0              # alerts stored (new rows)
    resolved: int = 0
    queued: int = 0              # outbox rows added (to be sent)
    caught_up: bool = True       # no event left past a cursor
    seconds: float = 0.0
    ids: list = field(default_factory=list)


@dataclass
class Fired:
    rule: Rule
    key: dict
    at_ms: int
    count: int
    extra: dict | None = None


class Evaluator:
    """Judges ``config``'s rules over the database of ``engine``; see the module's text."""

    def __init__(self, engine: sa.Engine, config: Config, stale_after_s: float = 30.0,
                 clock=datetime.now, epoch=time.time, seam=None):
        self.engine = engine
        self._seam = seam or (lambda name: None)   # "alerts_judged": before the commit
        self.config = config
        self.stale_after_s = stale_after_s
        self._clock = clock
        self._epoch = epoch
        self.kinds = sorted({k for r in config.event_rules for k in NEEDS[r.when]})
        self.cols, self.widest = need_columns(config.event_rules)
        # the rare kinds besides the failures (logins, bans: what break-in, ban and new_ip
        # read), in one read of a chunk, a row per kind (the logins' columns packed)
        self.rare_kinds = [k for k in self.kinds if k in ("login", "ban")]
        cs = self.cols.get("logins", ("ts",))
        kinds = ", ".join(f"'{k}'" for k in self.rare_kinds)
        self._rare_sql = {
            d: f"SELECT e.kind, MIN(e.ts), MAX(e.ts), {_select(d, cs, True)} FROM events e"
               f" WHERE e.file_id = {p} AND e.start_offset >= {p} AND e.start_offset < {p}"
               f" AND e.kind IN ({kinds}) GROUP BY e.kind"
            for d, p in (("sqlite", "?"), ("mysql", "%s"))}

    def _parts(self, conn, d: str, src: str, packed, n: int, params: tuple) -> list:
        """Returns a chunk's events of ``src`` as values per column: unpacked, or (a value
        held the separator) read as rows."""
        cs = self.cols[src]
        parts = _unpack(packed, n)
        if parts is None:
            rows = _rows(conn, own_sql(d, src, cs, packed=False), params)
            parts = [list(c) for c in zip(*rows)] if rows else [[] for _c in cs]
        return parts

    # --- a step ------------------------------------------------------------------------------

    def step(self, clock_rules: bool = True, max_bytes: int = STEP_BYTES,
             wait: bool = False) -> StepResult:
        """Judges the next events (of at most ``max_bytes`` of log), then, if caught up and
        ``clock_rules``, the clock rules and digests; one transaction. busy=True when another
        process holds the lock (nothing done)."""
        started = time.monotonic()
        try:
            with db_locks.exclusive(self.engine, "alerts", wait=wait):
                with self.engine.begin() as conn:
                    res = self._step(conn, clock_rules, max_bytes)
        except db_locks.Busy:
            return StepResult(busy=True, caught_up=False)
        res.seconds = time.monotonic() - started
        return res

    def run(self, max_seconds: float | None = None, clock_rules: bool = True,
            should_stop=lambda: False, wait: bool = False) -> StepResult:
        """Runs steps until caught up (or ``max_seconds``); returns their sum."""
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        total = StepResult()
        while True:
            res = self.step(clock_rules=clock_rules, wait=wait)
            for name in ("events", "alerts", "resolved", "queued", "seconds"):
                setattr(total, name, getattr(total, name) + getattr(res, name))
            total.ids += res.ids
            total.busy, total.caught_up = res.busy, res.caught_up
            if res.busy or res.caught_up or should_stop() or \
                    (deadline is not None and time.monotonic() >= deadline):
                return total

    def _step(self, conn, clock_rules: bool, max_bytes: int) -> StepResult:
        res = StepResult()
        now = self._clock()
        chunks, moves, res.caught_up = self._new_chunks(conn, max_bytes)
        res.events = sum(c.count for c in chunks)
        fired: list[Fired] = []
        if chunks:
            frames = Frames(conn, self.cols, self.widest)
            widest = max(self.widest.values(), default=0)
            for group in _groups(chunks, 2 * widest):
                for rule in self.config.event_rules:
                    fired += RULES[rule.when](self, conn, rule, group, frames)
        self._store_many(conn, fired, now, res)
        times = {c.file_id: (c.first, c.last) for c in chunks}
        for file_id, offset in moves:
            records.move_cursor(conn, file_id, offset, *times.get(file_id, (None, None)))
        if clock_rules and res.caught_up and self._ingestion_caught_up(conn):
            self._clock_rules(conn, now, res)
            res.queued += digests.queue(conn, self.config, self._epoch(), now)
        if res.alerts or res.events:
            self._seam("alerts_judged")           # the crash tests' kill -9 lands here
        return res

    # --- the new events ----------------------------------------------------------------------

    def _new_chunks(self, conn, max_bytes: int):
        """Returns (chunks, cursor moves, caught up): each file's new events past its cursor
        (their offsets and times), of at most ``max_bytes`` of log in all."""
        chunks: list[Chunk] = []
        moves = []
        caught_up = True
        room = max_bytes
        d = db.dialect(conn)
        queries = {src: chunk_sql(d, src, cs) for src, cs in self.cols.items()}
        if d == "mysql" and queries:
            conn.exec_driver_sql("SET SESSION group_concat_max_len = 4294967295")
        for file_id, committed, evaluated in records.pending_files(conn):
            if room <= 0:
                caught_up = False
                break
            hi = min(committed, evaluated + room)
            room -= hi - evaluated
            caught_up &= hi >= committed
            moves.append((file_id, hi))
            if not self.kinds:
                continue
            firsts, lasts, count, parts_of = [], [], 0, {}
            for src, cs in self.cols.items():
                if src == "logins":            # read with the other rare kinds, below
                    continue
                row = conn.exec_driver_sql(queries[src], (file_id, evaluated, hi)).cursor.fetchone()
                n = int(row[-1] or 0)
                if n:
                    firsts.append(records.to_ms(row[0]))
                    lasts.append(records.to_ms(row[1]))
                    count += n
                parts_of[src] = self._parts(conn, d, src, row[2:-1], n, (file_id, evaluated, hi))
            if self.rare_kinds:                # logins and bans: one read, a row per kind
                cs = self.cols.get("logins", ("ts",))
                if "logins" in self.cols:
                    parts_of["logins"] = [[] for _c in cs]
                for row in conn.exec_driver_sql(self._rare_sql[d], (file_id, evaluated, hi)
                                                ).cursor.fetchall():
                    n = int(row[-1] or 0)
                    firsts.append(records.to_ms(row[1]))
                    lasts.append(records.to_ms(row[2]))
                    count += n
                    if row[0] == "login" and "logins" in self.cols:
                        parts_of["logins"] = self._parts(conn, d, "logins", row[3:-1], n,
                                                         (file_id, evaluated, hi))
            if count:
                chunks.append(Chunk(file_id, evaluated, hi, min(firsts), max(lasts), count,
                                    parts_of))
        return chunks, moves, caught_up

    def _ingestion_caught_up(self, conn) -> bool:
        """Returns whether no node has log bytes waiting (no backfill under way), as
        /api/status counts them: only then is the clock judged (a quiet user in a
        half-read log is no quiet user)."""
        pending = conn.execute(sa.text(
            "SELECT COUNT(*) FROM log_files f JOIN checkpoints c ON c.file_id = f.id"
            " WHERE f.state = 'active'"
            " AND f.size_seen > c.committed_offset + f.bytes_lost + 65536")).scalar()
        waiting = conn.execute(sa.text(
            "SELECT COALESCE(SUM(bytes_waiting), 0) FROM node_status")).scalar()
        return not pending and not waiting

    # --- storing what fired ------------------------------------------------------------------

    def _row(self, f: Fired, now: datetime, state: str) -> tuple[dict, dict]:
        """Returns the alerts row of what fired, and the alert as the messages take it."""
        rule = f.rule
        at = records.from_ms(f.at_ms)
        within = rule.for_s if rule.when == "quiet" else \
            self.stale_after_s if rule.when == "stale_node" else rule.within_s
        extra = dict(f.extra or {})
        text = message.summary(rule.when, f.key, f.count, within, state, extra)
        aid = records.alert_id(rule.name, f.key, at)
        k = records.key_text(f.key)
        row = {"id": aid, "rule": rule.name, "rule_when": rule.when, "key_text": k,
               "key_hash": records.key_hash(k), "ip": f.key.get("ip"),
               "username": f.key.get("user", f.key.get("username")), "node": f.key.get("node"),
               "at": at, "state": state, "count": int(f.count), "within_s": within,
               "summary": text, "stored_at": now.isoformat(sep=" ", timespec="milliseconds")}
        alert = {"id": aid, "rule": rule.name, "when": rule.when, "state": state, "key": f.key,
                 "at": at, "count": int(f.count), "within_s": within, "summary": text,
                 "extra": extra}
        return row, alert

    def _store_many(self, conn, fired: list[Fired], now: datetime, res: StepResult) -> None:
        """Stores what the event rules found (fired), those stored already left out; their
        outbox rows beside them: all in a few statements."""
        if not fired:
            return
        made: dict[str, tuple] = {}
        for f in fired:
            row, alert = self._row(f, now, "fired")
            made.setdefault(row["id"], (row, alert, f.at_ms))
        old_ids = records.existing_ids(conn, list(made))
        new = [v for k, v in made.items() if k not in old_ids]
        records.insert_alerts(conn, [row for row, _a, _t in new])
        items = []
        now_ms, epoch = records.now_ms(now), self._epoch()
        for row, alert, at_ms in new:
            res.alerts += 1
            res.ids.append(row["id"])
            status = "skipped_old" if now_ms - at_ms > self.config.max_age_s * 1000 \
                else "pending"
            if not self.config.channels:
                continue
            body = message.payload(alert, self.config.dashboard_url, "fired")
            for ch in self.config.channels:
                items.append((row["id"], "alert", ch.name, "fired", body, status, epoch))
                res.queued += status == "pending"
        records.enqueue_many(conn, items)

    def _store(self, conn, f: Fired, now: datetime, res: StepResult, state: str = "fired") -> None:
        """Stores one alert (a clock rule's) unless stored already, and its outbox rows."""
        row, alert = self._row(f, now, state)
        if not records.insert_alert(conn, row):
            return
        res.alerts += 1
        res.ids.append(row["id"])
        old = records.now_ms(now) - f.at_ms > self.config.max_age_s * 1000
        res.queued += self._enqueue(conn, alert, state, "skipped_old" if old else "pending")

    def _enqueue(self, conn, alert: dict, state: str, status: str) -> int:
        body = message.payload(alert, self.config.dashboard_url, state)
        n = 0
        for ch in self.config.channels:
            n += records.enqueue(conn, alert["id"], "alert", ch.name, state, body, status,
                               self._epoch()) and status == "pending"
        return n

    # --- clock rules -------------------------------------------------------------------------

    def _clock_rules(self, conn, now: datetime, res: StepResult) -> None:
        now_ms = records.now_ms(now)
        stale = None
        for rule in self.config.clock_rules:
            holding: dict[str, tuple] = {}      # key text -> (key, start ms, count, extra)
            if rule.when == "quiet":
                for user in rule.users:
                    rows = conn.execute(sa.text(_LAST_EVENTS).bindparams(
                        sa.bindparam("kinds", expanding=True)),
                        {"u": user, "kinds": list(rule.kinds), "now": records.from_ms(now_ms),
                         "n": rule.min}).scalars().all()
                    last = records.to_ms(rows[-1]) if len(rows) >= rule.min else None
                    if last is None or last <= now_ms - rule.for_s * 1000:
                        start = now_ms if last is None else int(last + rule.for_s * 1000)
                        key = {"user": user}
                        inside = sum(1 for r in rows
                                     if records.to_ms(r) > now_ms - rule.for_s * 1000)
                        holding[records.key_text(key)] = (key, start, inside, {
                            "kinds": "/".join(rule.kinds), "min": rule.min})
            else:
                if stale is None:
                    stale = self._stale_nodes(conn)
                for node, since_epoch in stale:
                    start = records.now_ms(datetime.fromtimestamp(since_epoch)) \
                        if since_epoch is not None else now_ms
                    key = {"node": node}
                    holding[records.key_text(key)] = (key, start, 1, None)
            current = records.firing(conn, rule.name)
            for k, (key, start, count, extra) in holding.items():
                if k in current:
                    continue
                if now_ms - start > self.config.max_age_s * 1000:
                    start = now_ms           # never dated in the past: it is news now
                self._store(conn, Fired(rule, key, min(start, now_ms), count, extra), now,
                            res, state="firing")
            for k, row in current.items():
                if k in holding:
                    continue
                records.resolve(conn, row["id"], records.from_ms(now_ms))
                res.resolved += 1
                key = _json_key(k)
                within = rule.for_s if rule.when == "quiet" else self.stale_after_s
                alert = {"id": row["id"], "rule": rule.name, "when": rule.when,
                         "state": "firing", "key": key, "at": row["at"],
                         "count": int(row["count"]), "within_s": within,
                         "summary": "", "extra": {"kinds": "/".join(rule.kinds)}}
                res.queued += self._enqueue(conn, alert, "resolved", "pending")

    def _stale_nodes(self, conn) -> list[tuple[str, float | None]]:
        """Returns (node, epoch it became stale) of the nodes /api/status calls stale."""
        st = queries.status(conn, None, self.stale_after_s)
        out = []
        now_epoch = self._epoch()
        for n in st["nodes"]:
            if n["stale"]:
                secs = n["seconds_since_pass"]
                out.append((n["node"], None if secs is None
                            else now_epoch - secs + self.stale_after_s))
        return out


def _json_key(text: str) -> dict:
    import json
    return json.loads(text)


# --- the event rules -----------------------------------------------------------------------
# For a group of new events [first, last], the candidates are the events of [first, last +
# within) (a new event is in their window). Their counts come from numpy over the span's
# events (read once per step and kind of source): each key's times sorted, a window's count
# two binary searches. Only the candidates that reach `over` are looked at one by one, in
# time order per key, against the alerts stored (and those just found): a candidate fires
# unless an alert of its key is less than `within` from it, before or after. A candidate
# whose window holds no new event is judged again harmlessly: it fired (the alert is
# stored), it was within `within` of an alert (it still is), or it had not been judged (an
# event of another file, not judged yet): then it is judged now, as the rule says.

def _rows(conn, sql: str, params) -> list:
    """Returns the rows of ``sql`` as plain tuples, through the DBAPI cursor of the step's
    transaction, in one go."""
    return conn.exec_driver_sql(sql, tuple(params)).cursor.fetchall()


class Frame:
    """The events of a group's span from one source, as numpy arrays by column: ms (int64),
    ip and user (Python strings), size and failed (int64), kind."""

    def __init__(self, parts: list, cols: tuple):
        columns: list[list] = [[] for _c in cols]
        for part in parts:             # each part: a list of values per column
            for acc, values in zip(columns, part):
                acc += values
        self.n = len(columns[0]) if cols else 0
        for name, values in zip(cols, columns):
            if name == "ts":          # 'YYYY-MM-DD HH:MM:SS.mmm' text or datetimes
                self.ms = np.array([str(v) for v in values] if values and not isinstance(
                    values[0], str) else values, dtype="datetime64[ms]").astype(np.int64) \
                    if values else np.zeros(0, np.int64)
            elif name in ("size", "failed"):
                setattr(self, name, np.array([int(v or 0) for v in values], dtype=np.int64))
            else:
                setattr(self, name, np.array([v or "" for v in values], dtype=object))


def _part(conn, d: str, packed_sql: str, rows_sql: str, params: tuple, ncols: int) -> list:
    """Returns one query's events as a list of values per column: from the packed row when
    its values split back into as many as it counted (no value held the separator), else
    from the rows themselves."""
    row = conn.exec_driver_sql(packed_sql, params).cursor.fetchone()
    n = int(row[-1] or 0)
    if n == 0:
        return [[] for _i in range(ncols)]
    out = []
    for text in row[:-1]:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "surrogateescape")
        values = str(text).split(SEP)
        if len(values) != n:          # a value held the separator: read the rows instead
            rows = _rows(conn, rows_sql, params)
            return [list(c) for c in zip(*rows)] if rows else [[] for _i in range(ncols)]
        out.append(values)
    return out


class Frames:
    """The frames of one step, each read once per group and source, over the widest span
    its rules need. A source's events are the group's new ones (read with the chunks) and
    the judged events of the files whose judged times meet the span (a generation before,
    another node's files), each read only over the times they meet. Events of other files
    not judged yet are left to those files' own steps, which will count these (judged by
    then) beside theirs."""

    def __init__(self, conn, cols: dict, widest: dict):
        self.conn = conn
        self.d = db.dialect(conn)
        self.cols, self.widest = cols, widest
        self._cache: dict = {}

    def get(self, source: str, group: "Group") -> Frame:
        key = (source, id(group))
        f = self._cache.get(key)
        if f is None:
            f = self._cache[key] = self._read(source, group)
        return f

    def _read(self, source: str, group: "Group") -> Frame:
        w = self.widest[source]
        cols = self.cols[source]
        lo, hi = group.first - w, group.last + w
        parts = [c.parts[source] for c in group.chunks]
        d, n = self.d, len(cols)
        judged = judged_sql(d, source, cols)
        judged_rows = judged_sql(d, source, cols, packed=False)
        for file_id, end, first, last in records.judged_files(self.conn, lo, hi):
            parts.append(_part(self.conn, d, judged, judged_rows,
                               (records.from_ms(max(lo, first)), records.from_ms(min(hi, last)),
                                file_id, end), n))
        return Frame(parts, cols)


# the columns each rule reads of each source, besides the time
NEEDS_COLUMNS = {"login_failures": {"failures": {"ip"}},
                 "login_after_failures": {"failures": {"ip"}, "logins": {"ip", "user"}},
                 "transfer_failures": {"transfers": {"user", "failed"}},
                 "bytes": {"transfers": {"user", "kind", "size"}}}


def _counts(ms: np.ndarray, codes: np.ndarray, weights: np.ndarray, w: int,
            at_ms: np.ndarray, at_codes: np.ndarray) -> np.ndarray:
    """Returns, for each (at_codes, at_ms), the sum of ``weights`` of the events of that key
    in (t - w, t]: events sorted by (key, time), two binary searches each."""
    base = int(min(ms.min(initial=0), at_ms.min(initial=0))) - w - 1
    comp = codes.astype(np.int64) * (1 << 43) + (ms - base)
    order = np.argsort(comp, kind="stable")
    comp = comp[order]
    prefix = np.concatenate(([0], np.cumsum(weights[order])))
    q = at_codes.astype(np.int64) * (1 << 43) + (at_ms - base)
    right = np.searchsorted(comp, q, side="right")
    left = np.searchsorted(comp, q - w, side="right")
    return prefix[right] - prefix[left]


def _factorize(values: list) -> tuple[np.ndarray, list]:
    """Returns (a code per value, the distinct values in order of first appearance)."""
    index: dict = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), np.int64,
                        count=len(values))
    return codes, list(index)


def _unit_hits(ms: np.ndarray, codes: np.ndarray, w: int, over: int, lo: int, hi: int):
    """Returns (times, codes, counts) of the distinct (key, time) in [lo, hi) whose window
    (t - w, t] holds at least ``over`` events (each weighing 1), without counting every
    window: sorted by (key, time), a time's last event reaches ``over`` exactly when the
    event ``over - 1`` places before it is less than w before (the same key: keys lie 2^43
    ms apart). Only those few are counted exactly."""
    if len(ms) < over:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    base = int(ms.min()) - w - 1
    comp = np.sort(codes.astype(np.int64) * (1 << 43) + (ms - base))
    last = np.ones(len(comp), bool)
    last[:-1] = comp[:-1] != comp[1:]            # the last event of each (key, time)
    reach = np.zeros(len(comp), bool)
    reach[over - 1:] = comp[over - 1:] - comp[:len(comp) - over + 1] < w
    t = (comp & ((1 << 43) - 1)) + base
    hit = np.flatnonzero(last & reach & (t >= lo) & (t < hi))
    left = np.searchsorted(comp, comp[hit] - w, side="right")
    return t[hit], comp[hit] >> 43, hit + 1 - left


def _cooldown(rule: Rule, conn, group: "Group", cands, key_of, extra=None) -> list[Fired]:
    """Returns the alerts of the candidates (ms, key tuple, count), in time order per key: a
    candidate fires unless an alert of its key (stored, or found here) is less than
    `within` from it, before or after."""
    if not cands:
        return []
    w = int(rule.within_s * 1000)
    stored = records.stored_near(conn, rule.name, records.from_ms(group.first - w),
                               records.from_ms(group.last + 2 * w))
    by_key: dict[tuple, list] = {}
    for t, k, count in cands:
        by_key.setdefault(k, []).append((t, count))
    out = []
    for k, rows in by_key.items():
        key = key_of(k)
        fired = stored.get(records.key_text(key), [])
        seen = set()
        for t, count in sorted(rows):
            if t in seen:
                continue
            seen.add(t)
            i = bisect.bisect_left(fired, t)
            if (i < len(fired) and fired[i] - t < w) or (i > 0 and t - fired[i - 1] < w):
                continue
            fired.insert(i, t)
            out.append(Fired(rule, key, t, count, extra))
    return out


def _counting(rule: Rule, conn, group: "Group", f: Frame, mask: np.ndarray, keys: list,
              weights: np.ndarray) -> list:
    """Returns the candidates (ms, key tuple, count) of a counting rule over frame ``f``:
    the events of ``mask`` are counted by the key columns ``keys`` with ``weights``."""
    w = int(rule.within_s * 1000)
    if not mask.any():
        return []
    ms = f.ms[mask]
    cols = [k[mask].tolist() for k in keys]
    codes, uniques = _factorize(cols[0] if len(cols) == 1 else list(zip(*cols)))
    if len(cols) == 1:
        uniques = [(u,) for u in uniques]
    wts = weights[mask]
    if weights is None or (wts == 1).all():      # counting events: only the few that reach
        c_ms, c_codes, counts = _unit_hits(ms, codes, w, rule.over, group.first,
                                           group.last + w)
        return [(int(t), tuple(uniques[c]), int(n)) for t, c, n in zip(c_ms, c_codes, counts)]
    cand = (ms >= group.first) & (ms < group.last + w)
    counts = _counts(ms, codes, wts, w, ms[cand], codes[cand])
    hit = counts >= rule.over
    c_ms, c_codes = ms[cand][hit], codes[cand][hit]
    return [(int(t), tuple(uniques[c]), int(n)) for t, c, n in zip(c_ms, c_codes, counts[hit])]


def rule_key(rule: Rule, k: tuple) -> dict:
    if rule.when == "login_failures":
        return {"ip": k[0]} if rule.per == "ip" else {"username": k[0]} \
            if rule.per == "username" else {"ip": k[0], "username": k[1]}
    if rule.when in ("ban",):
        return {"ip": k[0]}
    if rule.when == "login_after_failures":
        return {"ip": k[0], "username": k[1]}
    return {"user": k[0]}


def _login_failures(ev, conn, rule, group, frames):
    f = frames.get("failures", group)
    if rule.per == "username":
        mask, keys = np.ones(f.n, bool), [f.user]
    else:                            # events without an IP count for no IP
        mask = f.ip != ""
        keys = [f.ip] if rule.per == "ip" else [f.ip, f.user]
    cands = _counting(rule, conn, group, f, mask, keys, np.ones(f.n, np.int64))
    return _cooldown(rule, conn, group, cands, lambda k: rule_key(rule, k))


def _transfer_failures(ev, conn, rule, group, frames):
    f = frames.get("transfers", group)
    cands = _counting(rule, conn, group, f, f.failed == 1, [f.user], np.ones(f.n, np.int64))
    return _cooldown(rule, conn, group, cands, lambda k: {"user": k[0]})


def _bytes(ev, conn, rule, group, frames):
    f = frames.get("transfers", group)
    mask = np.isin(f.kind, list(rule.kinds)) & (f.size > 0)
    word = "uploaded" if rule.kinds == ("upload",) else "downloaded" \
        if rule.kinds == ("download",) else "transferred"
    cands = _counting(rule, conn, group, f, mask, [f.user], f.size)
    return _cooldown(rule, conn, group, cands, lambda k: {"user": k[0]}, {"kind": word})


def _login_after_failures(ev, conn, rule, group, frames):
    """A login (ip, username) with at least ``over`` failed logins from its IP in (t -
    within, t]; key (ip, username), and the same cooldown per key as the counting rules."""
    w = int(rule.within_s * 1000)
    f, g = frames.get("failures", group), frames.get("logins", group)
    fails = f.ip != ""
    logins = (g.ip != "") & (g.ms >= group.first) & (g.ms < group.last + w)
    if not fails.any() or not logins.any():
        return []
    codes, uniques = _factorize(f.ip[fails].tolist())
    index = {ip: i for i, ip in enumerate(uniques)}
    l_ms, l_ip, l_user = g.ms[logins], g.ip[logins], g.user[logins]
    l_codes = np.array([index.get(ip, -1) for ip in l_ip], dtype=np.int64)
    known = l_codes >= 0
    if not known.any():
        return []
    counts = _counts(f.ms[fails], codes, np.ones(int(fails.sum()), np.int64), w,
                     l_ms[known], l_codes[known])
    cands = [(int(t), (ip, user), int(n)) for t, ip, user, n in
             zip(l_ms[known], l_ip[known], l_user[known], counts) if n >= rule.over]
    return _cooldown(rule, conn, group, cands, lambda k: {"ip": k[0], "username": k[1]})


def _positions(conn, kind: str, lo_ms: int, hi_ms: int) -> list:
    d = db.dialect(conn)
    return _rows(conn, _POSITIONS[d], (kind, records.from_ms(lo_ms), records.from_ms(hi_ms)))


def _ban(ev, conn, rule, group, frames):
    rows = _positions(conn, "ban", group.first - 1, group.last)
    return [Fired(rule, {"ip": r[1]}, int(r[0]), 1) for r in rows
            if r[1] and group.is_new(r[3], r[4])]


def _new_ip(ev, conn, rule, group, frames):
    """A login from an IP that none of the user's earlier logins came from, the user's first
    login being at least min_days before it; once per (user, IP)."""
    first_new: dict[tuple, int] = {}
    for r in _positions(conn, "login", group.first - 1, group.last):
        if r[1] and group.is_new(r[3], r[4]):
            k = (r[2], r[1])
            t = int(r[0])
            if k not in first_new or t < first_new[k]:
                first_new[k] = t
    out = []
    min_ms = rule.min_days * 86400_000
    for (user, ip), t in sorted(first_new.items(), key=lambda x: x[1]):
        earliest = conn.execute(sa.text(_FIRST_PAIR_LOGIN), {"ip": ip, "u": user}).scalar()
        if earliest is None or records.to_ms(earliest) < t:
            continue
        key = {"user": user, "ip": ip}
        if records.has_alert(conn, rule.name, key):
            continue
        first = records.to_ms(conn.execute(sa.text(_FIRST_LOGIN), {"u": user}).scalar())
        if t - first >= min_ms and t > first:
            out.append(Fired(rule, key, t, 1, {"days": int((t - first) // 86400_000)}))
    return out


RULES = {"login_failures": _login_failures, "ban": _ban,
         "login_after_failures": _login_after_failures,
         "transfer_failures": _transfer_failures, "bytes": _bytes, "new_ip": _new_ip}
