"""The node panel: each SFTPGo node's activity in the range and its ingestion health, and a
warning naming the nodes that have not ingested for 3 intervals (rows: dashboard/nodes.py).

New and self-contained (not yet placed in the overview's layout): a callback or page puts
``nodes_panel(dashboard.nodes.node_rows(...))`` where it wants it.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from .common import panel

NODES_PANEL = "nodes-panel"


def _bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return str(n)


def stale_warning(rows: list[dict]) -> dbc.Alert | None:
    """Returns a warning naming the stale nodes, or None when every node ingests."""
    stale = [r["node"] for r in rows if r["stale"]]
    if not stale:
        return None
    return dbc.Alert(f"No ingestion for 3 refresh intervals on: {', '.join(stale)}. Its "
                     "figures stop at its last pass; check its ingest.py --follow.",
                     color="warning", className="nodes-stale", id="nodes-stale")


def nodes_table(rows: list[dict]) -> dbc.Table:
    """Returns the table: one row per node (names are text, never markup)."""
    head = html.Thead(html.Tr([html.Th(h) for h in (
        "node", "events", "transfers", "bytes moved", "files", "pending", "lost",
        "last pass", "last error")]))
    body = html.Tbody([
        html.Tr([html.Td(r["node"]), html.Td(f"{r['events']:,}"),
                 html.Td(f"{r['transfers']:,}"), html.Td(_bytes(r["bytes"])),
                 html.Td(f"{r['files']:,}"), html.Td(_bytes(r["bytes_pending"])),
                 html.Td(_bytes(r["bytes_lost"])), html.Td(r["last_pass_at"] or "never"),
                 html.Td((r["last_error"] or "")[:200])],
                className="node-stale" if r["stale"] else None)
        for r in rows])
    return dbc.Table([head, body], size="sm", striped=True, className="nodes-table")


def nodes_panel(rows: list[dict]) -> dbc.Card:
    """Returns the panel: the stale warning (if any) above the table."""
    warning = stale_warning(rows)
    body = ([warning] if warning is not None else []) + [nodes_table(rows)]
    return panel("Nodes", html.Div(body, id=NODES_PANEL), class_name="nodes-panel")
