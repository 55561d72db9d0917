"""An independent reference of the contract's firing rules (docs/alerts.md, "When an alert
fires"), written from its text as simply as possible: sort, then scan, counting each window
anew. Times are milliseconds; nothing here is shared with alerts/.

Contract: for one rule and one key, take the matching events in time order. The rule fires at
the first event e where the matching events in (e.time - within, e.time] reach `over` (for
ban and new_ip: at each matching event). After it fires at F, it cannot fire again for that
key before F + within; the next firing is the first such event at or after F + within.
Late events (arrival after alerts were stored) may add alerts in the past but never change or
duplicate a stored one: here, a new firing is only taken at least `within` away from every
alert stored before (the stored ones stay as they are).
"""
from __future__ import annotations

from collections import defaultdict


def counting(events, over, within, stored=None):
    """events: [(key, t, weight)]; returns {key: sorted firing times}. ``stored``: {key:
    [times]} stored before these events arrived (None: nothing stored, the plain rule)."""
    by_key = defaultdict(list)
    for key, t, w in events:
        by_key[key].append((t, w))
    out = {}
    for key, evs in by_key.items():
        evs.sort()
        fired = sorted((stored or {}).get(key, []))
        for t, _w in evs:
            if any(abs(t - f) < within for f in fired):
                continue
            if sum(w for u, w in evs if t - within < u <= t) >= over:
                fired.append(t)
                fired.sort()
        if fired:
            out[key] = fired
    return out


def plain_counting(events, over, within):
    """The contract's words for events that all arrive at once: the first event where the
    window reaches over, then nothing before F + within, then the next such event."""
    by_key = defaultdict(list)
    for key, t, w in events:
        by_key[key].append((t, w))
    out = {}
    for key, evs in by_key.items():
        evs.sort()
        fired = []
        for t, _w in evs:
            if fired and t < fired[-1] + within:
                continue
            if sum(w for u, w in evs if t - within < u <= t) >= over:
                if not fired or fired[-1] != t:
                    fired.append(t)
        if fired:
            out[key] = fired
    return out


def after_failures(logins, failures, over, within, stored=None):
    """logins: [(ip, username, t)], failures: [(ip, t)]; key (ip, username)."""
    fails = defaultdict(list)
    for ip, t in failures:
        fails[ip].append(t)
    events = defaultdict(list)
    for ip, user, t in logins:
        events[(ip, user)].append(t)
    out = {}
    for key, times in events.items():
        fired = sorted((stored or {}).get(key, []))
        for t in sorted(times):
            if any(abs(t - f) < within for f in fired):
                continue
            if sum(1 for u in fails[key[0]] if t - within < u <= t) >= over:
                fired.append(t)
                fired.sort()
        if fired:
            out[key] = fired
    return out


def each(events):
    """ban: [(ip, t)] -> {(ip,): sorted distinct times}."""
    out = defaultdict(set)
    for ip, t in events:
        out[(ip,)].add(t)
    return {k: sorted(v) for k, v in out.items()}


def new_ip(logins, min_days, stored=None):
    """logins: [(user, ip, t)]; a login from an IP never seen in the user's earlier logins,
    the user's first login at least min_days before it; a (user, ip) alerted once at most."""
    first = {}
    for user, _ip, t in logins:
        first[user] = min(first.get(user, t), t)
    out = dict(stored or {})
    seen = defaultdict(set)
    for user, ip, t in sorted(logins, key=lambda x: x[2]):
        if ip not in seen[user] and (user, ip) not in out and t - first[user] >= min_days * 86400000 \
                and t > first[user]:
            out[(user, ip)] = [t]
        seen[user].add(ip)
    return out
