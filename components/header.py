"""The title bar: the name, the range in words, the page links, the node picker, and the
freshness line."""
from __future__ import annotations

from dash import dcc, html

from . import ids
from .nav import nav
from .nodes import node_control


def header() -> html.Header:
    """Returns the page header: the name and the range in words, the page links, the count
    of firing alerts (a link to /alerts), the node picker (shown when there are several
    nodes) and the freshness line (the range title, the count, the picker and the freshness
    are filled by callbacks)."""
    return html.Header([
        html.Div([html.H1("SFTPGo activity", className="title"),
                  html.Div(id=ids.RANGE_TITLE, className="range-title")], className="brand"),
        nav(),
        dcc.Link(id=ids.ALERTS_COUNT, href="/alerts", className="alerts-count"),
        node_control(),
        html.Div(id=ids.LIVE_FRESHNESS, className="freshness"),
    ], className="page-header")
