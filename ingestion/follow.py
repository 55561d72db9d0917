"""--follow: passes one after another until stopped, idling when nothing is new, outliving an
outage (the database down or dropping connections, the folder gone) and recording it in the
node's status once a pass completes again."""
from __future__ import annotations

import logging
import time
from typing import Callable

import sqlalchemy as sa

import db

from . import generations, sqlgen
from .progress import Progress
from .run import Ingester

log = logging.getLogger(__name__)

FOLLOW_RETRY_MAX_S = 30.0   # the longest wait of --follow between two failed passes


def follow(ingester: Ingester, should_stop: Callable[[], bool],
           on_pass: Callable[[Progress], None] | None = None,
           idle_max_s: float = 1.0, retry_max_s: float = FOLLOW_RETRY_MAX_S) -> None:
    """Runs passes until ``should_stop()``; backs off up to idle_max_s while idle.

    A pass that fails (the database dropped its connection or is down, the folder is
    gone) never ends it: the next is tried after a backoff (0.5 s, doubling up to
    ``retry_max_s``), and once one completes again the node's status records the outage
    (last_error: how many passes failed since when, and why), then goes on as before."""
    delay = 0.05
    failed = None                # while passes fail: [count, since, last reason]
    while not should_stop():
        bug = None                   # an error that is not the database's: traced in the log
        try:
            prog = ingester.run_pass(should_stop=should_stop)
        except sa.exc.DBAPIError as exc:
            reason = f"database error: {db.error_reason(exc)}"
            prog = None
        except db.DatabaseError as exc:     # e.g. its file deleted: say so, never fork it
            reason = f"database unusable: {exc}"
            prog = None
        except Exception as exc:     # the folder vanished, a bug: say so, keep tailing
            reason = f"{type(exc).__name__}: {exc}"
            prog, bug = None, exc
        if prog is None:
            failed = [failed[0] + 1, failed[1], reason] if failed else \
                [1, sqlgen.now_text()[:19], reason]
            delay = 0.5 if failed[0] == 1 else min(delay * 2, retry_max_s)
            log.error("Ingestion pass failed, retrying in %.1f s. reason=%s", delay, reason,
                      exc_info=bug)
        else:
            if failed and _record_outage(ingester, *failed):
                failed = None        # else the next completed pass records it
            if on_pass is not None:
                on_pass(prog)
            delay = 0.05 if prog.bytes_done > 0 else min(delay * 2, idle_max_s)
        _sleep(delay, should_stop)
    try:
        ingester.finish_backlog()
    except sa.exc.DBAPIError as exc:    # the next start builds them (db.migrate)
        log.warning("Could not build the indexes of a backlog. reason=%s",
                    db.error_reason(exc))


def _record_outage(ingester: Ingester, count: int, since: str, reason: str) -> bool:
    """Writes to the node's status that ``count`` passes failed since ``since``; returns
    whether it could (the connection can drop again right then: the caller keeps the
    outage and records it after the next pass that completes)."""
    message = (f"{count} pass{'es' if count > 1 else ''} failed since {since}, "
               f"retried until one completed; last: {reason}")
    log.warning("Ingestion resumed. %s", message)
    try:
        with ingester.engine.begin() as conn:
            generations.record_error(conn, ingester.settings.node, message)
        return True
    except sa.exc.DBAPIError as exc:
        log.warning("Could not record the outage yet. reason=%s", db.error_reason(exc))
        return False


def _sleep(seconds: float, should_stop: Callable[[], bool]) -> None:
    end = time.monotonic() + seconds
    while not should_stop():
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(0.05, left))
