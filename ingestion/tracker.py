"""Which file is which generation: list the folder, open each file once, match, release.

The tracker is the identity half of a pass. It lists the folder, opens every file once and
takes its facts from that descriptor (a Sighting), matches the sightings to the known
generations (identity.assign), records claims and new generations, and, at the end of the
pass, releases the generations no file holds any more, but only if the folder held still.
Between passes it keeps caches (heads, gzip checks, copy comparisons) and the descriptors
of files not yet read to their end.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import resource
import zlib
from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa

from settings import Settings

from . import discover, identity, reader, store
from .identity import ACTIVE, MISSING, REPLACED, Generation, Sighting

log = logging.getLogger(__name__)

GZIP_CHECKS = 4      # gzip files being proven complete at once (each holds a descriptor)
HELD_FILES = 32      # files with bytes still to read kept open from one pass to the next


@dataclass
class ToRead:
    """A generation this pass may read, with the sighting (open file) to read it through."""
    gen: Generation
    sight: Sighting

    @property
    def pending(self) -> int:
        """Returns the bytes of the generation not read yet."""
        return self.sight.content_size - self.gen.offset


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
    deferred: int = 0                               # files left for a later pass

    def unsettle(self, why: str) -> None:
        self.unsettled.append(why)

    def close(self) -> None:
        for f in self.files:
            f.close()


class Tracker:
    """Tracks one log folder's files as generations; holds caches and descriptors, never the truth.

    ``seam`` is called at "listed", "opened", "marker" and "claimed" (see run.SEAMS).
    """

    def __init__(self, engine: sa.Engine, settings: Settings, seam: Callable[[str], None]):
        self.engine = engine
        self.settings = settings
        self._seam = seam
        self._heads: dict[tuple, tuple] = {}       # (dev, ino) -> ((size, mtime), head, content size)
        self._gzip: dict[tuple, object] = {}       # gzip version -> True, error text, or GzipCheck
        self._same: dict[tuple, bool] = {}         # content comparisons of copies
        self._held: dict[tuple, reader.OpenFile] = {}   # (dev, ino) -> file kept open between passes
        self._max_open = _raise_open_files_limit() - 64

    def scan(self, deadline: float | None) -> Scan:
        """Lists, opens and matches the folder's files; returns the work (claims are recorded)."""
        scan = Scan()
        # links out of the folder and folders it cannot list are reported with unreadable files
        cands = discover.candidate_paths(self.settings.log_dir, self.settings.log_name,
                                         scan.skipped)
        scan.listed = _listing(cands)
        scan.seen = {(c.dev, c.ino) for c in cands}
        self._seam("listed")
        with self.engine.begin() as conn:
            # Years of archives leave many generations that are gone for good: load them only
            # when a file turns up that the present ones do not account for by inode.
            gens = store.load_generations(conn, with_missing=False)
            present = {(g.dev, g.ino) for g in gens}
            if any((c.dev, c.ino) not in present for c in cands if c.size):
                gens = store.load_generations(conn)
        by_id = {g.id: g for g in gens}
        known_inodes = {(g.dev, g.ino) for g in gens}
        plain = {c.path for c in cands if not c.compressed}
        if len(cands) > self._max_open:        # more files than descriptors: the rest wait
            keep = [c for c in cands if c.live] + [c for c in cands if not c.live]
            cands = sorted(keep[:self._max_open], key=lambda c: c.path)
            scan.deferred += len(keep) - len(cands)
            scan.unsettle("more files than open descriptors allow")
        sights = []
        opened: set = set()
        for c in cands:
            sight = self._sight(scan, c, known_inodes, plain, opened, deadline)
            if sight is not None:
                sights.append(sight)
        sights += self._deleted_but_held(scan, opened)
        self._forget(scan)
        self._seam("opened")
        result = identity.assign(sights, gens, self.span, self._same_content)
        self._drop_rewritten(scan, result)
        scan.replaced = result.replaced
        with self.engine.begin() as conn:
            for gid, sight in result.claims.items():
                g = by_id[gid]
                self._claim(conn, g, sight)
                scan.work.append(ToRead(g, sight))
            for sight in result.new:
                gid = store.create_generation(conn, sight.head, sight.cand.dev, sight.cand.ino,
                                              sight.cand.path, sight.cand.compressed,
                                              sight.content_size, sight.first_ts)
                log.info("New file generation. path=%s file_id=%d", sight.cand.path, gid)
                scan.work.append(ToRead(Generation(gid, sight.head, sight.cand.dev, sight.cand.ino,
                                                  sight.cand.path, sight.cand.compressed, ACTIVE,
                                                  sight.content_size, sight.first_ts, 0, 0, b""),
                                       sight))
        scan.unclaimed = [g for g in gens if g.id not in result.claims]
        for sight, original in result.duplicates:
            log.debug("Copy of a known file, not read again. path=%s file_id=%s",
                      sight.cand.path, original)
        scan.work.sort(key=lambda w: (w.gen.first_ts or w.sight.first_ts or "9999",
                                      w.sight.cand.live, w.sight.cand.path))
        self._seam("claimed")
        return scan

    def _drop_rewritten(self, scan: Scan, result: identity.Assignment) -> None:
        """Leaves out of this pass the files rewritten in place since they were identified.

        A descriptor follows its file through renames, but a file can also be truncated and
        written again where it is (copytruncate) while the scan sights at it; its head and
        marker may then belong to different contents. Such a file waits for the next pass.
        """
        for gid, sight in list(result.claims.items()):
            if not holds(sight):
                del result.claims[gid]
                scan.unsettle(f"{sight.cand.path} was rewritten during the scan")
        for sight in list(result.new):
            if not holds(sight):
                result.new.remove(sight)
                scan.unsettle(f"{sight.cand.path} was rewritten during the scan")

    def _claim(self, conn, g: Generation, sight: Sighting) -> None:
        c = sight.cand
        if g.marker is None:            # checkpoint row was lost: rebuilt from the rows
            g.marker = self.span(sight, max(g.offset - reader.MARKER_BYTES, 0),
                                  min(g.offset, reader.MARKER_BYTES))
            store.restore_checkpoint(conn, g, g.marker)
            log.warning("Checkpoint rebuilt from stored rows. file_id=%d offset=%d", g.id, g.offset)
        changes = {}
        if (g.dev, g.ino, g.path, g.compressed) != (c.dev, c.ino, c.path, c.compressed):
            changes.update(dev=c.dev, ino=c.ino, path=c.path, compressed=int(c.compressed))
            if g.path != c.path:
                log.info("File moved. file_id=%d from=%s to=%s", g.id, g.path, c.path)
        if len(sight.head) > len(g.head):
            changes["head"] = sight.head      # the growing fingerprint is re-keyed, not re-read
        if g.state != ACTIVE or g.bytes_lost:
            changes.update(state=ACTIVE, bytes_lost=0)
        if g.size_seen != sight.content_size:
            changes["size_seen"] = sight.content_size
        if changes:
            store.update_generation(conn, g.id, **changes)
            for k, v in changes.items():
                setattr(g, k, bool(v) if k == "compressed" else v)

    def settle(self, conn, scan: Scan) -> None:
        """Releases the generations no file claimed, if the folder held still for this pass.

        A generation is missing only when no name in the folder holds its inode, in a pass in
        which every listed name opened as the file listed and a second listing, taken after
        the reads, equals the first. A rotation or a gzip caught half-way makes the pass
        leave its releases to the next one: a renamed file is never reported lost.
        """
        gone = [g for g in scan.unclaimed
                if g.id in scan.replaced or (g.dev, g.ino) not in scan.seen]
        if not gone:
            return
        if not scan.unsettled:
            try:
                again = _listing(discover.candidate_paths(self.settings.log_dir,
                                                          self.settings.log_name))
            except discover.LogDirMissing:
                again = frozenset()
            if again != scan.listed:
                scan.unsettle("the folder changed during the pass")
        if scan.unsettled:
            log.debug("Releases left to the next pass. reason=%s", scan.unsettled[0])
            return
        for g in gone:
            self._release(conn, g, REPLACED if g.id in scan.replaced else MISSING)

    def _release(self, conn, g: Generation, state: str) -> None:
        lost = max(g.size_seen - g.offset, 0)
        if g.state != state or g.bytes_lost != lost:
            if lost:
                log.warning("File gone before it was read to the end. file_id=%d path=%s "
                            "bytes_lost=%d", g.id, g.path, lost)
            store.update_generation(conn, g.id, state=state, bytes_lost=lost)

    def _sight(self, scan: Scan, c: discover.Candidate, known_inodes: set, plain: set,
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

    def _forget(self, scan: Scan) -> None:
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

    def _deleted_but_held(self, scan: Scan, opened: set) -> list[Sighting]:
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

    def span(self, sight: Sighting, start: int, length: int) -> bytes | None:
        self._seam("marker")
        try:
            return sight.file.span(start, length)
        except reader.UnreadableFile:
            return None

    def _same_content(self, original: Sighting, copy: Sighting) -> bool:
        """Returns True when ``copy`` repeats ``original`` (one is a prefix of the other).

        Cached by the copy's version and the original's inode: an original only grows.
        """
        c, o = copy.cand, original.cand
        key = (c.dev, c.ino, c.size, c.mtime, o.dev, o.ino)
        if key not in self._same:
            self._same[key] = _prefix_equal(original, copy)
        return self._same[key]


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


def _prefix_equal(a: Sighting, b: Sighting) -> bool:
    """Returns True when the shorter file's content is a prefix of the longer one's."""
    fa, fb = a.file.stream(), b.file.stream()
    try:
        with fa, fb:
            while True:
                x, y = fa.read(1 << 20), fb.read(1 << 20)
                n = min(len(x), len(y))
                if x[:n] != y[:n]:
                    return False
                if len(x) != len(y):
                    return True
                if not x:
                    return True
    except (OSError, EOFError, zlib.error):
        return False


def _listing(cands: list) -> frozenset:
    """Returns what identifies a listing of the folder: each name with its inode."""
    return frozenset((c.path, c.dev, c.ino) for c in cands)


def _raise_open_files_limit() -> int:
    """Raises the soft limit of open files to the hard one (a pass holds one per file); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < want:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
    return 65536 if soft == resource.RLIM_INFINITY else soft
