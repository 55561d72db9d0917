"""A stand-in SFTPGo for the concurrent soak: lumberjack rotation, gzip and pruning, at full rate.

    python -m tests.support.soak_writer LOG_DIR SECONDS RATE SEED RECORD [MAX_BACKUPS]

Writes about RATE lines a second for SECONDS through simulate.LumberjackWriter (rotation every
256 KB, each backup gzipped by a background mill, backups beyond MAX_BACKUPS deleted), with
identical bursts among them. The folder also gets the shapes an admin's own scripts leave:
some backups are gzipped as several members (as `cat a.gz b.gz` or bgzip make them), and now
and then a partial copy of the live file (plain, or `gzip -c`; cut at a line or mid-line, as a
copy taken during a write is) lands in a subfolder and stays. At the end it writes RECORD:
every line it wrote, in order, and the backups it deleted, so the test can compare the
database with what was really written.
"""
from __future__ import annotations

import gzip
import os
import random
import sys
import time

import orjson

from simulate import LumberjackWriter
from tests.support.ingest import event_line, noise_line

ROTATE_BYTES = 256 * 1024


class RecordingWriter(LumberjackWriter):
    """A LumberjackWriter that remembers which backups its pruning deleted."""

    def __init__(self, *args, seed: int = 0, **kw):
        self.deleted: list[str] = []
        self.deleted_bytes = 0             # content (decompressed) bytes of the backups deleted
        self.members = 0                   # backups gzipped as several members
        self._mill_rng = random.Random(seed * 7919 + 1)   # the mill runs on its own thread
        super().__init__(*args, **kw)

    def compress_file(self, path: str) -> str:
        """Gzips a backup like the mill, a third of them as several members."""
        if self._mill_rng.random() >= 1 / 3:
            return super().compress_file(path)
        data = open(path, "rb").read()
        cuts = sorted(self._mill_rng.sample(range(1, len(data)), 2)) if len(data) > 2 else []
        parts = [data[i:j] for i, j in zip([0, *cuts], [*cuts, len(data)])]
        with open(path + ".gz", "wb") as out:          # written in full, then the .log goes
            for part in parts:
                out.write(gzip.compress(part))
        os.remove(path)
        self.members += 1
        return path + ".gz"

    def prune(self) -> list[str]:
        for stem in self.doomed_stems():   # a stem may be .log and .log.gz at once: one content
            self.deleted_bytes += max((_content_size(os.path.join(
                self.log_dir, f"{self.name}-{stem}{ext}")) for ext in (".log", ".log.gz")),
                default=0)
        removed = super().prune()
        self.deleted.extend(removed)
        return removed


def _content_size(path: str) -> int:
    """Returns the bytes of the log's content (decompressed for .gz), 0 when it is gone."""
    try:
        if path.endswith(".gz"):
            with gzip.open(path) as f:
                return sum(len(chunk) for chunk in iter(lambda: f.read(1 << 20), b""))
        return os.path.getsize(path)
    except (FileNotFoundError, EOFError, OSError):
        return 0


def lines_for(seq: int, rng: random.Random) -> list[bytes]:
    """Returns the next write's lines: mostly transfers, some chatter, now and then a burst."""
    roll = rng.random()
    if roll < 0.02:
        return [event_line(seq, user="burst", ms=seq)] * rng.randint(2, 8)
    if roll < 0.3:
        return [noise_line(seq)]
    sender = "Upload" if rng.random() < 0.4 else "Download"
    return [event_line(seq, user=f"user{rng.randint(0, 40)}", sender=sender,
                       size=rng.randint(0, 5_000_000))]


def partial_copy(writer: RecordingWriter, rng: random.Random, n: int) -> None:
    """Leaves a copy of the start of the live file in nightly/, as a backup script taken
    while the file grew would: plain or gzipped, ending at a line or in the middle of one."""
    live = os.path.join(writer.log_dir, f"{writer.name}.log")
    data = open(live, "rb").read()
    if not data:
        return
    cut = len(data) if rng.random() < 0.5 else rng.randint(1, len(data))
    folder = os.path.join(writer.log_dir, "nightly")
    os.makedirs(folder, exist_ok=True)
    if rng.random() < 0.5:
        with open(os.path.join(folder, f"{writer.name}-copy{n}.log"), "wb") as f:
            f.write(data[:cut])
    else:
        with open(os.path.join(folder, f"{writer.name}-copy{n}.log.gz"), "wb") as f:
            f.write(gzip.compress(data[:cut]))


def main(argv: list[str]) -> int:
    log_dir, seconds, rate, seed, record = argv[:5]
    max_backups = int(argv[5]) if len(argv) > 5 else 30
    rng = random.Random(int(seed))
    writer = RecordingWriter(log_dir, max_bytes=ROTATE_BYTES, compress=True, compress_async=True,
                             max_backups=max_backups, seed=int(seed))
    written: list[bytes] = []
    start = time.monotonic()
    end = start + float(seconds)
    seq = copies = 0
    next_copy = start + rng.uniform(0.5, 3)
    while time.monotonic() < end:
        if time.monotonic() >= next_copy:
            copies += 1
            partial_copy(writer, rng, copies)
            next_copy = time.monotonic() + rng.uniform(0.5, 3)
        # Catch up to RATE lines a second, one write per line (as zerolog writes).
        due = int((time.monotonic() - start) * float(rate))
        while len(written) < due:
            seq += 1
            for line in lines_for(seq, rng):
                writer.write(line)
                written.append(line)
        time.sleep(0.002)
    writer.close()                         # waits for the mill's last gzip and prune
    with open(record, "wb") as f:
        f.write(orjson.dumps({"lines": [x.decode() for x in written],
                              "rotations": len(writer.rotations),
                              "members": writer.members, "copies": copies,
                              "deleted": writer.deleted,
                              "deleted_bytes": writer.deleted_bytes}))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    sys.exit(main(sys.argv[1:]))
