"""Judging the rules: from the events and the node status in the database, never from a
process's memory, so any process of any node can do it, and stored alerts are never changed.

Event rules are judged incrementally. ``alert_cursor`` holds, per file, the offset up to which
its events have been judged; a step reads the events after it (a primary-key range, every
node's files), and for each rule only the time spans those events can change: an event at
time t can make the rule fire at an event of its key in [t, t + within). Around each span it
reads that rule's matching events of every node (keys span nodes), and the rule's alerts
already stored there, and scans the touched keys in time order (the contract's firing rule):
an event fires when the matching events in (t - within, t] reach ``over`` and no alert of the
key is less than ``within`` away from it, before or after (one stored from events that came
earlier, in time or in arrival). For events that arrive in time order that is exactly "the
first event where the count reaches over, then none before F + within"; events that arrive
late may add alerts in the past but never one next to a stored one, and never change one.

One step runs at a time across processes and nodes (the "alerts" lock of db.exclusive), in
one transaction with the cursor moves: a kill -9 anywhere re-judges the same events next
time, and the derived ids make each alert one row whoever stores it.

Clock rules (quiet, stale_node) are judged against the clock on a step once the ingestion has
caught up (a backfill raises no quiet alert for old gaps); digests are queued there too.
"""
from __future__ import annotations

import bisect
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

import db
from dashboard import queries

from . import digest as digests
from . import message, store
from .rules import Config, Rule, format_duration

log = logging.getLogger(__name__)

STEP_EVENTS = 100_000        # new events judged per step (a transaction) at most
STEP_SPAN_BYTES = 256 << 20  # bytes of one file's log per step at most
NEEDS = {"login_failures": ("login_failed",), "ban": ("ban",),
         "login_after_failures": ("login_failed", "login"),
         "transfer_failures": ("upload", "download"), "bytes": ("upload", "download"),
         "new_ip": ("login",)}

# The new events of one file past its cursor, of the kinds some rule reads.
_NEW_EVENTS = ("SELECT start_offset, ts, kind, username, remote_ip, size_bytes, failed"
               " FROM events WHERE file_id = :f AND start_offset >= :lo AND start_offset < :hi"
               " AND kind IN :kinds ORDER BY start_offset LIMIT :n")

# The matching events of every node in a time span, by kind. SQLite: the partial indexes of
# migration 010 (their WHERE terms written out, so the planner takes them); MySQL/MariaDB:
# events_rare (013) for the rare kinds and the failed transfers, ix_events_ts for the bytes.
_SPAN = {
    "sqlite": {
        "rare": "SELECT ts, remote_ip, username FROM events WHERE kind = :kind"
                " AND kind NOT IN ('upload', 'download') AND ts > :lo AND ts <= :hi",
        "failed": "SELECT ts, username, 1 FROM events WHERE failed = 1 AND ts > :lo"
                  " AND ts <= :hi AND kind IN ('upload', 'download')",
        "bytes": "SELECT ts, username, size_bytes, kind FROM events WHERE ts > :lo AND ts <= :hi"
                 " AND kind IN ('upload', 'download')",
    },
    "mysql": {
        "rare": "SELECT e.ts, e.remote_ip, e.username FROM events_rare r JOIN events e"
                " ON e.file_id = r.file_id AND e.start_offset = r.start_offset"
                " WHERE r.rare_kind = :kind AND r.rare_ts > :lo AND r.rare_ts <= :hi",
        "failed": "SELECT e.ts, e.username, 1 FROM events_rare r JOIN events e"
                  " ON e.file_id = r.file_id AND e.start_offset = r.start_offset"
                  " WHERE r.failed_ts > :lo AND r.failed_ts <= :hi"
                  " AND e.kind IN ('upload', 'download')",
        "bytes": "SELECT ts, username, size_bytes, kind FROM events WHERE ts > :lo AND ts <= :hi"
                 " AND kind IN ('upload', 'download')",
    },
}
_FIRST_PAIR_LOGIN = ("SELECT MIN(ts) FROM events WHERE remote_ip = :ip AND username = :u"
                     " AND kind = 'login'")
