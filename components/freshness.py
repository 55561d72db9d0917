"""The freshness line: newest event, lines waiting, and a progress bar during a backfill."""
from __future__ import annotations

from datetime import datetime

import dash_bootstrap_components as dbc
from dash import html

from dashboard.figures import count, human_bytes, visible
from dashboard.queries import lines_pending

from . import ids

BACKFILL_BYTES = 1_000_000     # more than this waiting: show the progress bar
STALE_AFTER_S = 3600           # a newest event older than this: the tab's title says its age


def _when(ts: str | None) -> str:
    return ts[:19].replace("T", " ") if ts else "never"


def eta_text(seconds: float) -> str:
    """Returns a rough duration: 'under a minute', 'about 4 min', 'about 2 h 10 min'."""
    if seconds < 60:
        return "under a minute left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60:02d} min left"


def stale_age(newest: str | None, now: datetime) -> str | None:
    """Returns the newest event's age ('3 h', '12 d') when it is older than
    STALE_AFTER_S at ``now`` (the log's local time), else None (no event: None too)."""
    try:
        seen = datetime.fromisoformat(newest[:19].replace(" ", "T")) if newest else None
    except ValueError:
        return None
    if seen is None:
        return None
    seconds = (now - seen).total_seconds()
    if seconds <= STALE_AFTER_S:
        return None
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def age_words(age: str) -> str:
    """Returns '3 h' as '3 hours', '811 d' as '811 days'."""
    n, unit = age.split()
    return f"{n} {'hour' if unit == 'h' else 'day'}{'' if n == '1' else 's'}"


def unfinished_line(st: dict) -> bool:
    """Returns True when what is pending is less than one line (by the mean line length so
    far): the live file's last line, which SFTPGo has not ended with a newline yet. It is
    read when its newline comes; until then it is not work waiting."""
    pending = st["bytes_pending"]
    if pending <= 0 or st["lines_read"] <= 0 or st["bytes_read"] <= 0:
        return False
    return pending < st["bytes_read"] / st["lines_read"]


def waiting_text(st: dict) -> tuple[str, str | None]:
    """Returns the words for what is left to read, and their tooltip."""
    waiting = lines_pending(st)
    if waiting == 0:
        return "all lines read", None
    if unfinished_line(st):
        return (f"all lines read · {human_bytes(st['bytes_pending'])} of an unfinished line",
                "The end of the log is not a whole line yet (no newline after it): it is "
                "counted once SFTPGo finishes it.")
    return (f"≈ {count(waiting)} {'line' if waiting == 1 else 'lines'} waiting "
            f"({human_bytes(st['bytes_pending'])})", None)


def freshness(st: dict, rate: float | None, now: datetime | None = None) -> list:
    """Returns the freshness line for status ``st``; ``rate`` is bytes read per second lately;
    ``now`` (the log's local time): the newest event's age is said when it is stale."""
    waiting, tip = waiting_text(st)
    age = stale_age(st["newest_event"], now) if now is not None else None
    newest = [html.B(_when(st["newest_event"]))]
    if age:
        newest.append(html.Span(f" ({age_words(age)} ago)", className="fresh-stale",
                                title="No event for a while: is SFTPGo logging here?"))
    parts = [
        html.Span(["Newest event ", *newest], className="fresh-newest"),
        html.Span(waiting, id=ids.LIVE_WAITING, className="fresh-waiting",
                  **({"title": tip} if tip else {})),
        html.Span(f"last read {_when(st['last_pass_at'])}", className="fresh-pass"),
    ]
    if st["malformed_lines"]:
        parts.append(html.Span(f"{count(st['malformed_lines'])} malformed lines",
                               className="fresh-malformed"))
    if st["bytes_lost"]:
        parts.append(html.Span(f"{human_bytes(st['bytes_lost'])} lost to rotation",
                               className="fresh-lost"))
    if current_error(st):
        parts.append(html.Span(f"last error: {visible(st['last_error'])}",
                               className="fresh-error",
                               title=st["last_error_at"] or ""))
    line = html.Div(parts, className="fresh-line")
    if st["bytes_pending"] <= BACKFILL_BYTES:
        return [line]
    return [line, backfill_bar(st, rate)]


def current_error(st: dict) -> bool:
    """Returns True when the last ingestion error is newer than the last clean pass."""
    return bool(st["last_error"]) and (st["last_error_at"] or "") >= (st["last_pass_at"] or "")


def backfill_bar(st: dict, rate: float | None) -> html.Div:
    """Returns the backfill progress bar with percent done and an estimate of the rest."""
    total = st["bytes_read"] + st["bytes_pending"]
    pct = 100.0 * st["bytes_read"] / total if total else 100.0
    estimate = eta_text(st["bytes_pending"] / rate) if rate else "estimating…"
    return html.Div([
        dbc.Progress(value=pct, label=f"{pct:.0f} %", striped=True, animated=True,
                     id=ids.LIVE_PROGRESS, className="backfill-bar"),
        html.Span(f"Backfill: {pct:.1f} % read, {estimate}", className="backfill-text"),
    ], className="backfill")
