"""The nodes on the page: the header's picker (the URL's ``node=``, both ways), its message
for a value that cannot be or names no node, and the overview's node panel.

The filter itself travels in RANGE_STORE (callbacks/date_range.py reads it from the URL with
the range), so every page's figures follow it; the stale warning is the live tick's.
"""
from __future__ import annotations

from datetime import date

from dash import Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.nodes import nodes_panel
from dashboard import figures, params, queries
from dashboard.nodes import node_rows

from . import url
from .audit import new_search
from .keeping import KEEP_ON, kept
from .graphs import nodes_of, range_of

PICKER_KEYS = ("value", "options", "hidden", "message", "message_open")


def picker(search: str | None, health: list[dict] | None) -> dict:
    """Returns the picker's outputs for the query string and the nodes the last tick saw
    (``health``: LIVE_NODES, None before the first tick). It is shown when there are several
    nodes, or when the URL filters on one; its value is the URL's node= as written."""
    known = [n["node"] for n in health or []]
    asked = url.node_values(search)
    message = None
    try:
        nodes = url.nodes_of(search)
    except params.BadParameter as exc:
        message = f"The address asks for a node that cannot be: {exc}. Showing every node."
    else:
        unknown = [n for n in nodes or () if n not in known]
        if unknown and health is not None:
            message = (f"No node called {', '.join(unknown)} has ingested anything here: "
                       "its figures are empty.")
    options = [{"label": figures.visible(n), "value": n} for n in dict.fromkeys(known + asked)]
    return {"value": asked, "options": options, "hidden": len(known) <= 1 and not asked,
            "message": message, "message_open": message is not None}


def panel(context, store: dict | None, health: list[dict] | None,
          today: date | None = None):
    """Returns the overview's node panel for the range store (its range and node filter),
    or None while the database knows one node or none (the headline says it all then)."""
    start, end = range_of(store)
    if health is None or len(health) <= 1:
        return None
    try:
        first, last = params.parse_range(start[:10], end[:10], today or date.today(),
                                          context.default_start())
        rows = node_rows(context.engine(), first, last,
                         queries.STALE_INTERVALS * context.settings.interval_s, nodes_of(store))
    except KEEP_ON as exc:
        return kept(("panel",), "Node panel", exc)["panel"]
    return nodes_panel(rows)


def register(app, context) -> None:
    # value and options in one answer (the dropdown drops a value that is not among its
    # options); a tick (new node health) never sets the value, so it never undoes a pick
    @app.callback(Output(ids.NODE_PICKER, "value"), Output(ids.NODE_PICKER, "options"),
                  Output(ids.NODE_CONTROL, "hidden"), Output(ids.NODE_MESSAGE, "children"),
                  Output(ids.NODE_MESSAGE, "is_open"),
                  Input(ids.URL, "search"), Input(ids.LIVE_NODES, "data"),
                  State(ids.NODE_PICKER, "value"), State(ids.NODE_PICKER, "options"),
                  State(ids.NODE_CONTROL, "hidden"), State(ids.NODE_MESSAGE, "children"),
                  State(ids.NODE_MESSAGE, "is_open"))
    def _picker(search, health, *shown):
        out = picker(search, health)
        now = [out[k] for k in PICKER_KEYS]
        if ctx.triggered_id == ids.LIVE_NODES:
            now[0] = shown[0]
        if now == list(shown):
            raise PreventUpdate
        return [no_update if ctx.triggered_id == ids.LIVE_NODES else now[0], *now[1:]]

    # a pick writes the URL (the range callback then moves RANGE_STORE); the picker set from
    # the URL says what the URL says, so that writes nothing
    @app.callback(Output(ids.URL, "search", allow_duplicate=True),
                  Input(ids.NODE_PICKER, "value"), State(ids.URL, "search"),
                  prevent_initial_call=True)
    def _picked(value, search):
        return new_search(search, {url.NODE_KEY: list(value or [])})

    app.clientside_callback("function (range, version, nodes) {"
                            " return {range: range, version: version, nodes: nodes}; }",
                            Output(ids.OVERVIEW_NODES_IN, "data"), Input(ids.RANGE_STORE, "data"),
                            Input(ids.LIVE_VERSION, "data"), Input(ids.LIVE_NODES, "data"))

    @app.callback(Output(ids.OVERVIEW_NODES, "children"), Input(ids.OVERVIEW_NODES_IN, "data"))
    def _panel(shell):
        shell = shell or {}
        out = panel(context, shell.get("range"), shell.get("nodes"))
        if out is no_update:
            raise PreventUpdate
        return out
