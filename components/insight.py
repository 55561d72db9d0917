"""The insight panels (docs/insight.md): the overview's folders (with their depth) and
weekday x hour heatmap, the users page's client families. Layout builders only; filled by
callbacks/insight.py."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from ingestion.folders import DEPTHS

from . import ids
from .pieces import page_graph, panel

DEFAULT_DEPTH = 2


def depth_control(control_id: str = ids.INSIGHT_DEPTH) -> dbc.RadioItems:
    """Returns the folder depth: 1 to 8 components of the path, as a row of buttons."""
    return dbc.RadioItems(
        id=control_id, value=DEFAULT_DEPTH, className="btn-group scale-control depth-control",
        inputClassName="btn-check", labelClassName="btn btn-outline-secondary btn-sm",
        labelCheckedClassName="active",
        options=[{"label": str(d), "value": d} for d in range(1, DEPTHS + 1)])


def insight_row() -> html.Div:
    """Returns the overview's row under the graphs: the folders that moved the most bytes
    (depth to choose) and the events per weekday and hour. Interactive pages only: the wall
    keeps its four graphs (a fifth panel does not fit a 720p wall whole)."""
    folders = panel("Folders", html.Div(id=ids.INSIGHT_FOLDERS,
                                        className="scroll-table fit-table"),
                    title_id=ids.INSIGHT_FOLDERS_TITLE,
                    tools=html.Div([html.Span("depth", className="depth-label"),
                                    depth_control()], className="depth-tools"))
    hours = panel("When: events per weekday and hour", page_graph(ids.INSIGHT_HOURS))
    return html.Div(dbc.Row([dbc.Col(folders, lg=7), dbc.Col(hours, lg=5)], className="g-3"),
                    className="insight-row control")


def clients_panel() -> dbc.Card:
    """Returns the users page's panel of client families, with the plain-text logins' line."""
    return panel("Clients", [html.Div(id=ids.USERS_PLAINTEXT),
                             html.Div(id=ids.USERS_CLIENTS, className="scroll-table fit-table")])
