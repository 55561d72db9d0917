"""The four graphs, each in its own panel."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from . import ids
from .common import panel

_CONFIG = {"displaylogo": False,
           "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}


def _graph(graph_id: str) -> dcc.Graph:
    # responsive: redraws when its box changes size (the kiosk's panels share the screen's
    # height). Its box height comes from the CSS variable, set per mode in assets/.
    return dcc.Graph(id=graph_id, config=_CONFIG, responsive=True, className="graph",
                     style={"height": "var(--graph-height)"})


def graphs_grid() -> html.Div:
    """Returns the 2 x 2 grid: transfers, bytes, average per transfer, activities by day."""
    log_switch = dbc.Switch(id=ids.GRAPH_TRANSFERS_LOG, label="log scale", value=False,
                            className="log-switch control")
    transfers = panel("User transfers", [log_switch, _graph(ids.GRAPH_TRANSFERS)])
    return html.Div([
        dbc.Row([dbc.Col(transfers, lg=6),
                 dbc.Col(panel("User total bytes transferred", _graph(ids.GRAPH_BYTES)), lg=6)],
                className="g-3"),
        dbc.Row([dbc.Col(panel("User average bytes per transfer", _graph(ids.GRAPH_AVERAGE)),
                         lg=6),
                 dbc.Col(panel("Activities by day", _graph(ids.GRAPH_DAYS),
                               title_id=ids.GRAPH_DAYS_TITLE), lg=6)],
                className="g-3"),
    ], className="graphs")
