"""Figures of the security and user pages: rows of dashboard/security.py -> Plotly figures.

Names, IPs and paths are attacker-controlled: every text that reaches a figure goes through
figures.label (HTML-escaped for Plotly) after figures.display_name (invisible characters as
escapes).
"""
from __future__ import annotations

from . import time_figures
from .figures import COLORS, _base, axis, bar, display_name, figure, label

BAN_COLOR = COLORS["ban"]


def failures_by_day(days: list[dict], kiosk: bool = False) -> dict:
    """Returns failed logins per day (per week or month for a long range) as bars, with
    their bans marked above them."""
    from .figures import bucket_for
    bucket = bucket_for(len(days))
    return time_figures.failures(time_figures.day_rows(days, bucket), bucket, kiosk)


def counts_bar(rows: list[dict], key: str, value: str, kiosk: bool = False,
               names: dict | None = None) -> dict:
    """Returns horizontal bars of ``value`` per ``key`` (a method, a protocol), largest on
    top; ``names``: words for some values (a scan's no_auth_tried)."""
    names = names or {}
    shown = [names.get(r[key]) or (label(display_name(r[key]), 24) if r[key] else "(none)")
             for r in rows]
    fig = figure()
    bar(fig, x=[r[value] for r in rows][::-1], y=shown[::-1], orientation="h",
        marker={"color": COLORS["login_failed"], "line": {"width": 0}},
        hovertemplate="%{y}: %{x:,}<extra></extra>")
    _base(fig, kiosk, legend=False)
    axis(fig, "yaxis", type="category", automargin=True)
    axis(fig, "xaxis", rangemode="tozero")
    time_figures.whole_ticks(fig, max((r[value] for r in rows), default=0), axis_name="x")
    return fig


def user_activity(days: list[dict], kiosk: bool = False) -> dict:
    """Returns one user's events per day and kind, stacked."""
    from .figures import bucket_for
    bucket = bucket_for(len(days))
    return time_figures.user_activity(time_figures.day_rows(days, bucket), bucket, kiosk)


def user_bytes(days: list[dict], kiosk: bool = False) -> dict:
    """Returns one user's bytes uploaded and downloaded per day."""
    from .figures import bucket_for
    bucket = bucket_for(len(days))
    return time_figures.user_bytes(time_figures.day_rows(days, bucket), bucket, kiosk)