_FIRST_LOGIN = "SELECT MIN(ts) FROM events WHERE username = :u AND kind = 'login'"
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

    # --- a step ------------------------------------------------------------------------------

    def step(self, clock_rules: bool = True, max_events: int = STEP_EVENTS,
             wait: bool = False) -> StepResult:
        """Judges the next events (at most ``max_events``), then, if caught up and
        ``clock_rules``, the clock rules and digests; one transaction. busy=True when another
        process holds the lock (nothing done)."""
        started = time.monotonic()
        try:
            with db.exclusive(self.engine, "alerts", wait=wait):
                with self.engine.begin() as conn:
                    res = self._step(conn, clock_rules, max_events)
        except db.Busy:
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

    def _step(self, conn, clock_rules: bool, max_events: int) -> StepResult:
        res = StepResult()
        now = self._clock()
        new, moves, res.caught_up = self._new_events(conn, max_events)
        res.events = len(new)
        fired: list[Fired] = []
        if new:
            for rule in self.config.event_rules:
                fired += RULES[rule.when](self, conn, rule, new)
        for f in fired:
            self._store(conn, f, now, res)
        for file_id, offset in moves:
            store.move_cursor(conn, file_id, offset)
        if clock_rules and res.caught_up and self._ingestion_caught_up(conn):
            self._clock_rules(conn, now, res)
            res.queued += digests.queue(conn, self.config, self._epoch(), now)
        if res.alerts or res.events:
            self._seam("alerts_judged")           # the crash tests' kill -9 lands here
        return res

    # --- the new events ----------------------------------------------------------------------

    def _new_events(self, conn, max_events: int):
        """Returns (events, cursor moves, caught up): the events past the cursors as
        (ms, kind, username, ip, size, failed, ts text), at most ~max_events of them."""
        files = store.pending_files(conn)
        out: list[tuple] = []
        moves = []
        caught_up = True
        q = sa.text(_NEW_EVENTS).bindparams(sa.bindparam("kinds", expanding=True))
        for file_id, committed, evaluated in files:
            room = max_events - len(out)
            if room <= 0:
                caught_up = False
                break
            hi = min(committed, evaluated + STEP_SPAN_BYTES)
            if not self.kinds:
                moves.append((file_id, hi))
                caught_up &= hi >= committed
                continue
            rows = conn.execute(q, {"f": file_id, "lo": evaluated, "hi": hi,
                                    "kinds": self.kinds, "n": room}).all()
            for off, ts, kind, user, ip, size, failed in rows:
                text = store.from_ms(ms := store.to_ms(ts))
                out.append((ms, kind, user, ip or "", size or 0, failed, text))
            if len(rows) >= room:
                hi = int(rows[-1][0]) + 1
            moves.append((file_id, hi))
            caught_up &= hi >= committed
        return out, moves, caught_up

    def _ingestion_caught_up(self, conn) -> bool:
        """Returns whether no node has log bytes waiting (no backfill under way): only then
        is the clock judged (a quiet user in a half-read log is no quiet user)."""
        pending = conn.execute(sa.text(
            "SELECT COUNT(*) FROM log_files f JOIN checkpoints c ON c.file_id = f.id"
            " WHERE f.state = 'active' AND f.size_seen > c.committed_offset + 65536")).scalar()
        return not pending

    # --- storing what fired ------------------------------------------------------------------

    def _store(self, conn, f: Fired, now: datetime, res: StepResult, state: str = "fired") -> None:
        rule = f.rule
        at = store.from_ms(f.at_ms)
        within = rule.for_s if rule.when == "quiet" else \
            self.stale_after_s if rule.when == "stale_node" else rule.within_s
        extra = dict(f.extra or {})
        text = message.summary(rule.when, f.key, f.count, within, state, extra)
        aid = store.alert_id(rule.name, f.key, at)
        k = store.key_text(f.key)
        row = {"id": aid, "rule": rule.name, "rule_when": rule.when, "key_text": k,
               "key_hash": store.key_hash(k), "ip": f.key.get("ip"),
               "username": f.key.get("user", f.key.get("username")), "node": f.key.get("node"),
               "at": at, "state": state, "count": int(f.count), "within_s": within,
               "summary": text, "stored_at": now.isoformat(sep=" ", timespec="milliseconds")}
        if not store.insert_alert(conn, row):
            return
        res.alerts += 1
        res.ids.append(aid)
        old = store.now_ms(now) - f.at_ms > self.config.max_age_s * 1000
        alert = {"id": aid, "rule": rule.name, "when": rule.when, "state": state, "key": f.key,
                 "at": at, "count": int(f.count), "within_s": within, "summary": text,
                 "extra": extra}
        res.queued += self._enqueue(conn, alert, state, "skipped_old" if old else "pending")

    def _enqueue(self, conn, alert: dict, state: str, status: str) -> int:
        body = message.payload(alert, self.config.dashboard_url, state)
        n = 0
        for ch in self.config.channels:
            n += store.enqueue(conn, alert["id"], "alert", ch.name, state, body, status,
                               self._epoch()) and status == "pending"
        return n

    # --- clock rules -------------------------------------------------------------------------

    def _clock_rules(self, conn, now: datetime, res: StepResult) -> None:
        now_ms = store.now_ms(now)
        stale = None
        for rule in self.config.clock_rules:
            holding: dict[str, tuple] = {}      # key text -> (key, start ms, count, extra)
            if rule.when == "quiet":
                for user in rule.users:
                    rows = conn.execute(sa.text(_LAST_EVENTS).bindparams(
                        sa.bindparam("kinds", expanding=True)),
                        {"u": user, "kinds": list(rule.kinds), "now": store.from_ms(now_ms),
                         "n": rule.min}).scalars().all()
                    last = store.to_ms(rows[-1]) if len(rows) >= rule.min else None
                    if last is None or last <= now_ms - rule.for_s * 1000:
                        start = now_ms if last is None else int(last + rule.for_s * 1000)
                        key = {"user": user}
                        inside = sum(1 for r in rows
                                     if store.to_ms(r) > now_ms - rule.for_s * 1000)
                        holding[store.key_text(key)] = (key, start, inside, {
                            "kinds": "/".join(rule.kinds), "min": rule.min})
            else:
                if stale is None:
                    stale = self._stale_nodes(conn)
                for node, since_epoch in stale:
                    start = store.now_ms(datetime.fromtimestamp(since_epoch)) \
                        if since_epoch is not None else now_ms
                    key = {"node": node}
                    holding[store.key_text(key)] = (key, start, 1, None)
            current = store.firing(conn, rule.name)
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
                store.resolve(conn, row["id"], store.from_ms(now_ms))
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

