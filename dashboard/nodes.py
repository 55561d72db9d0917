"""Each node's activity and health, for the overview's node panel (components/nodes.py).

One row per node: its events and bytes moved in the range (from daily_stats), and its
ingestion health (queries.status: files, bytes pending and lost, last pass, stale). Plain
data; the panel draws it.
"""
from __future__ import annotations

from datetime import date

import db

from .node_scope import node_params, scoped
from .queries import _connection, exact_sum, status

TRANSFERS = ("upload", "download")


def node_rows(engine, start: date, end: date, stale_after_s: float | None = None,
              nodes=None) -> list[dict]:
    """Returns one dict per node (of ``nodes``, None: all), sorted by name: node, events,
    transfers, bytes (moved in start..end), files, bytes_pending, bytes_lost, last_pass_at,
    last_error, stale."""
    bounds = {"start": start.isoformat(), "end": end.isoformat(), **node_params(nodes)}
    with _connection(engine) as conn:
        activity: dict[str, dict] = {}
        for node, kind, events, hi, lo in conn.execute(
                scoped("node_activity", db.dialect(conn), nodes), bounds):
            a = activity.setdefault(node, {"events": 0, "transfers": 0, "bytes": 0})
            a["events"] += int(events)
            if kind in TRANSFERS:
                a["transfers"] += int(events)
                a["bytes"] += exact_sum(hi, lo)
        st = status(conn, nodes, stale_after_s)
    health = {n["node"]: n for n in st["nodes"]}
    rows = []
    for name in sorted(set(activity) | set(health)):
        a = activity.get(name, {"events": 0, "transfers": 0, "bytes": 0})
        h = health.get(name, {})
        rows.append({"node": name, **a, "files": h.get("files_known", 0),
                     "bytes_pending": h.get("bytes_pending", 0),
                     "bytes_lost": h.get("bytes_lost", 0),
                     "last_pass_at": h.get("last_pass_at"), "last_error": h.get("last_error"),
                     "stale": bool(h.get("stale"))})
    return rows
