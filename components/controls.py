"""The date range: a picker, seven presets, a note on the default range, and the message
shown for a range that cannot be."""
from __future__ import annotations

from datetime import date

import dash_bootstrap_components as dbc
from dash import dcc, html

from . import ids

PRESETS = ((ids.RANGE_PRESET_TODAY, "Today"), (ids.RANGE_PRESET_YESTERDAY, "Yesterday"),
           (ids.RANGE_PRESET_24H, "Last 24 hours"), (ids.RANGE_PRESET_7, "Last 7 days"),
           (ids.RANGE_PRESET_30, "Last 30 days"), (ids.RANGE_PRESET_YEAR, "This year"),
           (ids.RANGE_PRESET_ALL, "Everything"))


def range_controls(start: date, end: date) -> html.Div:
    """Returns the picker with its preset buttons (real <button>s: Tab reaches them, Enter
    and Space press them), the default range's note and the message slot; the dates come
    from the URL (callbacks/date_range.py); start..end until then."""
    picker = dcc.DatePickerRange(
        id=ids.RANGE_PICKER, start_date=start.isoformat(), end_date=end.isoformat(),
        display_format="YYYY-MM-DD", first_day_of_week=1,
        minimum_nights=0, className="range-picker")
    presets = dbc.ButtonGroup([dbc.Button(text, id=button_id, color="secondary", outline=True,
                                          size="sm", n_clicks=0, className="range-preset",
                                          type="button")
                               for button_id, text in PRESETS],
                              className="range-presets")
    note = html.Span(id=ids.RANGE_NOTE, className="range-note")
    message = dbc.Alert(id=ids.RANGE_MESSAGE, color="warning", is_open=False,
                        className="range-message")
    return html.Div([html.Div([picker, presets, note], className="range-row"), message],
                    className="controls control")
