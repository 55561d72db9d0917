"""Times as the log wrote them: 'YYYY-MM-DDTHH:MM:SS.mmm' (docs/api.md), on both backends.

SQLite hands ``ts`` back as the stored text 'YYYY-MM-DD HH:MM:SS.mmm', MariaDB as a datetime
of DATETIME(3); both become the logged form, never an isoformat() that drops '.000'.
"""
from __future__ import annotations

from datetime import date, datetime


def logged_time(value) -> str | None:
    """Returns a stored time as 'YYYY-MM-DDTHH:MM:SS.mmm' (None stays None)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}"
    text = str(value)
    return text[:10] + "T" + text[11:23]


def stored_time(value) -> str:
    """Returns a stored time as 'YYYY-MM-DD HH:MM:SS.mmm': the form bound in comparisons."""
    return logged_time(value).replace("T", " ")


def day_bounds(start: date, end: date) -> dict:
    """Returns the bind parameters since/until: the first and last millisecond of the range."""
    return {"since": f"{start.isoformat()} 00:00:00.000", "until": f"{end.isoformat()} 23:59:59.999"}
