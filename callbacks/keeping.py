"""What the page callbacks share: keeping what is drawn when a range or the database fails."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from dash import no_update

from dashboard import answers, params
from dashboard.context import DB_ERRORS
from db import DatabaseBroken, error_reason

log = logging.getLogger(__name__)

# A bad parameter (a range, a filter), an outage, an unusable database file, or an answer of
# the database that is an error: the page keeps what it draws; the banner or message says why.
KEEP_ON = (params.BadParameter, DatabaseBroken, sa.exc.DBAPIError, *DB_ERRORS)


def kept(keys, what: str, exc: Exception) -> dict:
    """Logs why ``what`` did not redraw; returns no_update for each of ``keys`` (an answer
    never kept: dashboard/answers.py)."""
    answers.uncached()
    if isinstance(exc, params.BadParameter):
        log.info("%s refused. error=%s", what, exc)
    elif isinstance(exc, sa.exc.DBAPIError) and not isinstance(exc, DB_ERRORS):
        log.error("%s failed. error=%s", what, error_reason(exc))
    else:
        log.warning("%s skipped. error=%s", what, exc)
    return dict.fromkeys(keys, no_update)
