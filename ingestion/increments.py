"""How a batch counts into the rollups: the increments of each table (rollup_tables.py) for
the event rows of a node's files, in Python, one pass over the rows per family."""
from __future__ import annotations

import operator

from .folders import prefixes
from .rollup_tables import (BYTES_CAP, FINEST, NODE_KEY, SECURITY_ROLLUPS, SOURCES, TRANSFER_KINDS,
                            USER_KINDS)


def user_rows(events: list[tuple], node: str) -> dict[str, list[tuple]]:
    """Returns {table: increments} of the user rollups for event rows of ``node``'s files:
    user_ips_daily (username, day, ip, node, events) for the user kinds with a non-empty
    remote_ip, user_protocols_daily (username, day, protocol, node, transfers, bytes) for
    the transfers, '' for a missing protocol; counts and bytes saturate at BYTES_CAP."""
    ips: dict[tuple, int] = {}
    protocols: dict[tuple, list] = {}
    for row in events:   # row in EVENT_COLUMNS order
        kind = row[5]
        if kind not in USER_KINDS:
            continue
        ip = row[10]
        if ip:
            key = (row[6], row[4], ip, node)
            ips[key] = ips.get(key, 0) + 1
        if kind in TRANSFER_KINDS:
            key = (row[6], row[4], row[11] or "", node)
            cur = protocols.get(key)
            if cur is None:
                cur = protocols[key] = [0, 0]
            cur[0] += 1
            if row[7] is not None:
                cur[1] += row[7]
    out = {}
    if ips:
        out["user_ips_daily"] = [(*k, n) for k, n in ips.items()]
    if protocols:
        out["user_protocols_daily"] = [(*k, n, max(0, min(b, BYTES_CAP)))
                                       for k, (n, b) in protocols.items()]
    return out


def rollup_rows(events: list[tuple], node: str) -> list[tuple]:
    """Returns daily_stats increments (day, kind, username, node, events, bytes, failed) for
    rows of ``node``'s files.

    bytes saturates at BYTES_CAP, as the stored cells do.
    """
    return _daily_rows(_daily_cells(events, node))


def _daily_cells(events: list[tuple], node: str) -> dict[tuple, list]:
    """Returns {(day, kind, username, node): [events, bytes, failed, newest ts]} of rows of
    ``node``'s files (bytes not yet saturated)."""
    acc: dict[tuple, list] = {}
    for row in events:   # row in EVENT_COLUMNS order
        kind = row[5]
        key = (row[4], kind, "" if kind == "login_failed" else row[6], node)
        cur = acc.get(key)
        if cur is None:
            cur = acc[key] = [0, 0, 0, row[3]]
        cur[0] += 1
        if row[7] is not None:
            cur[1] += row[7]
        cur[2] += row[8]
        if row[3] > cur[3]:
            cur[3] = row[3]
    return acc


def _daily_rows(cells: dict[tuple, list]) -> list[tuple]:
    return [(*k, n, b if b <= BYTES_CAP else BYTES_CAP, f) for k, (n, b, f, _ts) in cells.items()]


def totals_rows(cells: dict[tuple, list]) -> list[tuple]:
    """Returns stats_totals increments (TOTALS_COLUMNS) from a batch's daily cells: their
    sums over the days (bytes saturating at BYTES_CAP) and their newest time."""
    acc: dict[tuple, list] = {}
    for (_day, kind, username, node), (n, b, f, ts) in cells.items():
        cur = acc.get((kind, username, node))
        if cur is None:
            acc[(kind, username, node)] = [n, b, f, ts]
            continue
        cur[0] += n
        cur[1] += b
        cur[2] += f
        if ts > cur[3]:
            cur[3] = ts
    return [(*k, n, min(b, BYTES_CAP), f, ts) for k, (n, b, f, ts) in acc.items()]


def _finest_cells(events: list[tuple]) -> dict[str, dict[tuple, list]]:
    """Returns, per kind of FINEST, its cells {finest key: [events, first_ts, last_ts]}."""
    getters = {kind: operator.itemgetter(*(i for _n, i, _s in key))
               for kind, key in FINEST.items()}
    cells: dict[str, dict[tuple, list]] = {kind: {} for kind in FINEST}
    for row in events:   # row in EVENT_COLUMNS order
        get = getters.get(row[5])
        if get is None:
            continue
        acc = cells[row[5]]
        key = get(row)
        cur = acc.get(key)
        ts = row[3]
        if cur is None:
            acc[key] = [1, ts, ts]
        else:
            cur[0] += 1
            if ts < cur[1]:
                cur[1] = ts
            if ts > cur[2]:
                cur[2] = ts
    return cells


