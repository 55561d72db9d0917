"""SQL of the alerts (migration 017): identity, idempotent inserts, the outbox, the cursors.

An alert is (rule, key, at); its id is derived from those alone (``alert_id``), so the same
alert has the same id in every process, pass and node, and is inserted once: a second insert
of the id does nothing. Its outbox rows (one per channel, and for a clock rule one more per
channel when it resolves) are inserted in the same transaction, each with an id of its own
derived from the alert's, the channel's and the state's.
"""
from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timedelta

import sqlalchemy as sa

import db
from ingestion.store import NO_NODE, bump_version
from dashboard.timefmt import logged_time, stored_time

_EPOCH = datetime(1970, 1, 1)
MS = timedelta(milliseconds=1)


# --- times: the log's clock, naive, as 'YYYY-MM-DD HH:MM:SS.mmm' --------------------------

_MINUTES: dict[str, int] = {}     # 'YYYY-MM-DD HH:MM' -> its ms: most times share a minute


def to_ms(ts) -> int:
    """Returns a stored time (text 'YYYY-MM-DD HH:MM:SS.mmm' or a datetime) as milliseconds
    on the log's naive clock. Judging reads every matching event once: the text's minute is
    looked up, its seconds and milliseconds added (a third of fromisoformat's cost)."""
    if type(ts) is str and len(ts) == 23:
        base = _MINUTES.get(ts[:16])
        if base is None:
            if len(_MINUTES) > 200_000:
                _MINUTES.clear()
            base = _MINUTES[ts[:16]] = (datetime.fromisoformat(ts[:16]) - _EPOCH) // MS
        return base + int(ts[17:19] + ts[20:23])
    if not isinstance(ts, datetime):
        ts = datetime.fromisoformat(str(ts))
    return (ts - _EPOCH) // MS


def from_ms(ms: int) -> str:
    """Returns milliseconds on the log's clock as 'YYYY-MM-DD HH:MM:SS.mmm'."""
    return (_EPOCH + ms * MS).isoformat(sep=" ", timespec="milliseconds")


def now_ms(now: datetime | None = None) -> int:
    """Returns the local clock (the clock SFTPGo writes its times in) as to_ms does."""
    return to_ms(now or datetime.now())


# --- identity ------------------------------------------------------------------------------

def key_text(key: dict) -> str:
    """Returns the key as canonical JSON (sorted, compact, the characters as they are)."""
    return json.dumps(key, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def key_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def alert_id(rule: str, key: dict, at: str) -> str:
    """Returns the id of alert (rule, key, at): 32 hex digits of SHA-256 of those alone."""
    raw = "\x1f".join((rule, key_text(key), stored_time(at)))
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def outbox_id(item_id: str, channel: str, state: str) -> str:
    raw = "\x1f".join((item_id, channel, state))
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:40]


# --- writes --------------------------------------------------------------------------------
# Every value is bound (no literal in VALUES): PyMySQL sends a many-row executemany of such a
# statement as one multi-row INSERT.

_INSERT_ALERT = {
    "sqlite": "INSERT INTO alerts (id, rule, rule_when, key_text, key_hash, ip, username, node,"
              " at, state, count, within_s, summary, resolved_at, stored_at) VALUES (:id, :rule,"
              " :rule_when, :key_text, :key_hash, :ip, :username, :node, :at, :state, :count,"
              " :within_s, :summary, :resolved_at, :stored_at) ON CONFLICT (id) DO NOTHING",
    "mysql": "INSERT INTO alerts (id, rule, rule_when, key_text, key_hash, ip, username, node,"
             " at, state, count, within_s, summary, resolved_at, stored_at) VALUES (:id, :rule,"
             " :rule_when, :key_text, :key_hash, :ip, :username, :node, :at, :state, :count,"
             " :within_s, :summary, :resolved_at, :stored_at) ON DUPLICATE KEY UPDATE id = id",
}
_INSERT_OUTBOX = {
    "sqlite": "INSERT INTO alert_outbox (id, item_id, item_kind, channel, state, status,"
              " attempts, created_epoch, next_epoch, body) VALUES (:id, :item_id, :item_kind,"
              " :channel, :state, :status, :attempts, :now, :now, :body)"
              " ON CONFLICT (id) DO NOTHING",
    "mysql": "INSERT INTO alert_outbox (id, item_id, item_kind, channel, state, status,"
             " attempts, created_epoch, next_epoch, body) VALUES (:id, :item_id, :item_kind,"
             " :channel, :state, :status, :attempts, :now, :now, :body)"
             " ON DUPLICATE KEY UPDATE id = id",
}


def insert_alert(conn, row: dict) -> bool:
    """Inserts an alert row (the keys of _INSERT_ALERT) unless its id is stored; returns
    whether it was new."""
    d = db.dialect(conn)
    new = conn.execute(sa.text(_INSERT_ALERT[d]), {"resolved_at": None, **row}).rowcount == 1
    if new:
        bump_version(conn, d, NO_NODE)      # the pages' kept answers show the alert marks
    return new


