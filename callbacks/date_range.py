"""The date range: the URL's range, the presets, the calendar, and a clock that moves on.

One callback owns the range. It reads the query string when the page opens (or the address
changes), turns a preset or a pick into a spec and writes it to the query string, and
re-resolves the spec when the day (or, for hours=, the hour) changes, so ``days=30`` on a
wall left open for a week still shows the last 30 days. Logs that ended more than
STALE_DAYS ago get a default range of their last 30 days, saying so. Every page reads the
resolved range from RANGE_STORE, and the URL's node filter with it (``nodes``: a list, or
None for every node; callbacks/nodes.py owns the node picker and its message).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from dash import Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from components import ids
from dashboard import params, queries, span as spans
from dashboard.context import DB_FAULTS

from . import url
from .mode import kiosk_requested

PRESETS = (ids.RANGE_PRESET_TODAY, ids.RANGE_PRESET_YESTERDAY, ids.RANGE_PRESET_24H,
           ids.RANGE_PRESET_7, ids.RANGE_PRESET_30, ids.RANGE_PRESET_YEAR, ids.RANGE_PRESET_ALL)
KEYS = ("store", "start", "end", "search", "message", "message_open", "title", "note")
STALE_DAYS = url.KIOSK_DAYS      # no event in this many days: the default is the last ones


def preset_spec(preset: str, today: date, first: date) -> dict:
    """Returns the spec of a preset button (``first`` = the first day with data): today,
    yesterday, the last 24 hours and the last 7 or 30 days roll; this year and everything
    run to today, whatever day that is."""
    rolling = {ids.RANGE_PRESET_TODAY: {"days": "1"},
               ids.RANGE_PRESET_YESTERDAY: {"days": "1", "ago": "1"},
               ids.RANGE_PRESET_24H: {"hours": "24"},
               ids.RANGE_PRESET_7: {"days": "7"}, ids.RANGE_PRESET_30: {"days": "30"}}
    if preset in rolling:
        return dict(rolling[preset])
    if preset == ids.RANGE_PRESET_YEAR:
        return {"start": date(today.year, 1, 1).isoformat()}
    return {"start": min(first, today).isoformat()}


def default_start(context, today: date) -> tuple[date, str | None]:
    """Returns the first day of the default range, the later of DASHBOARD_DEFAULT_START and
    the first day with data, and the note that says which (None when the database is down)."""
    configured = context.default_start()
    try:
        first = queries.first_day(context.engine())
    except DB_FAULTS:
        return min(configured, today), None
    if first is not None and first > configured:
        day = min(first, today)
        return day, f"from {day.isoformat()}, the first day with data"
    day = min(configured, today)
    return day, f"from {day.isoformat()} (DASHBOARD_DEFAULT_START)"


def stale_range(context, today: date) -> tuple[date, date] | None:
    """Returns the last STALE_DAYS days that have data when the logs ended longer ago than
    that (nothing to show in the last days), else None (None too when the database is down)."""
    try:
        engine = context.engine()
        last = queries.last_day(engine)
        if last is None or last > today - timedelta(days=STALE_DAYS):
            return None
        first = queries.first_day(engine) or last
    except DB_FAULTS:
        return None
    return max(first, last - timedelta(days=STALE_DAYS - 1)), last


def default_range(context, today: date, kiosk: bool) -> tuple[spans.Span, str | None, str | None]:
    """Returns the default range (the wall's: the last 30 days), its title's words and the
    note that says where it comes from."""
    stale = stale_range(context, today)
    if stale is not None:
        return (spans.whole(*stale), f"Last {STALE_DAYS} days with data",
                f"showing the last {STALE_DAYS} days with data, up to {stale[1].isoformat()}")
    if kiosk:
        return (spans.whole(today - timedelta(days=url.KIOSK_DAYS - 1), today),
                f"Last {url.KIOSK_DAYS} days", None)
    start, note = default_start(context, today)
    return spans.whole(start, today), None, note


def _days(start: date, end: date) -> str:
    return f"{start.isoformat()} → {end.isoformat()}"


def range_title(s: spans.Span, spec: dict, words: str | None = None) -> str:
    """Returns the range in words: 'Today · 2024-09-18', 'Last 24 hours · Sep 17 15:00 → now',
    'Last 30 days · 2024-08-20 → 2024-09-18', '2022-01-01 → 2024-09-30 (1,004 days)'."""
    if words:
        return f"{words} · {_days(s.start, s.end)}"
    if "hours" in spec:
        hours = spans.plural(int(spec["hours"]), "hour")
        return f"Last {hours} · {spans.short_moment(s.first)} → now"
    if "days" in spec:
        ago = int(spec.get("ago") or 0)
        if s.days == 1 and ago in (0, 1):
            return f"{'Today' if ago == 0 else 'Yesterday'} · {s.start.isoformat()}"
        if ago == 0:
            return f"Last {spans.plural(s.days, 'day')} · {_days(s.start, s.end)}"
        return f"{_days(s.start, s.end)} ({spans.plural(s.days, 'day')} ending " \
               f"{spans.plural(ago, 'day')} ago)"
    if s.window:
        last = s.last - spans.ONE_MS
        same = s.first.date() == last.date()
        return f"{spans.short_moment(s.first)} → {spans.short_moment(last, not same)}"
    return f"{_days(s.start, s.end)} ({spans.plural(s.days, 'day')})"


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def store_nodes(search: str | None) -> list[str] | None:
    """Returns the node filter of the query string for RANGE_STORE: a list, or None for every
    node (no node=, or a value that cannot name a node: callbacks/nodes.py says so)."""
    try:
        nodes = url.nodes_of(search)
    except params.BadParameter:
        return None
    return None if nodes is None else list(nodes)


def _shown(context, spec: dict, today: date, search: str | None, write: bool,
           nodes: list | None = None, kiosk: bool = False, now: datetime | None = None) -> dict:
    """Returns the outputs that show ``spec`` (raises RangeError for a spec that cannot be)."""
    note = words = None
    if not spec:
        s, words, note = default_range(context, today, kiosk)
    elif any(spec.get(k) for k in ("start", "days", "hours")):
        s = url.resolve(spec, today, context.default_start(), now)
    else:                                        # end= alone: from the default start
        start, note = default_start(context, today)
        s = url.resolve(spec, today, start, now)
    return {"store": {"spec": spec, **s.store(), "nodes": nodes, "kiosk": kiosk},
            "start": s.start.isoformat(), "end": s.end.isoformat(),
            "search": url.with_params(search, url.range_changes(spec)) if write else no_update,
            "message": None, "message_open": False, "title": range_title(s, spec, words),
            "note": note}


def _refused(message: str) -> dict:
    out = dict.fromkeys(KEYS, no_update)
    out.update(message=message, message_open=True)
    return out


def control_range(context, trigger: str | None, search: str | None, picked: tuple,
                  today_store: dict | None, store: dict | None,
                  now: datetime | None = None) -> dict:
    """Returns the outputs for what triggered the callback (see ``register``)."""
    today = date.fromisoformat(today_store["today"]) if today_store else date.today()
    write = True
    nodes = store_nodes(search)
    kiosk = kiosk_requested(search, context.kiosk)
    if trigger in PRESETS:
        first = context.default_start()
        if trigger == ids.RANGE_PRESET_ALL:
            try:
                first = queries.first_day(context.engine()) or first
            except DB_FAULTS:
                raise PreventUpdate from None   # the banner already says why
        spec = preset_spec(trigger, today, first)
    elif trigger == ids.RANGE_PICKER:
        start, end = (_date(v) for v in picked)
        if start is None or end is None:
            raise PreventUpdate                 # half a range: wait for the other date
        if start > end:
            return _refused(f"start {start.isoformat()} is after end {end.isoformat()}: "
                            "pick a start on or before the end")
        spec = url.picked_spec(start, end, today)
    elif trigger in (ids.LIVE_TODAY, ids.LIVE_VERSION):
        # a new day (a new hour) moves every range that ends today (now); new data may move
        # the default's start (an archive of older logs was added), or its end (stale logs)
        if not store or (trigger == ids.LIVE_VERSION and store["spec"]):
            raise PreventUpdate
        spec, write, nodes = store["spec"], False, store.get("nodes")
        kiosk = store.get("kiosk", kiosk)
    else:                                       # the page opened, or its address changed
        spec, write = url.range_spec(search), False
        if store and store.get("spec") == spec and store.get("nodes") == nodes \
                and store.get("kiosk", False) == kiosk:
            raise PreventUpdate
    try:
        out = _shown(context, spec, today, search, write, nodes, kiosk, now)
    except params.RangeError as exc:
        if write:                               # a pick past a century: say so, keep the range
            return _refused(str(exc))
        # from the address: say so, and draw the default range on a page just opened
        refused = _refused(f"The address asks for a range that cannot be: {exc}.")
        if store:
            return refused
        out = _shown(context, {}, today, search, False, nodes, kiosk, now)
        out.update(message=refused["message"], message_open=True)
        return out
    if trigger in (ids.LIVE_TODAY, ids.LIVE_VERSION) and out["store"] == store:
        raise PreventUpdate
    return out


def register(app, context) -> None:
    output = {"store": Output(ids.RANGE_STORE, "data"),
              "start": Output(ids.RANGE_PICKER, "start_date"),
              "end": Output(ids.RANGE_PICKER, "end_date"),
              "search": Output(ids.URL, "search"),
              "message": Output(ids.RANGE_MESSAGE, "children"),
              "message_open": Output(ids.RANGE_MESSAGE, "is_open"),
              "title": Output(ids.RANGE_TITLE, "children"),
              "note": Output(ids.RANGE_NOTE, "children")}

    @app.callback(output=output,
                  inputs={"search": Input(ids.URL, "search"),
                          "presets": [Input(p, "n_clicks") for p in PRESETS],
                          "start": Input(ids.RANGE_PICKER, "start_date"),
                          "end": Input(ids.RANGE_PICKER, "end_date"),
                          "today_store": Input(ids.LIVE_TODAY, "data"),
                          "version": Input(ids.LIVE_VERSION, "data")},
                  state={"store": State(ids.RANGE_STORE, "data")})
    def _control_range(search, presets, start, end, today_store, version, store):
        return control_range(context, ctx.triggered_id, search, (start, end), today_store,
                             store)