def _segments(times: list[int], gap: float) -> list[tuple[int, int]]:
    """Returns [first, last] of the runs of sorted ``times`` whose gaps are at most ``gap``."""
    out = []
    for t in times:
        if out and t - out[-1][1] <= gap:
            out[-1][1] = t
        else:
            out.append([t, t])
    return [(a, b) for a, b in out]


def _span(conn, sql: str, lo_ms: int, hi_ms: int, **params):
    return conn.execute(sa.text(sql), {"lo": store.from_ms(lo_ms), "hi": store.from_ms(hi_ms),
                                       **params}).all()


def _scan(series: list[tuple[int, int]], cands: list[int], over: int, w: int,
          fired: list[int], lo: int, hi: int):
    """Yields (t, count) where the rule fires for one key: ``series`` (ms, weight) sorted, the
    candidate times ``cands`` (sorted, distinct) in [lo, hi), ``fired`` the key's alerts
    (sorted ms; new ones are added to it)."""
    times = [t for t, _w in series]
    prefix = [0]
    for _t, wt in series:
        prefix.append(prefix[-1] + wt)
    if prefix[-1] < over:
        return
    for t in cands:
        if t < lo or t >= hi:
            continue
        count = prefix[bisect.bisect_right(times, t)] - prefix[bisect.bisect_right(times, t - w)]
        if count < over:
            continue
        i = bisect.bisect_left(fired, t)
        if (i < len(fired) and fired[i] - t < w) or (i > 0 and t - fired[i - 1] < w):
            continue
        fired.insert(i, t)
        yield t, count


def _threshold(ev: Evaluator, conn, rule: Rule, new: list, match, span_sql: str,
               row_key, span_params: dict | None = None, extra=None) -> list[Fired]:
    """Judges a counting rule: ``match(event)`` gives a new event's key tuple (None: not
    this rule's) and its weight; ``row_key(row)`` a span row's key tuple and weight."""
    w = int(rule.within_s * 1000)
    mine = [(m[0], key) for e in new if (m := match(e)) is not None and (key := m[1]) is not None]
    if not mine:
        return []
    out = []
    times = sorted({t for t, _k in mine})
    for a, b in _segments(times, 2 * w):
        touched = {k for t, k in mine if a <= t <= b}
        series: dict[tuple, list] = {}
        for row in _span(conn, span_sql, a - w, b + w, **(span_params or {})):
            kw = row_key(row)
            if kw is None or kw[0] not in touched:
                continue
            series.setdefault(kw[0], []).append((store.to_ms(row[0]), kw[1]))
        stored = store.stored_near(conn, rule.name, store.from_ms(a - w), store.from_ms(b + 2 * w))
        for k, s in series.items():
            s.sort()
            key = rule_key(rule, k)
            fired = stored.get(store.key_text(key), [])
            cands = sorted({t for t, _w in s})
            for t, count in _scan(s, cands, rule.over, w, fired, a, b + w):
                out.append(Fired(rule, key, t, count, extra))
    return out


def rule_key(rule: Rule, k: tuple) -> dict:
    if rule.when == "login_failures":
        return {"ip": k[0]} if rule.per == "ip" else {"username": k[0]} \
            if rule.per == "username" else {"ip": k[0], "username": k[1]}
    if rule.when in ("ban",):
        return {"ip": k[0]}
    if rule.when == "login_after_failures":
        return {"ip": k[0], "username": k[1]}
    return {"user": k[0]}


