"""Which file is which generation: list the folder, open each file once, match, release.

The tracker is the identity half of a pass. It lists the folder, opens every file once and
takes its facts from that descriptor (a Sighting), matches the sightings to the known
generations (identity.assign), records claims and new generations, and, at the end of the
pass, releases the generations no file holds any more, but only if the folder held still.
Opening files and what is kept of them between passes (heads, gzip checks, descriptors of
files not read to their end) is sightings.py's.
"""
from __future__ import annotations

import logging
import os
import zlib
from typing import Callable

import sqlalchemy as sa

import db
from settings import Settings

from . import discover, identity, reader, store
from .identity import ACTIVE, MISSING, REPLACED, Generation, Sighting, ToRead
from .sightings import Scan, Sightings, holds

log = logging.getLogger(__name__)

# Held (briefly) by every node's pass while it checks and starts new generations.
NEW_FILE_LOCK = "new-file"


class Tracker:
    """Tracks one log folder's files as generations; holds caches and descriptors, never the truth.

    ``seam`` is called at "listed", "opened", "marker" and "claimed" (see run.SEAMS).
    """

    def __init__(self, engine: sa.Engine, settings: Settings, seam: Callable[[str], None]):
        self.engine = engine
        self.settings = settings
        self._seam = seam
        self.sightings = Sightings()
        self._same: dict[tuple, bool] = {}         # content comparisons of copies
        self._foreign_logged: set[tuple] = set()   # other nodes' files already logged
        self._foreign_heads: dict[bytes, str] = {}  # head of a file refused -> its node

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
            node = self.settings.node
            gens = store.load_generations(conn, node, with_missing=False)
            present = {(g.dev, g.ino) for g in gens}
            if any((c.dev, c.ino) not in present for c in cands if c.size):
                gens = store.load_generations(conn, node)
        by_id = {g.id: g for g in gens}
        known_inodes = {(g.dev, g.ino) for g in gens}
        plain = {c.path for c in cands if not c.compressed}
        if len(cands) > self.sightings.max_open:        # more files than descriptors: the rest wait
            keep = [c for c in cands if c.live] + [c for c in cands if not c.live]
            cands = sorted(keep[:self.sightings.max_open], key=lambda c: c.path)
            scan.deferred += len(keep) - len(cands)
            scan.unsettle("more files than open descriptors allow")
        sights = []
        opened: set = set()
        for c in cands:
            sight = self.sightings.sight(scan, c, known_inodes, plain, opened, deadline)
            if sight is not None:
                sights.append(sight)
        sights += self.sightings.deleted_but_held(scan, opened)
        self.sightings.forget(scan)
        self._seam("opened")
        result = identity.assign(sights, gens, self.span, self._same_content)
        self._drop_rewritten(scan, result)
        scan.replaced = result.replaced
        with self.engine.begin() as conn:
            for gid, sight in result.claims.items():
                g = by_id[gid]
                self._claim(conn, g, sight)
                scan.work.append(ToRead(g, sight))
        if result.new:
            self._create(scan, result.new)
        scan.unclaimed = [g for g in gens if g.id not in result.claims]
        for sight, original in result.duplicates:
            log.debug("Copy of a known file, not read again. path=%s file_id=%s",
                      sight.cand.path, original)
        scan.work.sort(key=lambda w: (w.gen.first_ts or w.sight.first_ts or "9999",
                                      w.sight.cand.live, w.sight.cand.path))
        self._seam("claimed")
        return scan

    def _create(self, scan: Scan, new: list[Sighting]) -> None:
        """Starts a generation, read from offset 0, for each new sighting, unless the folder
        holds another node's file (see _foreign_files).

        The check and the inserts run under one lock shared by all nodes, so two nodes'
        processes that list one folder at the same moment cannot both start the same file.
        Starting a generation is rare (a rotation, a new backup), so is this lock.
        """
        node = self.settings.node
        with db.exclusive(self.engine, NEW_FILE_LOCK, wait=True), self.engine.begin() as conn:
            if self._foreign_files(conn, scan, new):
                return
            for sight in new:
                gid = store.create_generation(conn, node, sight.head, sight.cand.dev,
                                              sight.cand.ino, sight.cand.path,
                                              sight.cand.compressed, sight.content_size,
                                              sight.first_ts)
                log.info("New file generation. path=%s file_id=%d", sight.cand.path, gid)
                gen = Generation(gid, sight.head, sight.cand.dev, sight.cand.ino,
                                 sight.cand.path, sight.cand.compressed, ACTIVE,
                                 sight.content_size, sight.first_ts, 0, 0, b"")
                scan.work.append(ToRead(gen, sight))

    def _foreign_files(self, conn, scan: Scan, new: list[Sighting]) -> bool:
        """Returns True (and records why in scan.foreign) when a new sighting is another
        node's file: the same device, inode and head as a generation of another node.

        That is one folder ingested under two node names (SFTPGO_NODE set for one process
        and not for another, a host renamed): reading it would count each line twice in the
        all-node figures. Then this node starts no file of the folder in this pass, not even
        one no node has yet (a new live file after a rotation would otherwise go to
        whichever node's pass came first). Its own generations are read on. A copy of
        another node's file is another inode: it is this node's, and read. A gzip of a file
        refused earlier by this process (a new inode, the same decompressed head) is
        refused too, even before the other node has claimed it.
        """
        node = self.settings.node
        for sight in new:
            owner = store.other_node_with(conn, node, sight.cand.dev, sight.cand.ino, sight.head)
            if owner is None:       # a gzip of a file refused before: a new inode, same bytes
                owner = next((o for h, o in self._foreign_heads.items()
                              if identity.heads_compatible(h, sight.head)), None)
            if owner is None:
                continue
            scan.foreign[sight.cand.path] = owner
            if len(self._foreign_heads) < 1024:
                self._foreign_heads[sight.head] = owner
            key = (sight.cand.dev, sight.cand.ino, owner)
            if key not in self._foreign_logged:
                self._foreign_logged.add(key)
                log.error("File not read: another node's file. path=%s node=%s owner=%s",
                          sight.cand.path, node, owner)
        return bool(scan.foreign)

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
        if not scan.listed:
            # SFTPGo's folder always holds its live log: an empty one is a share not mounted
            # (or being remounted), not every file deleted at once. Nothing is released, so
            # nothing is reported lost for a moment; the files are claimed again when back.
            scan.unsettle("the folder is empty (not mounted?): nothing released")
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

    def hold(self, work: list[ToRead]) -> None:
        """Keeps the files not read to their end open until the next pass."""
        self.sightings.hold(work)

    def close(self) -> None:
        """Closes the files held between passes."""
        self.sightings.close()


def foreign_problem(foreign: dict) -> str:
    """Returns the error of a pass that met other nodes' files (path -> owner node)."""
    by_owner: dict[str, list[str]] = {}
    for path, owner in sorted(foreign.items()):
        by_owner.setdefault(owner, []).append(os.path.basename(path))
    parts = []
    for owner, names in sorted(by_owner.items()):
        what = names[0] if len(names) == 1 else f"{names[0]} and {len(names) - 1} more files"
        parts.append(f"{what} {'is' if len(names) == 1 else 'are'} already node '{owner}''s "
                     f"file{'' if len(names) == 1 else 's'} (same device, inode and first "
                     f"bytes): is this folder ingested under two node names? Set "
                     f"SFTPGO_NODE={owner} (or --node {owner}) for this ingester; no file "
                     f"of the folder is started under this node meanwhile")
    return "; ".join(parts)


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