def security_rows(events: list[tuple], node: str) -> dict[str, list[tuple]]:
    """Returns {table: increments} of every security rollup with cells in these events, all
    of ``node``'s files (the batch's node, NODE_KEY of every key).

    Each increment is a row in Rollup.columns order; '' stands for a missing key value;
    counts saturate at BYTES_CAP.
    """
    cells = _finest_cells(events)
    out = {}
    for r in SECURITY_ROLLUPS:
        finest = cells[r.kind]
        if not finest:
            continue
        names = [n for n, _i, _s in FINEST[r.kind]]
        # None picks the batch's node
        pick = [None if k == NODE_KEY[0] else names.index(k) for k in r.key]
        day = names.index("day")
        acc: dict[tuple, list] = {}
        for fkey, (n, first, last) in finest.items():
            key = tuple(node if i is None else "" if fkey[i] is None else fkey[i]
                        for i in pick)
            vals = {"events": n, "first_ts": first, "last_ts": last,
                    "first_day": fkey[day], "last_day": fkey[day]}
            cur = acc.get(key)
            if cur is None:
                acc[key] = [vals[v] for v in r.values]
                continue
            for j, v in enumerate(r.values):
                how = SOURCES[v][0]
                if how == "sum":
                    cur[j] += vals[v]
                elif how == "min" and vals[v] < cur[j]:
                    cur[j] = vals[v]
                elif how == "max" and vals[v] > cur[j]:
                    cur[j] = vals[v]
        out[r.table] = [(*k, *(min(x, BYTES_CAP) if SOURCES[v][0] == "sum" else x
                               for x, v in zip(vals, r.values)))
                        for k, vals in acc.items()]
    return out


def insight_rows(events: list[tuple], node: str) -> dict[str, list[tuple]]:
    """Returns {table: increments} of the INSIGHT_ROLLUPS for event rows of ``node``'s files
    (Rollup.columns order; sums saturate at BYTES_CAP). A transfer costs a dict update by
    its folder (folders.folder_key); the depths are expanded once per folder of the batch."""
    by_folder: dict[tuple, list] = {}
    clients: dict[tuple, int] = {}
    hours: dict[str, int] = {}
    get_hour, get_folder = hours.get, by_folder.get
    for row in events:   # row in EVENT_COLUMNS order
        kind = row[5]
        if kind == "ban":
            continue
        hour = row[3][:13]
        hours[hour] = get_hour(hour, 0) + 1
        if kind == "upload" or kind == "download":
            path = row[12]
            if path is None:
                continue
            # folders.folder_key, inline: '/' if the path has one, else '\' (Windows)
            cut = path.rfind("/")
            if cut < 0:
                cut = path.rfind("\\")
            key = (row[4], row[6], path[:cut + 1])
            cur = get_folder(key)
            if cur is None:
                cur = by_folder[key] = [0, 0, 0, 0]
            if kind == "upload":
                cur[0] += 1
                cur[2] += row[7]
            else:
                cur[1] += 1
                cur[3] += row[7]
        elif kind == "login":
            key = (row[4], row[17] or "", -1 if row[18] is None else row[18], row[6], node)
            clients[key] = clients.get(key, 0) + 1
    out: dict[str, list[tuple]] = {}
    if by_folder:
        cells: dict[tuple, list] = {}
        get_cell = cells.get
        for (day, user, fkey), sums in by_folder.items():
            for depth, name in enumerate(prefixes(fkey), 1):
                cur = get_cell((depth, day, name, user))
                if cur is None:
                    cells[(depth, day, name, user)] = sums[:]
                else:
                    cur[0] += sums[0]
                    cur[1] += sums[1]
                    cur[2] += sums[2]
                    cur[3] += sums[3]
        cap = BYTES_CAP
        out["path_daily"] = [(depth, day, name, user, node, u, d,
                              bu if bu < cap else cap, bd if bd < cap else cap)
                             for (depth, day, name, user), (u, d, bu, bd) in cells.items()]
    if clients:
        out["login_clients_daily"] = [(*k, min(n, BYTES_CAP)) for k, n in clients.items()]
    if hours:
        out["events_hourly"] = [(h[:10], int(h[11:13]), node, n) for h, n in hours.items()]
    return out


def batch_increments(events: list[tuple], node: str) -> dict[str, list[tuple]]:
    """Returns {table: increments} of every rollup (daily_stats, stats_totals, the
    SECURITY_ROLLUPS, the USER_ROLLUPS, the INSIGHT_ROLLUPS) for event rows of ``node``'s
    files; a table without cells is left out."""
    out = {}
    if events:
        cells = _daily_cells(events, node)
        out = {"daily_stats": _daily_rows(cells), "stats_totals": totals_rows(cells)}
    return out | security_rows(events, node) | user_rows(events, node) \
        | insight_rows(events, node)
