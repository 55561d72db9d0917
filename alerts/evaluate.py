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
(frames.py reads the chunks and frames; kinds.py counts them, rule kind by rule kind.)

One step runs at a time across processes and nodes (the "alerts" lock of
db_locks.exclusive), in one transaction with the cursor moves: a kill -9 anywhere re-judges
the same events next time, and the derived ids make each alert one row whoever stores it.

Clock rules (quiet, stale_node) are judged against the clock on a step once the ingestion has
caught up (a backfill raises no quiet alert for old gaps); digests are queued there too.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

import db
import db_locks
from dashboard import queries

from . import digest as digests
from . import message, records
from .frames import Chunk, Frames, chunk_parts, chunk_sql, group_chunks, rare_sql
from .kinds import NEEDS, RULES, Fired, need_columns
from .rules import Config

log = logging.getLogger(__name__)

STEP_BYTES = 64 << 20       # bytes of log whose events one step (a transaction) judges
# the last events of a user (the quiet rule)
_LAST_EVENTS = ("SELECT ts FROM events WHERE username = :u AND kind IN :kinds AND ts <= :now"
                " ORDER BY ts DESC LIMIT :n")


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
        self._rare_sql = {d: rare_sql(d, cs, self.rare_kinds) for d in ("sqlite", "mysql")}

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
            for group in group_chunks(chunks, 2 * widest):
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
                parts_of[src] = chunk_parts(conn, d, src, cs, row[2:-1], n,
                                            (file_id, evaluated, hi))
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
                        parts_of["logins"] = chunk_parts(conn, d, "logins", cs, row[3:-1], n,
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

