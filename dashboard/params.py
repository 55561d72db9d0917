"""What a URL asks, read and checked: the date range, ``users_limit`` and ``node=``.

Each parser returns a plain value or raises BadParameter (RangeError for a range) with a
message that says what is wrong; the API answers it as a 400, the pages as a notice. The
bounds here (MAX_RANGE_DAYS, MAX_USERS_LIMIT) bound the work and size of one answer.
"""
from __future__ import annotations

import re
from datetime import date

from settings import NODE_NAME, Settings

DEFAULT_START = date.fromisoformat(Settings().default_start)
MAX_RANGE_DAYS = 36_600          # a century: bounds the work of one request
USERS_LIMIT = 1_000              # users listed by default; the rest are counted only
MAX_USERS_LIMIT = 100_000        # bounds the size of one answer (about 200 bytes a user)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COUNT = re.compile(r"^[0-9]{1,7}$")


class BadParameter(ValueError):
    """A request parameter that cannot be used; the message says what is wrong."""


class RangeError(BadParameter):
    """A date range that cannot be used; the message says what is wrong."""


# --- date ranges -------------------------------------------------------------------------

def parse_date(text: str, name: str) -> date:
    """Returns the date in ``text`` ('YYYY-MM-DD'), or raises RangeError naming ``name``."""
    if not isinstance(text, str) or not _DATE.match(text):
        raise RangeError(f"{name} must be a date written YYYY-MM-DD, not {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RangeError(f"{name} {text!r} is not a day of the calendar") from None


def parse_range(start_str: str | None, end_str: str | None, today: date,
                default_start: date = DEFAULT_START) -> tuple[date, date]:
    """Returns (start, end) from optional 'YYYY-MM-DD' strings; raises RangeError.

    A missing or empty bound takes the dashboard's default: ``default_start`` to ``today``.
    """
    start = parse_date(start_str, "start") if start_str else default_start
    end = parse_date(end_str, "end") if end_str else today
    return check_range(start, end)


def check_range(start: date, end: date) -> tuple[date, date]:
    """Returns (start, end) if they make a range (start on or before end, at most
    MAX_RANGE_DAYS days); raises RangeError otherwise."""
    if start > end:
        raise RangeError(f"start {start.isoformat()} is after end {end.isoformat()}: "
                         "pick a start on or before the end")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise RangeError(f"the range {start.isoformat()}..{end.isoformat()} is longer than "
                         f"{MAX_RANGE_DAYS} days")
    return start, end


def parse_users_limit(text: str | None) -> int:
    """Returns the users_limit in ``text`` (1..MAX_USERS_LIMIT; USERS_LIMIT when missing or
    empty), or raises BadParameter."""
    if text is None or text == "":
        return USERS_LIMIT
    if not _COUNT.fullmatch(text) or not 1 <= int(text) <= MAX_USERS_LIMIT:
        raise BadParameter(f"users_limit must be a whole number from 1 to {MAX_USERS_LIMIT:,}, "
                           f"not {text[:40]!r}")
    return int(text)


# --- nodes -------------------------------------------------------------------------------

def parse_nodes(args) -> tuple[str, ...] | None:
    """Returns the nodes of the repeatable ``node=`` argument (None when absent: all nodes);
    raises BadParameter for a value that cannot name a node."""
    if args is None or "node" not in args:
        return None
    values = args.getlist("node") if hasattr(args, "getlist") else [args["node"]]
    names = tuple(dict.fromkeys(values))
    for name in names:
        if not NODE_NAME.fullmatch(name):
            raise BadParameter(f"node must be a node name (letters, digits, '.', '_', '-'), "
                               f"not {name[:40]!r}")
    return names
