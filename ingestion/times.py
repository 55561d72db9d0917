"""An event's time: SFTPGo's ``time`` checked and normalised, and the latest believable one.

docs/counting-rules.md, "Time and days" and "Bounds on values". Pure: no I/O.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

BAD_TIME = "bad_time"        # parse's reason for a time that is not one, or too late

_TIME = re.compile(r"\d{4}-\d\d-\d\dT(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}", re.ASCII).fullmatch
_DAYS: dict[str, bool] = {}
# A valid SFTPGo time checked in three pieces, so most lines need no regex: the hour
# ('YYYY-MM-DDTHH' -> 'YYYY-MM-DD HH', cached once _TIME and _valid_day accepted a time in
# it), the minute (':MM') and the second (':SS.mmm', cached once _SECOND accepted it; at
# most 60,000). The three patterns put together are _TIME's. parse.classify_lines reads them
# inline.
HOURS: dict[str, str] = {}
MINUTES = frozenset(f":{m:02d}" for m in range(60))
SECONDS: set[str] = set()
_SECOND = re.compile(r":[0-5]\d\.\d{3}", re.ASCII).fullmatch
_LAST_TS = "9999-12-31 23:59:59.999"


def second(tail: str) -> bool:
    """Returns whether ``tail`` is a valid ':SS.mmm' (and remembers it in SECONDS)."""
    if _SECOND(tail) is None:
        return False
    SECONDS.add(tail)
    return True


def timestamp(value, max_ts: str | None) -> str:
    """Returns 'YYYY-MM-DD HH:MM:SS.mmm' for an SFTPGo ``time``, or BAD_TIME when it is not
    one or is after ``max_ts``. The usual value (an hour seen before) costs no regex."""
    if type(value) is str and len(value) == 23 and (head := HOURS.get(value[:13])) is not None \
            and value[13:16] in MINUTES and (value[16:] in SECONDS or second(value[16:])):
        ts = head + value[13:]
    else:
        ts = normalize_time(value)
        if ts is None:
            return BAD_TIME
    return BAD_TIME if max_ts is not None and ts > max_ts else ts


def _valid_day(day: str) -> bool:
    ok = _DAYS.get(day)
    if ok is None:
        try:
            ok = datetime.fromisoformat(day).year >= 1000
        except ValueError:
            ok = False
        if len(_DAYS) > 100_000:
            _DAYS.clear()
        _DAYS[day] = ok
    return ok


def normalize_time(value) -> str | None:
    """Returns 'YYYY-MM-DD HH:MM:SS.mmm' for an SFTPGo ``time``, or None when it is not one."""
    if type(value) is str and len(value) == 23 and _TIME(value) is not None \
            and _valid_day(value[:10]):
        if len(HOURS) >= 100_000:
            HOURS.clear()
        HOURS[value[:13]] = value[:10] + " " + value[11:13]
        return value[:10] + " " + value[11:]          # the layout of every SFTPGo 2.x line
    if type(value) is not str or len(value) < 19 or not value.isascii():
        return None               # non-ASCII digits ("\u0662\u0660\u0662\u0664") are not a time
    ts = value[:10] + " " + value[11:]
    if ts[16] == ".":                                 # pre-0.9.5 layout 15:04.05.000
        ts = ts[:16] + ":" + ts[17:]
    if len(ts) == 19:
        ts += ".000"
    ts = ts[:23]
    try:
        parsed = datetime.fromisoformat(ts)
    except ValueError:
        return None
    if parsed.year < 1000 or len(ts) != 23 or ts[19] != ".":
        return None
    return ts


def max_ts_for(mtime: float) -> str:
    """Returns the latest believable event time of a file last written at ``mtime``.

    That is a day after the mtime, in local time like SFTPGo's own ``time`` (no zone), as
    'YYYY-MM-DD HH:MM:SS.mmm'; capped at the last millisecond of year 9999. An mtime at or
    before 1970 (an archive tool that dropped it) bounds nothing.
    """
    if not mtime > 0:
        return _LAST_TS
    try:
        limit = datetime.fromtimestamp(mtime) + timedelta(days=1)
    except (OverflowError, OSError, ValueError):
        return _LAST_TS
    return limit.isoformat(sep=" ", timespec="milliseconds")
