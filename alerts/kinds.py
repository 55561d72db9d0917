"""What each event rule kind counts: the sources and columns it reads (NEEDS,
NEEDS_COLUMNS), its judging over a group's frames (RULES: one function per kind, returning
what fired), and the numpy counting and the cooldown the counting kinds share.

For a group of new events [first, last], the candidates are the events of [first, last +
within) (a new event is in their window). Their counts come from numpy over the span's
events (read once per step and kind of source): each key's times sorted, a window's count
two binary searches. Only the candidates that reach `over` are looked at one by one, in
time order per key, against the alerts stored (and those just found): a candidate fires
unless an alert of its key is less than `within` from it, before or after. A candidate
whose window holds no new event is judged again harmlessly: it fired (the alert is
stored), it was within `within` of an alert (it still is), or it had not been judged (an
event of another file, not judged yet): then it is judged now, as the rule says.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

import db

from . import records
from .frames import COLUMNS, Frame, Group, fetch_rows
from .rules import Rule

NEEDS = {"login_failures": ("login_failed",), "ban": ("ban",),
         "login_after_failures": ("login_failed", "login"),
         "transfer_failures": ("upload", "download"), "bytes": ("upload", "download"),
         "new_ip": ("login",)}   # the kinds of event each rule reads
# the columns each rule reads of each source, besides the time
NEEDS_COLUMNS = {"login_failures": {"failures": {"ip"}},
                 "login_after_failures": {"failures": {"ip"}, "logins": {"ip", "user"}},
                 "transfer_failures": {"transfers": {"user", "failed"}},
                 "bytes": {"transfers": {"user", "kind", "size"}}}


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


# Times as milliseconds, computed by the database (the rare kinds' positions).
_MS = {"sqlite": "(CAST(strftime('%s', {c}) AS INTEGER) * 1000"
                 " + CAST(substr({c}, 21, 3) AS INTEGER))",
       "mysql": "((TO_SECONDS({c}) - 62167219200) * 1000 + MICROSECOND({c}) DIV 1000)"}

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


@dataclass
class Fired:
    """An alert a rule found: its key, time and count (and what its summary adds)."""
    rule: Rule
    key: dict
    at_ms: int
    count: int
    extra: dict | None = None


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


def _cooldown(rule: Rule, conn, group: Group, cands, key_of, extra=None) -> list[Fired]:
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


def _counting(rule: Rule, conn, group: Group, f: Frame, mask: np.ndarray, keys: list,
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
    return fetch_rows(conn, _POSITIONS[d],
                      (kind, records.from_ms(lo_ms), records.from_ms(hi_ms)))


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
