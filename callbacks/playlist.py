"""A wall screen's playlist: ?kiosk=1&cycle=overview,security,users,users/backups,audit&every=60
rotates the views (every page has a wall layout; users/<name> is one user's page).

Driven by the page alone (two clientside callbacks and an Interval; no server state), so it
keeps turning through a database outage, and each view keeps its own range (the wall's
rolling last 30 days, or the range in the query string, which goes along). Going to a view
is writing NAV_URL, which the pages' router follows. The views
(overview, security, audit, users, users/<name>) and the period (at least 2 s; 60 s when not
given) are read in assets/playlist.js.
"""
from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State

from components import ids

PAGES_STORE = "_pages_store"     # dash.page_container's store: {"title": the page's title}


def register(app, context) -> None:
    # The query string sets the Interval: its period, and whether it runs at all.
    app.clientside_callback(ClientsideFunction("playlist", "setup"),
                            Output(ids.PLAYLIST, "interval"), Output(ids.PLAYLIST, "disabled"),
                            Input(ids.URL, "search"))
    # Each tick: the next view's path (the query string stays, so the cycle goes on).
    app.clientside_callback(ClientsideFunction("playlist", "next"),
                            Output(ids.NAV_URL, "pathname", allow_duplicate=True),
                            Output(ids.NAV_URL, "search", allow_duplicate=True),
                            Input(ids.PLAYLIST, "n_intervals"),
                            State(ids.URL, "search"), State(ids.URL, "pathname"),
                            prevent_initial_call=True)
    # The browser tab's title: the page's, and the newest event's age when it is stale.
    app.clientside_callback(ClientsideFunction("title", "set"),
                            Output(ids.TITLE_SINK, "children"),
                            Input(ids.LIVE_STALE, "data"), Input(PAGES_STORE, "data"))
