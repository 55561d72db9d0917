"""The title bar: the name, the range in words, the node picker, and the freshness line."""
from __future__ import annotations

from dash import dcc, html

from . import ids
from .nodes import node_control


def header() -> html.Header:
    """Returns the page header; the range title, the node picker (shown when there are
    several nodes), the count of firing alerts (a link to /alerts) and the freshness line
    are filled by callbacks."""
    return html.Header([
        html.Div([html.H1("SFTPGo activity", className="title"),
                  html.Div(id=ids.RANGE_TITLE, className="range-title")], className="brand"),
        node_control(),
        html.Div([dcc.Link(id=ids.ALERTS_COUNT, href="/alerts", className="alerts-count"),
                  html.Div(id=ids.LIVE_FRESHNESS, className="freshness")],
                 className="header-right"),
    ], className="page-header")
