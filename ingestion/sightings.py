"""Open the folder's files as Sightings, a slice at a time; keep what is worth keeping between passes.

Sightings opens listed files (one descriptor each, identity from fstat), reads their heads
(cached per file version), proves new archive versions complete and measures their content
(a slice of work per pass, once per version, bad ones included), and holds the descriptors
of files not read to their end until the next pass, so a backup deleted before it was
drained is still read through them. It never needs every file open at once: a pass opens
what its descriptor budget allows (``open_budget``) and the rest take their turn later.
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

ARCHIVE_CHECKS = 4   # archives being proven complete at once (each holds a descriptor)
HELD_FILES = 32      # files with bytes still to read kept open from one pass to the next
HELD_READERS = 4     # archive readers kept positioned from one pass to the next
OPEN_SLICE = 512     # files one pass opens at most, whatever the descriptor limit
SPARE_FDS = 64       # descriptors left for the database, sockets and the rest of the process


@dataclass
class Scan:
    """What the scan of one pass found: the work, and what it needs to judge the rest."""
    work: list[ToRead] = field(default_factory=list)
    settled: list = field(default_factory=list)     # generations left closed: unchanged, read
    files: list = field(default_factory=list)       # every OpenFile of the pass, closed at its end
    listed: frozenset = frozenset()                 # (path, dev, ino) of the first listing
    seen: set = field(default_factory=set)          # inodes listed or opened: not missing
    unclaimed: list = field(default_factory=list)   # present generations no file claimed
    replaced: set = field(default_factory=set)      # generation ids whose inode holds other bytes
    unsettled: list = field(default_factory=list)   # why the folder did not hold still
    skipped: dict = field(default_factory=dict)     # path -> why it could not be read now
    foreign: dict = field(default_factory=dict)     # path -> the other node whose file it is
    deferred: int = 0                               # files left for a later pass
    waiting_bytes: int = 0                          # their size on disk
    opened: int = 0                                 # files this pass opened
    ctx: object = None                              # the tracker's state of this pass

    def unsettle(self, why: str) -> None:
        self.unsettled.append(why)

    def wait(self, c: discover.Candidate) -> None:
        """Leaves a file for a later pass (counted as pending until it is read)."""
        self.deferred += 1
        self.waiting_bytes += c.size

    def close(self) -> None:
        for f in self.files:
            f.close()


class Sightings:
    """Opens a pass's files as Sightings; holds caches and descriptors between passes.

    ``head_bytes``: how much of a file's start is read as its head; ``open_slice``: the files
    one pass opens at most (the constants by default; a test passes others).
    """

    def __init__(self, head_bytes: int = reader.HEAD_BYTES, open_slice: int = OPEN_SLICE):
        self.head_bytes = head_bytes
        self.open_slice = open_slice
        self._heads: dict[tuple, tuple] = {}       # (dev, ino) -> (version, head, content size)
        self._archives: dict[tuple, object] = {}   # archive version -> size, error text, or ArchiveCheck
        self._held: dict[tuple, reader.OpenFile] = {}   # (dev, ino) -> file kept open between passes
        self._readers: dict[tuple, reader.LineReader] = {}   # (gen id, dev, ino, version) -> reader
        self.max_open = _raise_open_files_limit()

    def open_budget(self) -> int:
        """Returns how many more files a pass may open now (at least a few)."""
        try:
            in_use = len(os.listdir("/proc/self/fd"))
        except OSError:
            in_use = len(self._held) + len(self._readers) + ARCHIVE_CHECKS + SPARE_FDS
        return max(min(self.max_open - in_use - SPARE_FDS, self.open_slice), 8)

    def sight(self, scan: Scan, c: discover.Candidate, known: dict, plain: set,
              opened: set, deadline: float | None) -> Sighting | None:
        """Opens a candidate once and returns its content facts, or None when it cannot be told yet.

        The Sighting's stat facts are those of the open descriptor, not of the name as listed.
        ``known`` maps (dev, ino) to the generation last seen there: an archive version it
        measured already is not decompressed again.
        """
        if c.size == 0:
            return None                  # lumberjack's empty new file: nothing to identify yet
        if c.compressed and c.stem in plain:
            return None                  # its .log is still here: the archive is being written
        try:
            f = reader.OpenFile(c.path, c.compressed)
        except reader.UnreadableFile as exc:
            if not os.path.lexists(c.path):
                scan.unsettle(f"{c.path} vanished after it was listed")
            else:
                _skip(scan, c.path, exc)
            return None
        scan.files.append(f)
        scan.opened += 1
        key = (f.dev, f.ino)
        if key != (c.dev, c.ino):
            scan.unsettle(f"{c.path} holds another file than listed")
            scan.seen.add(key)
        if key in opened:
            return None                  # one file reached by two names during a rename
        opened.add(key)
        c = dataclasses.replace(c, dev=f.dev, ino=f.ino, size=f.disk_size, mtime=f.mtime,
                                mtime_ns=f.mtime_ns)
        cached = self._heads.get(key)
        if cached is not None and cached[0] == f.version:
            return Sighting(c, cached[1], cached[2], f)
        try:
            if c.compressed:
                # Never match or read an archive still being written or cut short; its
                # content size is what decompressing it all gave.
                size = self._content_size(f, known.get(key), deadline)
                if size is None:
                    scan.wait(c)
                    scan.unsettle(f"{c.path} is being checked")
                    return None
            else:
                size = f.disk_size
            head = f.head(self.head_bytes)
        except (reader.UnreadableFile, OSError) as exc:
            _skip(scan, c.path, exc)
            return None
        if not head:
            return None
        self._heads[key] = (f.version, head, size)
        return Sighting(c, head, size, f)

    def _content_size(self, f: reader.OpenFile, gen, deadline: float | None) -> int | None:
        """Returns the content size of this version of an archive, None while it is being
        measured (a slice of the work per pass when the pass has a deadline).

        A version measured before (by this process, or by any pass whose generation row
        kept it: the same size on disk and mtime) is not measured again. Raises
        UnreadableFile when it is incomplete or corrupt; a bad version is left alone until
        it changes.
        """
        if gen is not None and gen.compressed and (gen.disk_size, gen.mtime_ns) == f.version:
            return gen.size_seen
        key = (f.dev, f.ino, *f.version)
        state = self._archives.get(key)
        if isinstance(state, int):
            return state
        if isinstance(state, str):
            raise reader.UnreadableFile(state)
        if state is None:
            if sum(isinstance(v, reader.ArchiveCheck) for v in self._archives.values()) \
                    >= ARCHIVE_CHECKS:
                return None
            state = self._archives[key] = reader.ArchiveCheck(f)
        try:
            done = state.step(deadline)
        except reader.UnreadableFile as exc:
            self._archives[key] = str(exc)
            raise
        if not done:
            return None
        self._archives[key] = state.size
        return state.size

    def forget(self, scan: Scan) -> None:
        """Drops cached facts of files no longer in the folder (and closes their checks)."""
        live = {(f.dev, f.ino) for f in scan.files} | scan.seen
        for key in [k for k in self._archives if k[:2] not in live]:
            state = self._archives.pop(key)
            if isinstance(state, reader.ArchiveCheck):
                state.close()
        for key in [k for k in self._heads if k not in live]:
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

    # --- archive readers kept between passes ------------------------------------------------

    def reader(self, w: ToRead, max_line_bytes: int) -> reader.LineReader:
        """Returns a line reader of ``w`` at its generation's offset: for an archive, the one
        a previous pass left positioned there if there is one (getting to an offset deep in
        an archive means decompressing all before it), else a new one."""
        at = w.sight.base + w.gen.offset
        if not w.sight.cand.compressed:
            return reader.LineReader(w.sight.file, at, max_line_bytes)
        key = _reader_key(w)
        kept = self._readers.pop(key, None)
        if kept is not None and kept.offset <= at:
            kept.advance_to(at)
            return kept
        if kept is not None:
            kept.close()
        return reader.LineReader(w.sight.file, at, max_line_bytes, owned=True)

    def done_with(self, w: ToRead, rd: reader.LineReader) -> None:
        """Takes back a reader after a pass: an archive's, with bytes still to read, is kept
        (a few at most) for the next pass; any other is closed."""
        if w.sight.cand.compressed and w.sight.base + w.sight.content_size > rd.offset \
                and len(self._readers) < HELD_READERS:
            self._readers[_reader_key(w)] = rd
        else:
            rd.close()

    def deleted_but_held(self, scan: Scan, opened: set) -> list[Sighting]:
        """Returns Sightings of held files that were deleted since the last pass (no name left)."""
        sights = []
        for key, held in self._held.items():
            if key in opened:
                continue
            cached = self._heads.get(key)
            try:
                st = os.fstat(held.fd)
                if st.st_nlink:
                    continue             # moved out of the folder, not deleted: not ours to read
                if held.compressed and cached is None:
                    continue             # an archive's size is only known once measured
                f = held.dup()
            except OSError:
                continue
            scan.files.append(f)
            try:
                head = cached[1] if cached else f.head(self.head_bytes)
                size = cached[2] if held.compressed else f.size()
            except (reader.UnreadableFile, OSError):
                continue
            c = discover.Candidate(f.path, f.dev, f.ino, st.st_size, st.st_mtime,
                                   compressed=f.compressed, live=False, mtime_ns=st.st_mtime_ns,
                                   deleted=True)
            log.info("Reading a deleted file through the descriptor held. path=%s", f.path)
            sights.append(Sighting(c, head, size, f))
            opened.add(key)
        return sights

    def close(self) -> None:
        """Closes the files and readers held between passes, and the checks under way."""
        for f in self._held.values():
            f.close()
        self._held = {}
        for rd in self._readers.values():
            rd.close()
        self._readers = {}
        for state in self._archives.values():
            if isinstance(state, reader.ArchiveCheck):
                state.close()
        self._archives = {k: v for k, v in self._archives.items()
                          if not isinstance(v, reader.ArchiveCheck)}


def _reader_key(w: ToRead) -> tuple:
    """Readers kept are found by file version: any part of that file may go on with one."""
    c = w.sight.cand
    return (c.dev, c.ino, c.size, c.mtime_ns)


def _skip(scan: Scan, path: str, exc: Exception) -> None:
    log.warning("File skipped for now. path=%s reason=%s", path, exc)
    scan.skipped[path] = str(exc) if path in str(exc) else f"{path}: {exc}"


def holds(sight: Sighting, end: int = 0) -> bool:
    """Returns True when a file still holds what was identified (and at least ``end`` bytes).

    A descriptor cannot be renamed away, but the file itself can be truncated and rewritten in
    place (copytruncate): then bytes read from it may be another generation's. An archive is
    never rewritten in place.
    """
    if sight.cand.compressed:
        return True
    f = sight.file
    try:
        return (f.size() >= max(end, sight.base + sight.content_size)
                and f.span(sight.base, len(sight.head)) == sight.head)
    except (OSError, reader.UnreadableFile):
        return False


def _raise_open_files_limit() -> int:
    """Raises the soft limit of open files to the hard one; returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < want:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
    return 65536 if soft == resource.RLIM_INFINITY else soft
