"""The nodes: the overview's panel (each SFTPGo node's activity in the range and its ingestion
health; rows: dashboard/nodes.py), the node picker of the header, and the warning of the
shared frame naming the nodes that have not ingested for 3 intervals.

Node names, and the errors shown beside them, are text: Dash never renders them as markup.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.figures import count, human_bytes, visible
from dashboard.queries import STALE_INTERVALS

from . import ids
from .pieces import panel

NODES_PANEL = "nodes-panel"


def stale_text(rows: list[dict]) -> str | None:
    """Returns the warning naming the stale nodes of ``rows`` (the node panel's rows or
    /api/status' nodes: both have "node" and "stale"), or None when every node ingests."""
    stale = [visible(r["node"]) for r in rows if r["stale"]]
    if not stale:
        return None
    one = len(stale) == 1
    return (f"No ingestion for {STALE_INTERVALS} refresh intervals on "
            f"{'node' if one else 'nodes'} {', '.join(stale)}. "
            f"{'Its' if one else 'Their'} figures stop at {'its' if one else 'their'} last "
            f"pass: check {'its' if one else 'their'} ingest.py --follow.")


def stale_banner() -> dbc.Alert:
    """Returns the (closed) warning of the shared frame; the live tick fills and opens it."""
    return dbc.Alert(id=ids.NODES_STALE, color="warning", is_open=False, className="nodes-stale")


def node_control() -> html.Div:
    """Returns the node picker of the header, hidden until the database knows several nodes
    (callbacks/nodes.py: its options, and its value from and to the URL's node=)."""
    picker = dcc.Dropdown(id=ids.NODE_PICKER, options=[], value=[], multi=True,
                          placeholder="all nodes", className="node-picker")
    message = dbc.Alert(id=ids.NODE_MESSAGE, color="warning", is_open=False,
                        className="node-message")
    return html.Div([picker, message], id=ids.NODE_CONTROL, className="node-control control",
                    hidden=True)


def nodes_table(rows: list[dict]) -> dbc.Table:
    """Returns the table: one row per node (names are text, never markup)."""
    head = html.Thead(html.Tr([html.Th(h) for h in (
        "Node", "Events", "Transfers", "Bytes moved", "Files", "Pending", "Lost",
        "Last pass", "Last error")]))
    body = html.Tbody([
        html.Tr([html.Td([visible(r["node"])] + ([html.Span(" stale", className="node-stale-mark")]
                                                 if r["stale"] else []), className="node-name"),
                 html.Td(count(r["events"])), html.Td(count(r["transfers"])),
                 html.Td(human_bytes(r["bytes"])), html.Td(count(r["files"])),
                 html.Td(human_bytes(r["bytes_pending"])), html.Td(human_bytes(r["bytes_lost"])),
                 html.Td((r["last_pass_at"] or "never")[:19]),
                 html.Td(visible((r["last_error"] or "")[:200]))],
                className="node-stale" if r["stale"] else None)
        for r in rows])
    return dbc.Table([head, body], size="sm", hover=True, responsive=True,
                     className="table-dark nodes-table")


def nodes_panel(rows: list[dict]) -> dbc.Card:
    """Returns the panel (the shared frame's warning names the stale nodes; here their rows
    are marked)."""
    body = nodes_table(rows) if rows else html.P("No node has ingested anything yet.",
                                                 className="empty-note")
    return panel("Nodes", html.Div(body, id=NODES_PANEL), class_name="nodes-panel")
