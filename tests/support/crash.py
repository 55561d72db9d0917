"""Runs ingest.py with a seam that SIGKILLs the process at a point of a pass or a prune:

    python -m tests.support.crash POINT AFTER_BATCHES [ingest.py's arguments...]

POINT is one of run.SEAMS or backlog.SEAMS (or prune's "prune_deleted"); the kill comes at
the first time the pass reaches it once AFTER_BATCHES batches are committed. The product reads no crash knob:
the seam is given to ingest.main by this launcher, as the in-process tests give one to
Ingester."""
from __future__ import annotations

import sys

import ingest
from ingestion.run import crash_seam

if __name__ == "__main__":
    point, after, *argv = sys.argv[1:]
    sys.exit(ingest.main(argv, seam=crash_seam(point, int(after))))
