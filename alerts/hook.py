"""What an ingestion pass calls after its work: a bounded judging of the rules, and the
sender thread started when there are channels. Never raises into the pass: a failure here is
logged and tried again on the next pass, and ingestion goes on.
"""
from __future__ import annotations

import logging
import time

import sqlalchemy as sa

import db
from dashboard.queries import STALE_INTERVALS
from settings import Settings

from . import rules
from .deliver import Delivery, Sender
from .evaluate import Evaluator, StepResult

log = logging.getLogger(__name__)

PASS_SECONDS = 1.0         # judging after one pass stops after about this long
CLOCK_EVERY_S = 5.0        # clock rules and digests: at most this often per process


class AlertHook:
    """One ingester's alerts: its Evaluator, and (with channels) its Delivery and Sender."""

    def __init__(self, engine: sa.Engine, settings: Settings, seam=None):
        self.config = rules.load_checked(settings)
        self.evaluator = Evaluator(engine, self.config,
                                   stale_after_s=STALE_INTERVALS * settings.interval_s, seam=seam)
        self.delivery = Delivery(engine, self.config, seam=seam)
        self.sender: Sender | None = None
        self.enabled = True
        self._clock_at = 0.0
        self._behind = True          # the last step left events to judge (or none ran yet)
        self.last: StepResult | None = None

    def after_pass(self, prog, should_stop=lambda: False) -> None:
        """Judges what the pass (or another node) stored, for about PASS_SECONDS at most."""
        if not self.enabled:
            return
        clock_due = time.monotonic() - self._clock_at >= CLOCK_EVERY_S
        if not (prog.events or self._behind or clock_due):
            return
        try:
            res = self.evaluator.run(max_seconds=PASS_SECONDS, should_stop=should_stop,
                                     clock_rules=clock_due and prog.complete)
        except (sa.exc.DBAPIError, db.DatabaseError) as exc:
            log.warning("Alert rules not judged now, will retry. reason=%s",
                        db.error_reason(exc) if isinstance(exc, sa.exc.DBAPIError) else exc)
            return
        except Exception:            # a bug: say so, never stop ingestion for it
            log.error("Alert rules failed.", exc_info=True)
            return
        self.last = res
        if not res.busy:
            self._behind = not res.caught_up
            if clock_due and prog.complete:
                self._clock_at = time.monotonic()
        if res.alerts:
            log.info("Alerts stored. count=%d", res.alerts)
        self._start_sender(res.queued > 0)

    def _start_sender(self, poke: bool) -> None:
        if not self.delivery.channels:
            return
        if self.sender is None:
            self.sender = Sender(self.delivery).start()
        if poke:
            self.sender.poke()

    def finish(self, max_seconds: float = 30.0) -> StepResult:
        """Judges every event stored so far (waiting for another process's step), then
        sends what is due for up to ``max_seconds``: a run of ingest.py that exits."""
        res = self.evaluator.run(wait=True)
        if self.sender is not None:          # its send under way ends (or times out) first
            self.sender.stop(timeout=max_seconds)
            self.sender = None
        if self.delivery.channels:
            Sender(self.delivery).drain(max_seconds)
        return res

    def close(self) -> None:
        if self.sender is not None:
            self.sender.stop(timeout=5)
