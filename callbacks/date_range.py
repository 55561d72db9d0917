"""The date range: presets, the kiosk's rolling 30 days, and an end that follows the clock.

One callback owns the picker's dates. A range whose end is "today" moves with the clock
on a display left open for days; a rolling window (7 or 30 days, the kiosk's) moves its
start too.
"""
from __future__ import annotations

from datetime import date, timedelta

from dash import Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from dashboard import queries
from components import ids
from dashboard.context import DB_ERRORS

ROLLING = (7, 30)


def preset_range(preset: str, today: date, first: date | None) -> tuple[date, date]:
    """Returns the range of a preset button (``first`` = the first day with data)."""
    if preset == ids.RANGE_PRESET_7:
        return today - timedelta(days=6), today
    if preset == ids.RANGE_PRESET_30:
        return today - timedelta(days=29), today
    if preset == ids.RANGE_PRESET_YEAR:
        return date(today.year, 1, 1), today
    return min(first or today, today), today


def follow_clock(start: date, end: date, previous: date, today: date) -> tuple[date, date]:
    """Returns the range after the day changed from ``previous`` to ``today``.

    An end equal to the old today becomes the new today; a rolling window keeps its length.
    """
    if end != previous or today <= previous:
        return start, end
    if (end - start).days + 1 in ROLLING:
        return start + (today - previous), today
    return start, today


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def control_range(context, trigger: str | None, today_store: dict | None, mode: dict | None,
                  start: str | None, end: str | None) -> tuple[str, str]:
    """Returns the picker's new (start, end) for what triggered the callback."""
    today = date.fromisoformat(today_store["today"]) if today_store else date.today()
    if trigger in (ids.RANGE_PRESET_7, ids.RANGE_PRESET_30, ids.RANGE_PRESET_YEAR,
                   ids.RANGE_PRESET_ALL):
        first = None
        if trigger == ids.RANGE_PRESET_ALL:
            try:
                first = queries.first_day(context.engine())
            except DB_ERRORS:
                raise PreventUpdate from None   # the banner already says why
        new = preset_range(trigger, today, first or context.default_start())
    elif trigger == ids.MODE_STORE and mode and mode.get("kiosk"):
        new = preset_range(ids.RANGE_PRESET_30, today, None)
    elif trigger == ids.LIVE_TODAY and today_store and today_store.get("previous"):
        old_start, old_end = _date(start), _date(end)
        if old_start is None or old_end is None:
            raise PreventUpdate
        new = follow_clock(old_start, old_end, date.fromisoformat(today_store["previous"]), today)
        if new == (old_start, old_end):
            raise PreventUpdate
    else:
        raise PreventUpdate
    return new[0].isoformat(), new[1].isoformat()


def register(app, context) -> None:
    @app.callback(Output(ids.RANGE_PICKER, "start_date"), Output(ids.RANGE_PICKER, "end_date"),
                  Input(ids.RANGE_PRESET_7, "n_clicks"), Input(ids.RANGE_PRESET_30, "n_clicks"),
                  Input(ids.RANGE_PRESET_YEAR, "n_clicks"), Input(ids.RANGE_PRESET_ALL, "n_clicks"),
                  Input(ids.LIVE_TODAY, "data"), Input(ids.MODE_STORE, "data"),
                  State(ids.RANGE_PICKER, "start_date"), State(ids.RANGE_PICKER, "end_date"),
                  prevent_initial_call=True)
    def _control_range(_n7, _n30, _nyear, _nall, today_store, mode, start, end):
        return control_range(context, ctx.triggered_id, today_store, mode, start, end)
