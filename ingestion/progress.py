"""What a pass (or a run of passes) did and what is left: ``Progress``, its sum over a run,
and the bytes and files still pending after a pass's reads."""
from __future__ import annotations

from dataclasses import dataclass

from .identity import ToRead


@dataclass
class Progress:
    """What a pass (or a run of passes) did and what is left."""
    busy: bool = False           # another pass held the lock: nothing was done
    files: int = 0               # generations being tracked (present in the folder)
    files_pending: int = 0       # of which with bytes still to read
    bytes_done: int = 0          # bytes consumed by this pass
    bytes_pending: int = 0       # bytes left to read after this pass
    deferred: int = 0            # files left for a later pass (moved under the pass, being
                                 # checked, no descriptor for them this pass)
    waiting: int = 0             # their size on disk (in bytes_pending)
    opened: int = 0              # files opened (the others were unchanged and read, or copies)
    lines: int = 0
    events: int = 0
    malformed: int = 0
    bytes_lost: int = 0          # bytes of files that vanished or were replaced before being read
    seconds: float = 0.0
    pruned: int = 0              # old events dropped after the pass (EVENTS_RETENTION_DAYS)

    @property
    def complete(self) -> bool:
        return not self.busy and self.bytes_pending == 0 and self.deferred == 0

    def add(self, p: "Progress") -> None:
        """Adds a later pass: its counts to these, its view of what is left instead of this."""
        for name in ("bytes_done", "lines", "events", "malformed", "seconds", "pruned"):
            setattr(self, name, getattr(self, name) + getattr(p, name))
        for name in ("busy", "files", "files_pending", "bytes_pending", "deferred", "waiting",
                     "opened", "bytes_lost"):
            setattr(self, name, getattr(p, name))


def summed(total: Progress, p: Progress) -> Progress:
    """Returns the run so far: ``total`` plus the pass under way."""
    out = Progress(**vars(total))
    out.add(p)
    return out


def count_pending(prog: Progress, work: list[ToRead]) -> None:
    """Sets the bytes and files still to read, from where each generation now stands."""
    pending = [w.pending for w in work]
    prog.bytes_pending = sum(p for p in pending if p > 0) + prog.waiting
    prog.files_pending = sum(1 for p in pending if p > 0) + prog.deferred
