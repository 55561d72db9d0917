"""Open each file of the folder once, as a Sighting; keep what is worth keeping between passes.

Sightings opens the listed files (one descriptor each, identity from fstat), reads their
heads (cached per file version), proves new gzip files complete (a slice per pass, once per
version, bad ones included), and holds the descriptors of files not read to their end until
the next pass, so a backup deleted before it was drained is still read through them.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import resource
from dataclasses import dataclass, field

from . import discover, reader
from .identity import Sighting, ToRead

log = logging.getLogger(__name__)

GZIP_CHECKS = 4      # gzip files being proven complete at once (each holds a descriptor)
HELD_FILES = 32      # files with bytes still to read kept open from one pass to the next


@dataclass
class Scan:
    """What the scan of one pass found: the work, and what it needs to judge the rest."""
    work: list[ToRead] = field(default_factory=list)
    files: list = field(default_factory=list)       # every OpenFile of the pass, closed at its end
    listed: frozenset = frozenset()                 # (path, dev, ino) of the first listing
    seen: set = field(default_factory=set)          # inodes listed or opened: not missing
    unclaimed: list = field(default_factory=list)   # present generations no file claimed
    replaced: set = field(default_factory=set)      # generation ids whose inode holds other bytes
    unsettled: list = field(default_factory=list)   # why the folder did not hold still
    skipped: dict = field(default_factory=dict)     # path -> why it could not be read now
    foreign: dict = field(default_factory=dict)     # path -> the other node whose file it is
    deferred: int = 0                               # files left for a later pass

    def unsettle(self, why: str) -> None:
        self.unsettled.append(why)

    def close(self) -> None:
        for f in self.files:
            f.close()


class Sightings:
    """Opens a pass's files as Sightings; holds caches and descriptors between passes."""

    def __init__(self):
        self._heads: dict[tuple, tuple] = {}       # (dev, ino) -> ((size, mtime), head, content size)
        self._gzip: dict[tuple, object] = {}       # gzip version -> True, error text, or GzipCheck
        self._held: dict[tuple, reader.OpenFile] = {}   # (dev, ino) -> file kept open between passes
        self.max_open = _raise_open_files_limit() - 64

    def sight(self, scan: Scan, c: discover.Candidate, known_inodes: set, plain: set,
              opened: set, deadline: float | None) -> Sighting | None:
        """Opens a candidate once and returns its content facts, or None when it cannot be told yet.

        The Sighting's stat facts are those of the open descriptor, not of the name as listed.
        """
        if c.size == 0:
            return None                  # lumberjack's empty new file: nothing to identify yet
        if c.compressed and c.stem in plain:
            return None                  # its .log is still here: the gzip is being written
        try:
            f = reader.OpenFile(c.path, c.compressed)
        except reader.UnreadableFile as exc:
            if not os.path.lexists(c.path):
                scan.unsettle(f"{c.path} vanished after it was listed")
            else:
                _skip(scan, c.path, exc)
            return None
        scan.files.append(f)
        key = (f.dev, f.ino)
        if key != (c.dev, c.ino):
            scan.unsettle(f"{c.path} holds another file than listed")
            scan.seen.add(key)
        if key in opened:
            return None                  # one file reached by two names during a rename
        opened.add(key)
        c = dataclasses.replace(c, dev=f.dev, ino=f.ino, size=f.disk_size, mtime=f.mtime)
        version = (f.disk_size, f.mtime)
        cached = self._heads.get(key)
        if cached is not None and cached[0] == version:
            return Sighting(c, cached[1], cached[2], f)
        try:
            if c.compressed and key not in known_inodes:
                # Never match or read a gzip still being written or cut short.
                if not self._gzip_checked(f, deadline):
                    scan.deferred += 1
                    scan.unsettle(f"{c.path} is being checked")
                    return None
            head = f.head()
            size = f.content_size() if c.compressed else f.disk_size
        except (reader.UnreadableFile, OSError) as exc:
            _skip(scan, c.path, exc)
            return None
        if not head:
            return None
        self._heads[key] = (version, head, size)
        return Sighting(c, head, size, f)

    def _gzip_checked(self, f: reader.OpenFile, deadline: float | None) -> bool:
        """Returns True once this version of a gzip proved complete, False while still checking.

        Raises UnreadableFile when it is incomplete or corrupt. Each version (inode, size,
        mtime) is checked once, a slice per pass when the pass has a deadline; a bad one is
        left alone until it changes.
        """
        key = (f.dev, f.ino, f.disk_size, f.mtime)
        state = self._gzip.get(key)
        if state is True:
            return True
        if isinstance(state, str):
            raise reader.UnreadableFile(state)
        if state is None:
            if sum(isinstance(v, reader.GzipCheck) for v in self._gzip.values()) >= GZIP_CHECKS:
                return False
            state = self._gzip[key] = reader.GzipCheck(f)
        try:
            done = state.step(deadline)
        except reader.UnreadableFile as exc:
            self._gzip[key] = str(exc)
            raise
        if done:
            self._gzip[key] = True
        return done

    def forget(self, scan: Scan) -> None:
        """Drops cached facts of files no longer in the folder (and closes their gzip checks)."""
        live = {(f.dev, f.ino) for f in scan.files}
        for key in [k for k in self._gzip if k[:2] not in live]:
            state = self._gzip.pop(key)
            if isinstance(state, reader.GzipCheck):
                state.close()
        for key in [k for k in self._heads if k not in live and k not in scan.seen]:
            del self._heads[key]

    def hold(self, work: list[ToRead]) -> None:
        """Keeps open, until the next pass, the live file and the files not read to their end.

        A backup deleted (pruned) before it was drained is then still read to its end through
        the descriptor, as a tailer that keeps its files open does, instead of being lost.
        """
        keep: dict[tuple, reader.OpenFile] = {}
        for w in work:
            if len(keep) >= HELD_FILES:
                break
            if w.sight.cand.live or w.pending > 0:
                key = (w.sight.cand.dev, w.sight.cand.ino)
                keep[key] = self._held.pop(key, None) or w.sight.file.dup()
        for f in self._held.values():
            f.close()
        self._held = keep

    def deleted_but_held(self, scan: Scan, opened: set) -> list[Sighting]:
        """Returns Looks of held files that were deleted since the last pass (no name left)."""
        sights = []
        for key, held in self._held.items():
            if key in opened:
                continue
            try:
                st = os.fstat(held.fd)
                if st.st_nlink:
                    continue             # moved out of the folder, not deleted: not ours to read
                f = held.dup()
            except OSError:
                continue
            scan.files.append(f)
            cached = self._heads.get(key)
            try:
                head = cached[1] if cached else f.head()
                size = f.content_size()
            except (reader.UnreadableFile, OSError):
                continue
            c = discover.Candidate(f.path, f.dev, f.ino, st.st_size, st.st_mtime,
                                   compressed=f.compressed, live=False)
            log.info("Reading a deleted file through the descriptor held. path=%s", f.path)
            sights.append(Sighting(c, head, size, f))
            opened.add(key)
        return sights

    def close(self) -> None:
        """Closes the files held between passes."""
        for f in self._held.values():
            f.close()
        self._held = {}


def _skip(scan: Scan, path: str, exc: Exception) -> None:
    log.warning("File skipped for now. path=%s reason=%s", path, exc)
    scan.skipped[path] = str(exc) if path in str(exc) else f"{path}: {exc}"


def holds(sight: Sighting, end: int = 0) -> bool:
    """Returns True when a file still holds what was identified (and at least ``end`` bytes).

    A descriptor cannot be renamed away, but the file itself can be truncated and rewritten in
    place (copytruncate): then bytes read from it may be another generation's. A gzip is never
    rewritten in place.
    """
    if sight.cand.compressed:
        return True
    f = sight.file
    try:
        return (os.fstat(f.fd).st_size >= max(end, sight.content_size)
                and f.head().startswith(sight.head))
    except (OSError, reader.UnreadableFile):
        return False


def _raise_open_files_limit() -> int:
    """Raises the soft limit of open files to the hard one (a pass holds one per file); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < want:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
    return 65536 if soft == resource.RLIM_INFINITY else soft
