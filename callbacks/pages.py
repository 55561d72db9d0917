"""Between the pages: the links carry the range and the wall's parameters; a pick or a
click on a user's bar opens the user's page; a click on a day (week, month) its audit trail.

Dash Pages shows the page the path names (pages/); going to a page is writing NAV_URL's
path and query string, which the pages' router follows.
"""
from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote, unquote

from dash import Input, Output, State, ctx, no_update

from components import ids
from components.nav import PAGES, page_of

from . import url

USER_GRAPHS = (ids.GRAPH_TRANSFERS, ids.GRAPH_BYTES, ids.GRAPH_AVERAGE)


def nav_links(pathname: str | None, search: str | None) -> tuple[list[str], list[bool]]:
    """Returns each link's href (its path with the shared query) and whether it is shown."""
    shared = url.shared_search(search)
    shown = page_of(pathname)
    return ([path + shared for _id, path, _text, _page in PAGES],
            [page == shown for _id, _path, _text, page in PAGES])


def user_path(name: str) -> str:
    """Returns the path of a user's page (the name percent-encoded, '/' included)."""
    return "/users/" + quote(name, safe="")


def navigate(trigger: str | None, picked: str | None, click: dict | None, pathname: str | None):
    """Returns the path to go to after a pick or a click on a user's bar, or no_update."""
    if trigger == ids.USER_PICKER and picked is not None:
        target = user_path(picked)
    elif trigger in USER_GRAPHS and click and click.get("points"):
        data = click["points"][0].get("customdata") or []
        quoted = data[2] if len(data) > 2 else None
        if not isinstance(quoted, str) or not quoted:      # the "others" bar is nobody's
            return no_update
        target = "/users/" + quote(unquote(quoted), safe="")  # only ever a path segment
    else:
        return no_update
    return target if target != pathname else no_update


def days_of(click: dict | None) -> tuple[str, str] | None:
    """Returns the first and last day (or minute) of the bar clicked in the activities graph:
    its day, the range's days of its week or month, or the minutes of its hour (the bar's
    first customdata, 'start → end': days, or minutes 'YYYY-MM-DD HH:MM'); else None."""
    if not click or not click.get("points"):
        return None
    point = click["points"][0]
    data = point.get("customdata")
    if isinstance(data, (list, tuple)):
        data = data[0] if data else None
    covers = str(data or point.get("x", ""))
    first, _, last = covers.partition(" → ")
    last = last or first
    try:
        if data and len(first) >= 16 and len(last) >= 16:   # minutes: their audit trail
            return tuple(datetime.fromisoformat(m[:16].replace(" ", "T"))
                         .isoformat(timespec="minutes") for m in (first, last))
        return (date.fromisoformat(first[:10]).isoformat(),
                date.fromisoformat(last[:10]).isoformat())
    except ValueError:
        return None


def audit_of_days(days: tuple[str, str], search: str | None) -> tuple[str, str]:
    """Returns (path, query) of the audit trail of ``days``: that fixed range, the wall's
    parameters kept."""
    return "/audit", url.with_params(url.shared_search(search),
                                     url.range_changes({"start": days[0], "end": days[1]}))


def register(app, context) -> None:
    @app.callback([Output(link_id, "href") for link_id, *_rest in PAGES],
                  [Output(link_id, "active") for link_id, *_rest in PAGES],
                  Input(ids.URL, "pathname"), Input(ids.URL, "search"))
    def _links(pathname, search):
        hrefs, shown = nav_links(pathname, search)
        return *hrefs, *shown

    @app.callback(Output(ids.NAV_URL, "pathname"), Output(ids.NAV_URL, "search"),
                  Input(ids.USER_PICKER, "value"),
                  State(ids.URL, "pathname"), State(ids.URL, "search"),
                  prevent_initial_call=True)
    def _pick(picked, pathname, search):
        target = navigate(ids.USER_PICKER, picked, None, pathname)
        return (no_update, no_update) if target is no_update else \
            (target, url.shared_search(search))

    @app.callback(Output(ids.NAV_URL, "pathname", allow_duplicate=True),
                  Output(ids.NAV_URL, "search", allow_duplicate=True),
                  *[Input(graph_id, "clickData") for graph_id in USER_GRAPHS],
                  Input(ids.GRAPH_DAYS, "clickData"),
                  State(ids.URL, "pathname"), State(ids.URL, "search"),
                  prevent_initial_call=True)
    def _click(*args):
        *clicks, day_click, pathname, search = args
        trigger = ctx.triggered_id
        if trigger == ids.GRAPH_DAYS:                # a day (week, month): its audit trail
            days = days_of(day_click)
            return audit_of_days(days, search) if days else (no_update, no_update)
        click = clicks[USER_GRAPHS.index(trigger)] if trigger in USER_GRAPHS else None
        target = navigate(trigger, None, click, pathname)
        return (no_update, no_update) if target is no_update else \
            (target, url.shared_search(search))
