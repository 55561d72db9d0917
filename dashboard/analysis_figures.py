"""Figures of the security and user pages: rows of dashboard/security.py -> Plotly figures.

Names, IPs and paths are attacker-controlled: every text that reaches a figure goes through
figures.label (HTML-escaped for Plotly) after figures.display_name (invisible characters as
escapes).
"""
from __future__ import annotations

import plotly.graph_objects as go

from .figures import COLORS, KIND_NAMES, _base, _bytes_axis, _shift, display_name, label

BAN_COLOR = COLORS["ban"]


def _day_axis(fig: go.Figure, dates: list[str]) -> go.Figure:
    fig.update_xaxes(type="date", range=[_shift(dates[0], -0.5), _shift(dates[-1], 0.5)],
                     hoverformat="%a %Y-%m-%d")
    fig.update_yaxes(rangemode="tozero")
    return fig


def failures_by_day(days: list[dict], kiosk: bool = False) -> go.Figure:
    """Returns failed logins per day as bars, with the day's bans marked above them."""
    dates = [d["date"] for d in days]
    fig = go.Figure()
    fig.add_bar(name="Failed logins", x=dates, y=[d["login_failed"] for d in days],
                marker_color=COLORS["login_failed"], marker_line_width=0,
                hovertemplate="Failed logins: %{y:,}<extra></extra>")
    banned = [d for d in days if d["ban"]]
    fig.add_scatter(name="Bans", x=[d["date"] for d in banned], y=[d["ban"] for d in banned],
                    mode="markers+text", text=[str(d["ban"]) for d in banned],
                    textposition="top center", marker={"symbol": "x", "size": 12,
                                                       "color": BAN_COLOR},
                    hovertemplate="Bans: %{y:,}<extra></extra>")
    _base(fig, kiosk).update_layout(hovermode="x unified", bargap=0.15)
    fig.update_yaxes(title_text="events")
    return _day_axis(fig, dates)


def counts_bar(rows: list[dict], key: str, value: str, kiosk: bool = False) -> go.Figure:
    """Returns horizontal bars of ``value`` per ``key`` (a method, a protocol), largest on top."""
    names = [label(display_name(r[key]) if r[key] else "(none)", 24) for r in rows]
    fig = go.Figure()
    fig.add_bar(x=[r[value] for r in rows][::-1], y=names[::-1], orientation="h",
                marker_color=COLORS["login_failed"], marker_line_width=0,
                hovertemplate="%{y}: %{x:,}<extra></extra>")
    _base(fig, kiosk, legend=False)
    fig.update_yaxes(type="category", automargin=True)
    return fig


def user_activity(days: list[dict], kiosk: bool = False) -> go.Figure:
    """Returns one user's events per day and kind, stacked."""
    dates = [d["date"] for d in days]
    fig = go.Figure()
    for kind in ("upload", "download", "file_op", "login"):
        fig.add_bar(name=KIND_NAMES[kind], x=dates, y=[d[kind] for d in days],
                    marker_color=COLORS[kind], marker_line_width=0,
                    hovertemplate=f"{KIND_NAMES[kind]}: %{{y:,}}<extra></extra>")
    _base(fig, kiosk).update_layout(barmode="stack", bargap=0.15, hovermode="x unified")
    fig.update_yaxes(title_text="events")
    return _day_axis(fig, dates)


def user_bytes(days: list[dict], kiosk: bool = False) -> go.Figure:
    """Returns one user's bytes uploaded and downloaded per day."""
    dates = [d["date"] for d in days]
    fig = go.Figure()
    for key, kind, name in (("bytes_uploaded", "upload", "Uploaded"),
                            ("bytes_downloaded", "download", "Downloaded")):
        fig.add_bar(name=name, x=dates, y=[float(d[key]) for d in days],
                    marker_color=COLORS[kind], marker_line_width=0)
    _base(fig, kiosk).update_layout(barmode="group", bargap=0.15, hovermode="x unified")
    _day_axis(fig, dates)
    return _bytes_axis(fig)
