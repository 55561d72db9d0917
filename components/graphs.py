"""The four graphs, each in its own panel."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from . import ids
from .pieces import GRAPH_CONFIG, panel, scale_control


def _graph(graph_id: str) -> dcc.Graph:
    # responsive: redraws when its box changes size (the kiosk's panels share the screen's
    # height). Its box height comes from the CSS variable, set per mode in assets/.
    return dcc.Graph(id=graph_id, config=GRAPH_CONFIG, responsive=True, className="graph",
                     style={"height": "var(--graph-height)"})


def graphs_grid() -> html.Div:
    """Returns the 2 x 2 grid: transfers, bytes, average per transfer (each with its y
    scale: auto, linear, log), activities over time (in the bucket the range calls for)."""
    def per_user(title: str, graph_id: str, scale_id: str):
        return panel(title, _graph(graph_id), tools=scale_control(scale_id))
    return html.Div([
        dbc.Row([dbc.Col(per_user("User transfers", ids.GRAPH_TRANSFERS,
                                  ids.GRAPH_TRANSFERS_SCALE), lg=6),
                 dbc.Col(per_user("User total bytes transferred", ids.GRAPH_BYTES,
                                  ids.GRAPH_BYTES_SCALE), lg=6)],
                className="g-3"),
        dbc.Row([dbc.Col(per_user("User average bytes per transfer", ids.GRAPH_AVERAGE,
                                  ids.GRAPH_AVERAGE_SCALE), lg=6),
                 dbc.Col(panel("Activities by day", _graph(ids.GRAPH_DAYS),
                               title_id=ids.GRAPH_DAYS_TITLE,
                               tools=scale_control(ids.GRAPH_DAYS_SCALE)), lg=6)],
                className="g-3"),
    ], className="graphs")