def _login_failures(ev, conn, rule, new):
    d = db.dialect(conn)
    # per: "ip" (events without an IP count for none), "username", or "ip,username"
    if rule.per == "ip":
        pick = (lambda ip, user: (ip,) if ip else None)
    elif rule.per == "username":
        pick = (lambda ip, user: (user,))
    else:
        pick = (lambda ip, user: (ip, user) if ip else None)

    def match(e):
        return (e[0], pick(e[3], e[2])) if e[1] == "login_failed" else None

    def row_key(r):
        k = pick(r[1] or "", r[2])
        return None if k is None else (k, 1)
    return _threshold(ev, conn, rule, new, match, _SPAN[d]["rare"], row_key,
                      {"kind": "login_failed"})


def _transfer_failures(ev, conn, rule, new):
    d = db.dialect(conn)

    def match(e):
        return (e[0], (e[2],)) if e[1] in ("upload", "download") and e[5] == 1 else None
    return _threshold(ev, conn, rule, new, match, _SPAN[d]["failed"],
                      lambda r: ((r[1],), 1))


def _bytes(ev, conn, rule, new):
    d = db.dialect(conn)
    kinds = set(rule.kinds)

    def match(e):
        return (e[0], (e[2],)) if e[1] in kinds and e[4] else None

    def row_key(r):
        return ((r[1],), int(r[2] or 0)) if r[3] in kinds else None
    word = "uploaded" if kinds == {"upload"} else "downloaded" if kinds == {"download"} \
        else "transferred"
    return _threshold(ev, conn, rule, new, match, _SPAN[d]["bytes"], row_key,
                      extra={"kind": word})


def _ban(ev, conn, rule, new):
    return [Fired(rule, {"ip": e[3]}, e[0], 1) for e in new if e[1] == "ban" and e[3]]


def _login_after_failures(ev, conn, rule, new):
    """A login (ip, username) with at least ``over`` failed logins from its IP in (t -
    within, t]; key (ip, username), and the same cooldown per key as the counting rules."""
    w = int(rule.within_s * 1000)
    d = db.dialect(conn)
    mine = [(e[0], e[3]) for e in new if e[1] in ("login_failed", "login") and e[3]]
    if not mine:
        return []
    out = []
    for a, b in _segments(sorted({t for t, _ip in mine}), 2 * w):
        ips = {ip for t, ip in mine if a <= t <= b}
        fails: dict[str, list] = {}
        for row in _span(conn, _SPAN[d]["rare"], a - w, b + w, kind="login_failed"):
            if row[1] in ips:
                fails.setdefault(row[1], []).append((store.to_ms(row[0]), 1))
        if not fails:
            continue
        logins: dict[tuple, list] = {}
        for row in _span(conn, _SPAN[d]["rare"], a - 1, b + w, kind="login"):
            if row[1] in fails:
                logins.setdefault((row[1], row[2]), []).append(store.to_ms(row[0]))
        stored = store.stored_near(conn, rule.name, store.from_ms(a - w), store.from_ms(b + 2 * w))
        for (ip, user), times in logins.items():
            series = sorted(fails[ip])
            key = {"ip": ip, "username": user}
            fired = stored.get(store.key_text(key), [])
            for t, count in _scan(series, sorted(set(times)), rule.over, w, fired, a, b + w):
                out.append(Fired(rule, key, t, count))
    return out


def _new_ip(ev, conn, rule, new):
    """A login from an IP that none of the user's earlier logins came from, the user's first
    login being at least min_days before it; once per (user, IP)."""
    first_new: dict[tuple, int] = {}
    for e in new:
        if e[1] == "login" and e[3]:
            k = (e[2], e[3])
            if k not in first_new or e[0] < first_new[k]:
                first_new[k] = e[0]
    out = []
    min_ms = rule.min_days * 86400_000
    for (user, ip), t in sorted(first_new.items(), key=lambda x: x[1]):
        earliest = conn.execute(sa.text(_FIRST_PAIR_LOGIN), {"ip": ip, "u": user}).scalar()
        if earliest is None or store.to_ms(earliest) < t:
            continue
        key = {"user": user, "ip": ip}
        if store.has_alert(conn, rule.name, key):
            continue
        first = store.to_ms(conn.execute(sa.text(_FIRST_LOGIN), {"u": user}).scalar())
        if t - first >= min_ms and t > first:
            out.append(Fired(rule, key, t, 1, {"days": int((t - first) // 86400_000)}))
    return out


RULES = {"login_failures": _login_failures, "ban": _ban,
         "login_after_failures": _login_after_failures,
         "transfer_failures": _transfer_failures, "bytes": _bytes, "new_ip": _new_ip}

__all__ = ["Evaluator", "StepResult", "format_duration", "timedelta"]
