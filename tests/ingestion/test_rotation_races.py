"""A rotation that lands inside a pass, at each of its seams, on both backends.

The ingester calls a seam (a callable it is given) at each point of a pass (run.SEAMS). Here
the seam rotates the live file right there: rename and a new file, rename then gzip and
delete, lumberjack's mill caught half-way (a partial .gz beside its .log, finished at the
next seam), or a copytruncate. Whatever the seam, every line is stored exactly once and no
pass ever reports a byte lost: nothing was.
"""
from __future__ import annotations

import gzip
import os
import shutil

import pytest

from ingestion.run import SEAMS
from tests.support.ingest import (LogWriter, db_events, event_line, expected_events, ingester,
                                  noise_line, run_all, scalar,
                                  total_lines)

# Every seam a rotation can land on (the commit seams run on the commit thread; included).
RACE_SEAMS = [s for s in SEAMS]
STYLES = ["rename", "gzip", "mill", "copytruncate"]


def mixed(start: int, n: int) -> list[bytes]:
    return [event_line(i, user=f"u{i % 5}") if i % 3 else noise_line(i)
            for i in range(start, start + n)]


def lost(engine) -> int:
    return scalar(engine, "SELECT COALESCE(SUM(bytes_lost), 0) FROM log_files")


class Rotation:
    """A seam that rotates the live file the first time the pass reaches ``seam``."""

    def __init__(self, writer: LogWriter, seam: str, style: str, new_lines: list[bytes]):
        self.w, self.seam, self.style, self.new_lines = writer, seam, style, new_lines
        self.fired = False
        self._finish = None             # the mill's second half, run at the next seam

    def __call__(self, name: str) -> None:
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()
        if name != self.seam or self.fired:
            return
        self.fired = True
        getattr(self, self.style)()

    def rename(self) -> None:
        self.w.rotate()
        self.w.write(*self.new_lines)

    def gzip(self) -> None:
        backup = self.w.rotate()
        self.w.write(*self.new_lines)
        _gzip(backup, remove=True)

    def mill(self) -> None:
        backup = self.w.rotate()
        self.w.write(*self.new_lines)
        data = _gz_bytes(backup)
        gz = str(backup) + ".gz"
        with open(gz, "wb") as f:                  # the mill is half-way through its gzip
            f.write(data[:len(data) // 2])

        def finish():
            with open(gz, "ab") as f:
                f.write(data[len(data) // 2:])
            os.remove(backup)
        self._finish = finish

    def copytruncate(self) -> None:
        live = self.w.live
        backup = self.w.dir / "sftpgo-2024-09-18T05-00-00.000.log"
        shutil.copyfile(live, backup)
        with open(live, "r+b") as f:
            f.truncate(0)
        assert os.path.getsize(live) == 0
        self.w.write(*self.new_lines)

    def finish(self) -> None:
        if self._finish is not None:
            self._finish()
            self._finish = None


def _gz_bytes(path) -> bytes:
    with open(path, "rb") as f:
        return gzip.compress(f.read())


def _gzip(path, remove: bool) -> None:
    with open(str(path) + ".gz", "wb") as f:
        f.write(_gz_bytes(path))
    if remove:
        os.remove(path)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("seam", RACE_SEAMS)
def test_rotation_inside_a_pass_is_read_exactly_once(db_url, engine, log_dir, seam, style):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 200))
    backup = w.rotate()
    w.write(*mixed(200, 200))
    run_all(engine, log_dir)                     # a read backup and a read live file
    more = mixed(400, 300)                       # the backup has a backlog (read first) ...
    with open(backup, "ab") as f:
        f.write(b"".join(more))
    w.written.extend(more)
    w.write(*mixed(700, 300))                    # ... and so has the live file
    # The new live file outgrows the old one's checkpoint: read under the old identity, its
    # lines would land at offsets the old generation has not reached yet.
    rotation = Rotation(w, seam, style, mixed(1000, 900))

    ing = ingester(engine, log_dir, seam=rotation, batch_bytes=4096)
    ing.run_pass()
    assert rotation.fired, f"the pass never reached seam {seam}"
    got, want = db_events(engine), expected_events(w.written)
    assert not (got - want), "a line stored twice, or under the wrong file"
    assert lost(engine) == 0, "a pass reported bytes lost while every file was still there"

    rotation.finish()
    for _ in range(10):
        p = ing.run_pass()
        assert lost(engine) == 0
        if p.complete:
            break
    run_all(engine, log_dir)
    assert db_events(engine) == expected_events(w.written)
    assert total_lines(engine) == len(w.written)
    assert lost(engine) == 0


@pytest.mark.parametrize("style", ["gzip", "mill", "rename"])
def test_half_read_backup_moved_between_listing_and_open_is_not_lost(db_url, engine, log_dir,
                                                                    style):
    """The second race: a backup read half-way, gzipped (or renamed again) after the listing.

    Its generation has bytes pending; the pass that cannot open it by its listed name must
    leave it for the next pass, not report those bytes lost.
    """
    w = LogWriter(log_dir)
    w.write(*mixed(0, 400))
    backup = w.rotate()
    w.write(*mixed(400, 100))
    ing = ingester(engine, log_dir, batch_bytes=4096)
    ing.run_pass(max_bytes=8192)                 # the backup is read first, and only partly
    pending = scalar(engine, "SELECT f.size_seen - c.committed_offset FROM log_files f"
                     " JOIN checkpoints c ON c.file_id = f.id WHERE f.path = :p", p=str(backup))
    assert pending > 0

    def move(name: str) -> None:
        if name != "listed":
            return
        if style == "rename":                    # an admin moves it into an archive folder
            (log_dir / "old").mkdir()
            os.rename(backup, log_dir / "old" / backup.name)
        elif style == "gzip":
            _gzip(backup, remove=True)
        else:
            data = _gz_bytes(backup)
            with open(str(backup) + ".gz", "wb") as f:
                f.write(data)
            os.remove(backup)
    ingester(engine, log_dir, seam=move, batch_bytes=4096).run_pass()
    assert lost(engine) == 0
    run_all(engine, log_dir)
    assert db_events(engine) == expected_events(w.written)
    assert lost(engine) == 0


def test_rename_inside_the_listing_is_not_reported_lost(db_url, engine, log_dir, monkeypatch):
    """A rotation between the directory read and the stat of a name hides the renamed file from
    that listing altogether. The pass must notice the folder moved (a second listing differs)
    and leave the generation it did not see for the next pass."""
    import ingestion.discover as discover

    w = LogWriter(log_dir)
    w.write(*mixed(0, 400))
    ing = ingester(engine, log_dir, batch_bytes=4096)
    ing.run_pass(max_bytes=8192)                 # the live file is known, read only in part
    real_stat = os.stat
    fired = []

    def stat(path, *a, **kw):
        if str(path) == str(w.live) and not fired:
            fired.append(path)                   # os.stat is patched everywhere: once only
            w.rotate()                           # after the directory read, before the stat
            w.write(*mixed(400, 50))
        return real_stat(path, *a, **kw)
    monkeypatch.setattr(discover.os, "stat", stat)
    ing.run_pass()
    monkeypatch.undo()
    assert fired
    assert lost(engine) == 0, "the renamed file, unseen by one listing, was reported lost"
    run_all(engine, log_dir)
    assert db_events(engine) == expected_events(w.written)
    assert lost(engine) == 0


def test_backup_deleted_before_drained_is_read_through_the_held_descriptor(engine, log_dir):
    """Between two passes of one process the live file is rotated and the backup deleted
    (MaxBackups) before it was read to its end: the descriptor held since the last pass still
    reads it whole. A restarted process holds nothing: there the loss is reported, exactly."""
    w = LogWriter(log_dir)
    w.write(*mixed(0, 400))
    ing = ingester(engine, log_dir, batch_bytes=4096)
    ing.run_pass(max_bytes=8192)                  # the live file is read only in part
    read = scalar(engine, "SELECT committed_offset FROM checkpoints")
    backup = w.rotate()
    assert 0 < read < os.path.getsize(backup)
    os.remove(backup)
    w.write(*mixed(400, 50))
    for _ in range(10):
        if ing.run_pass().complete:
            break
    assert db_events(engine) == expected_events(w.written)
    assert total_lines(engine) == len(w.written)
    assert lost(engine) == 0
    ing.run_pass()                                # drained and let go: gone, nothing lost
    assert scalar(engine, "SELECT COUNT(*) FROM log_files WHERE state = 'missing'") == 1
    assert lost(engine) == 0
