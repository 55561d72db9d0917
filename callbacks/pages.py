"""Which page is shown: the URL's path -> one section visible, the others hidden."""
from __future__ import annotations

from datetime import date
from urllib.parse import quote, unquote

from dash import Input, Output, State, ctx, no_update

from components import ids
from components.nav import page_of

SECTIONS = (("overview", ids.PAGE_OVERVIEW), ("security", ids.PAGE_SECURITY),
            ("user", ids.PAGE_USER), ("audit", ids.PAGE_AUDIT))


USER_GRAPHS = (ids.GRAPH_TRANSFERS, ids.GRAPH_BYTES, ids.GRAPH_AVERAGE)


def hidden_sections(pathname: str | None) -> list[bool]:
    """Returns the ``hidden`` flag of each section, in SECTIONS order."""
    shown = page_of(pathname)
    return [name != shown for name, _ in SECTIONS]


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
    """Returns the first and last day of the bar clicked in "Activities by day": its day, or
    the range's days of its week or month (the bar's customdata, 'start → end'); else None."""
    if not click or not click.get("points"):
        return None
    point = click["points"][0]
    span = str(point.get("customdata") or point.get("x", ""))
    first, _, last = span.partition(" → ")
    try:
        return (date.fromisoformat(first[:10]).isoformat(),
                date.fromisoformat((last or first)[:10]).isoformat())
    except ValueError:
        return None


def register(app, context) -> None:
    @app.callback([Output(section_id, "hidden") for _, section_id in SECTIONS],
                  Input(ids.URL, "pathname"))
    def _show(pathname):
        return hidden_sections(pathname)

    @app.callback(Output(ids.URL, "pathname"),
                  Output(ids.RANGE_PICKER, "start_date", allow_duplicate=True),
                  Output(ids.RANGE_PICKER, "end_date", allow_duplicate=True),
                  Input(ids.USER_PICKER, "value"),
                  *[Input(graph_id, "clickData") for graph_id in USER_GRAPHS],
                  Input(ids.GRAPH_DAYS, "clickData"),
                  State(ids.URL, "pathname"), prevent_initial_call=True)
    def _navigate(picked, *rest):
        *clicks, day_click, pathname = rest
        trigger = ctx.triggered_id
        if trigger == ids.GRAPH_DAYS:                # a day (week, month): its audit trail
            days = days_of(day_click)
            return ("/audit", *days) if days else (no_update,) * 3
        click = clicks[USER_GRAPHS.index(trigger)] if trigger in USER_GRAPHS else None
        return navigate(trigger, picked, click, pathname), no_update, no_update
