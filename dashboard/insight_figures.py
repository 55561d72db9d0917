"""Figures and words of the insight views (docs/insight.md): the weekday x hour heatmap, the
countries' bars, the change against the period before. Names reach figures through
figures.label, as everywhere."""
from __future__ import annotations

from .analysis_figures import counts_bar
from .figures import FONT, _base, axis, count, figure, merge

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NO_COUNTRY = "no country"       # private, documentation, unknown addresses, no IP at all
# dark to light, and the same to every eye (cividis: for colour-vision deficiency)
HEAT_SCALE = "Cividis"


def hours_heatmap(hours: list[list[int]], kiosk: bool = False) -> dict:
    """Returns the events per weekday (rows, Monday on top) and hour of the day (columns)."""
    fig = figure()
    fig["data"].append({
        "type": "heatmap", "z": hours, "x": [f"{h:02d}" for h in range(24)],
        "y": list(WEEKDAYS), "colorscale": HEAT_SCALE, "xgap": 1, "ygap": 1,
        "hovertemplate": "%{y} %{x}:00–%{x}:59: %{z:,} events<extra></extra>",
        "colorbar": {"thickness": 10, "outlinewidth": 0, "tickfont": {"family": FONT}}})
    _base(fig, kiosk, legend=False)
    # the scale sits right of the plot, the (upright) mode bar right of the scale
    merge(fig["layout"], {"margin": {"r": 110 if not kiosk else 80}})
    axis(fig, "yaxis", autorange="reversed", type="category", showgrid=False)
    axis(fig, "xaxis", type="category", showgrid=False,
         tickvals=[f"{h:02d}" for h in range(0, 24, 3)])
    return fig


def countries_bar(by_country: list[dict], kiosk: bool = False) -> dict:
    """Returns failed logins per country as bars, the most on top (no country as such)."""
    return counts_bar(by_country, "country", "failures", kiosk, names={None: NO_COUNTRY})


def change(now: int, before: int | None) -> tuple[str, str]:
    """Returns the change of a figure against the period before: ('▲ 12 %', 'up'),
    ('▼ 3 %', 'down'), ('±0 %', 'same'), ('new', 'up') when the period before had none, ('',
    '') when neither had any or there is no period before."""
    if before is None or (now == 0 and before == 0):
        return "", ""
    if before == 0:
        return "new", "up"
    pct = (now - before) * 100 / before
    if now >= 11 * before:                       # from 1,000 % up: a multiple reads better
        return f"▲ ×{round(now / before):,}", "up"
    if round(pct) == 0:
        return ("±0 %" if now == before else ("▲ <1 %" if now > before else "▼ <1 %"),
                "same" if now == before else ("up" if now > before else "down"))
    return (f"▲ {round(pct):,} %" if pct > 0 else f"▼ {round(-pct):,} %",
            "up" if pct > 0 else "down")


def before_words(previous: dict | None, days: int, window: bool) -> str:
    """Returns what the change compares with: 'the day before', 'the 7 days before', 'the
    same time before' (a window)."""
    if previous is None:
        return ""
    if window:
        return "the same time before"
    return "the day before" if days == 1 else f"the {count(days)} days before"