def existing_ids(conn, ids: list[str]) -> set[str]:
    """Returns those of ``ids`` that are stored already."""
    out: set[str] = set()
    q = sa.text("SELECT id FROM alerts WHERE id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True))
    for i in range(0, len(ids), 500):
        out.update(conn.execute(q, {"ids": ids[i:i + 500]}).scalars())
    return out


def insert_alerts(conn, rows: list[dict]) -> None:
    """Inserts alert rows known to be new (one statement, many rows; a row stored meanwhile
    is left as it is)."""
    if rows:
        conn.execute(sa.text(_INSERT_ALERT[db.dialect(conn)]),
                     [{"resolved_at": None, **r} for r in rows])
        bump_version(conn, db.dialect(conn), NO_NODE)   # the pages' kept answers show them


def enqueue_many(conn, items: list[tuple]) -> None:
    """Adds outbox rows: (item_id, item_kind, channel, state, body, status, now) each."""
    if not items:
        return
    conn.execute(sa.text(_INSERT_OUTBOX[db.dialect(conn)]), [
        {"id": outbox_id(i, ch, st), "item_id": i, "item_kind": kind, "channel": ch,
         "state": st, "status": status, "now": now, "attempts": 0,
         "body": json.dumps(body, ensure_ascii=False)}
        for i, kind, ch, st, body, status, now in items])


def enqueue(conn, item_id: str, item_kind: str, channel: str, state: str, body: dict,
            status: str = "pending", now: float | None = None) -> bool:
    """Adds an outbox row (idempotent by its derived id); returns whether it was new."""
    d = db.dialect(conn)
    oid = outbox_id(item_id, channel, state)
    return conn.execute(sa.text(_INSERT_OUTBOX[d]), {
        "id": oid, "item_id": item_id, "item_kind": item_kind, "channel": channel,
        "state": state, "status": status, "attempts": 0, "now": time.time() if now is None else now,
        "body": json.dumps(body, ensure_ascii=False)}).rowcount == 1


def stored_near(conn, rule: str, lo: str, hi: str) -> dict[str, list[int]]:
    """Returns {key_text: sorted at (ms)} of the rule's alerts with at in [lo, hi]."""
    out: dict[str, list[int]] = {}
    for k, at in conn.execute(sa.text(
            "SELECT key_text, at FROM alerts WHERE at >= :lo AND at <= :hi AND rule = :rule"),
            {"lo": lo, "hi": hi, "rule": rule}):
        out.setdefault(k, []).append(to_ms(at))
    for v in out.values():
        v.sort()
    return out


def has_alert(conn, rule: str, key: dict) -> bool:
    text = key_text(key)
    return conn.execute(sa.text(
        "SELECT 1 FROM alerts WHERE rule = :rule AND key_hash = :h AND key_text = :k LIMIT 1"),
        {"rule": rule, "h": key_hash(text), "k": text}).first() is not None


def firing(conn, rule: str) -> dict[str, dict]:
    """Returns {key_text: row} of the rule's alerts that are firing now (clock rules)."""
    return {r["key_text"]: dict(r) for r in conn.execute(sa.text(
        "SELECT id, key_text, at, count FROM alerts WHERE state = 'firing' AND rule = :rule"),
        {"rule": rule}).mappings()}


def resolve(conn, alert: str, at: str) -> None:
    if conn.execute(sa.text("UPDATE alerts SET state = 'resolved', resolved_at = :at"
                            " WHERE id = :id AND state = 'firing'"),
                    {"id": alert, "at": at}).rowcount:
        bump_version(conn, db.dialect(conn), NO_NODE)


# --- the cursors ---------------------------------------------------------------------------

_PENDING_FILES = sa.text(
    "SELECT c.file_id, c.committed_offset, COALESCE(a.evaluated, 0) AS evaluated"
    " FROM checkpoints c LEFT JOIN alert_cursor a ON a.file_id = c.file_id"
    " WHERE c.committed_offset > COALESCE(a.evaluated, 0) ORDER BY c.file_id")

_CURSOR_UPSERT = {
    "sqlite": "INSERT INTO alert_cursor (file_id, evaluated, first_ms, last_ms)"
              " VALUES (:f, :o, :a, :b) ON CONFLICT (file_id) DO UPDATE SET"
              " evaluated = MAX(evaluated, excluded.evaluated),"
              " first_ms = COALESCE(MIN(first_ms, excluded.first_ms), first_ms, excluded.first_ms),"
              " last_ms = COALESCE(MAX(last_ms, excluded.last_ms), last_ms, excluded.last_ms)",
    "mysql": "INSERT INTO alert_cursor (file_id, evaluated, first_ms, last_ms)"
             " VALUES (:f, :o, :a, :b) ON DUPLICATE KEY UPDATE"
             " evaluated = GREATEST(evaluated, VALUES(evaluated)),"
             " first_ms = COALESCE(LEAST(first_ms, VALUES(first_ms)), first_ms, VALUES(first_ms)),"
             " last_ms = COALESCE(GREATEST(last_ms, VALUES(last_ms)), last_ms, VALUES(last_ms))",
}


def pending_files(conn) -> list[tuple[int, int, int]]:
    """Returns (file_id, committed offset, evaluated offset) of the files with events not
    yet judged, by file id."""
    return [(int(f), int(c), int(e)) for f, c, e in conn.execute(_PENDING_FILES)]


def move_cursor(conn, file_id: int, offset: int, first_ms: int | None = None,
                last_ms: int | None = None) -> None:
    """Moves a file's cursor to ``offset``, widening its judged times to first..last."""
    conn.execute(sa.text(_CURSOR_UPSERT[db.dialect(conn)]),
                 {"f": file_id, "o": offset, "a": first_ms, "b": last_ms})


def judged_files(conn, lo_ms: int, hi_ms: int) -> list[tuple[int, int, int, int]]:
    """Returns (file_id, judged up to offset, first ms, last ms) of the files whose judged
    events' times meet [lo_ms, hi_ms]."""
    return [(int(f), int(o), int(a), int(b)) for f, o, a, b in conn.execute(sa.text(
        "SELECT file_id, evaluated, first_ms, last_ms FROM alert_cursor"
        " WHERE first_ms <= :hi AND last_ms >= :lo"), {"lo": lo_ms, "hi": hi_ms})]


def iso(ts) -> str:
    """Returns a stored time as the API writes it: 'YYYY-MM-DDTHH:MM:SS.mmm'."""
    return logged_time(ts)
