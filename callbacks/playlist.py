"""A wall screen's playlist: ?kiosk=1&cycle=overview,security&every=60 rotates the views.

Driven by the page alone (two clientside callbacks and an Interval; no server state), so it
keeps turning through a database outage, and each view keeps its own range (the wall's
rolling last 30 days). A path only changes the section shown (callbacks/pages.py). The views
(overview, security, audit, users) and the period (at least 2 s; 60 s when not given) are
read in assets/playlist.js.
"""
from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State

from components import ids


def register(app, context) -> None:
    # The query string sets the Interval: its period, and whether it runs at all.
    app.clientside_callback(ClientsideFunction("playlist", "setup"),
                            Output(ids.PLAYLIST, "interval"), Output(ids.PLAYLIST, "disabled"),
                            Input(ids.URL, "search"))
    # Each tick: the next view's path (the query string stays, so the cycle goes on).
    app.clientside_callback(ClientsideFunction("playlist", "next"),
                            Output(ids.URL, "pathname", allow_duplicate=True),
                            Input(ids.PLAYLIST, "n_intervals"),
                            State(ids.URL, "search"), State(ids.URL, "pathname"),
                            prevent_initial_call=True)
