"""Which file is which generation: list the folder, open each file once, match, release.

The tracker is the identity half of a pass. It lists the folder, opens every file once and
takes its facts from that descriptor (a Sighting), matches the sightings to the known
generations (identity.assign), records claims and new generations, and, at the end of the
pass, releases the generations no file holds any more, but only if the folder held still.
Splitting a file into parts and recognising copies is parts.py's; opening files and what is
kept of them between passes (heads, gzip checks, descriptors of files not read to their end)
is sightings.py's.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from typing import Callable

import sqlalchemy as sa

import db_locks
from settings import Settings

from . import discover, generations, identity, reader
from .identity import ACTIVE, MISSING, REPLACED, Generation, Sighting, ToRead
from .parts import Parts, PassState
from .sightings import OPEN_SLICE, Scan, Sightings, holds

log = logging.getLogger(__name__)

# Held (briefly) by every node's pass while it checks and starts new generations.
NEW_FILE_LOCK = "new-file"


class Tracker(Parts):
    """Tracks one log folder's files as generations; holds caches and descriptors, never the truth.

    ``seam`` is called at "listed", "opened", "marker" and "claimed" (see run.SEAMS).
    ``head_bytes`` and ``open_slice``: see Sightings.
    """

    def __init__(self, engine: sa.Engine, settings: Settings, seam: Callable[[str], None], *,
                 head_bytes: int = reader.HEAD_BYTES, open_slice: int = OPEN_SLICE):
        self.engine = engine
        self.settings = settings
        self._seam = seam
        self.sightings = Sightings(head_bytes, open_slice)
        self._same: dict[tuple, bool] = {}         # content comparisons of copies
        self._foreign_logged: set[tuple] = set()   # other nodes' files already logged
        self._foreign_heads: dict[bytes, str] = {}  # head of a file refused -> its node
        self._turn: dict[tuple, int] = {}           # (dev, ino) -> the pass that last opened it
        self._passes = 0
        self._live_path = os.path.join(settings.log_dir, f"{settings.log_name}.log")

    def scan(self, deadline: float | None) -> Scan:
        """Lists, opens and matches the folder's files; returns the work (claims are recorded).

        Files unchanged since a pass read them to their end (and known copies) are left
        closed. Of the rest, the pass opens what its descriptor budget allows, the files
        with known bytes to read first and those that waited longest next; the others wait
        for a later pass and count as pending meanwhile. A file that holds several
        generations (an archive joining backups) is split into its known parts (views.py).
        """
        scan = Scan()
        # links out of the folder, folders it cannot list and archives in a compression that
        # is not read are reported with unreadable files
        cands = discover.candidate_paths(self.settings.log_dir, self.settings.log_name,
                                         scan.skipped)
        scan.listed = _listing(cands)
        scan.seen = {(c.dev, c.ino) for c in cands}
        self._seam("listed")
        node = self.settings.node
        with self.engine.begin() as conn:
            # Years of archives leave many generations that are gone for good: load them only
            # when a file turns up that the present ones and the copies do not account for
            # (here, or when the files are matched: _place).
            gens = generations.load_generations(conn, node, with_missing=False)
            copies = generations.load_copies(conn, node)
            by_version = {(c.dev, c.ino): c for c in cands}
            known = {(g.dev, g.ino) for g in gens} | {
                k[:2] for k, v in copies.items()
                if k[:2] in by_version and v.unchanged(by_version[k[:2]])}
            everything = any((c.dev, c.ino) not in known for c in cands if c.size)
            if everything:
                gens = generations.load_generations(conn, node)
        p = PassState(scan, gens, copies, cands, deadline, everything)
        scan.ctx = p
        look = self._triage(p, cands)
        budget = self.sightings.open_budget()
        sights = []
        for c in look:
            if scan.opened >= budget:
                scan.wait(c)             # no descriptor for it this pass: its turn comes
                continue
            self._turn[(c.dev, c.ino)] = self._passes
            sight = self.sightings.sight(scan, c, p.by_inode, p.plain, p.opened, deadline)
            if sight is not None:
                sights += self._views(p, sight)
        if scan.deferred:
            log.info("Files left for a later pass. files=%d bytes=%d", scan.deferred,
                     scan.waiting_bytes)
        for sight in self.sightings.deleted_but_held(scan, p.opened):
            sights += self._views(p, sight)
        self.sightings.forget(scan)
        self._seam("opened")
        self._place(p, sights)
        with self.engine.begin() as conn:
            gone = [k for k in copies if k[:2] not in p.lister and k not in p.copies_found]
            if gone:
                generations.forget_copies(conn, node, gone)
        scan.unclaimed = [g for g in p.gens if g.id not in p.taken]
        scan.work.sort(key=lambda w: (w.gen.first_ts or w.sight.first_ts or "9999",
                                      w.sight.cand.live, w.sight.cand.path, w.sight.base))
        self._passes += 1
        self._seam("claimed")
        return scan

    def _triage(self, p: "PassState", cands: list) -> list:
        """Returns the files this pass must look at, in the order to open them; sets aside
        the generations whose file is unchanged and read (scan.settled) and known copies.

        The live file is always looked at (it is held open between passes); then the files
        of known generations (bytes to read, or moved), then the others, those that waited
        longest first.
        """
        look = []
        for c in cands:
            key = (c.dev, c.ino)
            gens, copies = p.gens_in.get(key, []), p.copies_in.get(key, [])
            if not c.live and (gens or copies) and all(g.unchanged(c) for g in gens) \
                    and all(k.unchanged(c) for k in copies):
                p.scan.settled += gens
                p.taken.update(g.id for g in gens)
                p.copies_found.update((k.dev, k.ino, k.base) for k in copies)
            else:
                look.append(c)
        return sorted(look, key=lambda c: (not c.live, (c.dev, c.ino) not in p.gens_in,
                                           self._turn.get((c.dev, c.ino), -1), c.path))

    def _place(self, p: "PassState", sights: list[Sighting]) -> list[ToRead]:
        """Matches views to generations (identity.assign), records claims, copies and new
        generations; a copy shorter than its view leaves the rest of the view to be placed
        in turn. Returns the work it added."""
        added = []
        while sights:
            result = identity.assign(sights, p.gens, self.span, self._same_content,
                                     frozenset(p.taken), holder=lambda gid: self._holder(p, gid),
                                     before=self._read_before)
            if (result.new or result.replaced or result.duplicates) and not p.everything:
                with self.engine.connect() as conn:   # a gone generation may account for it
                    p.load(generations.load_generations(conn, self.settings.node))
                p.everything = True
                continue
            self._drop_rewritten(p.scan, result)
            p.scan.replaced |= result.replaced
            p.scan.settled = [g for g in p.scan.settled if g.id not in result.settled_away]
            rest = []
            with self.engine.begin() as conn:
                for gid, sight in result.claims.items():
                    g = p.by_id[gid]
                    after = self._next_part(p, g, sight)
                    if after is not None:     # the file joins more after this generation
                        rest.append(after)
                        sight = dataclasses.replace(sight, content_size=g.size_seen,
                                                    last=False)
                    self._claim(conn, g, sight)
                    added.append(ToRead(g, sight))
                    p.taken.add(gid)
                for sight, original, covered in result.duplicates:
                    if covered < sight.content_size:
                        rest.append(self._rest(p, sight, covered))
                        sight = dataclasses.replace(sight, content_size=covered, last=False)
                    self._record_copy(conn, p, sight, original)
            if result.new:
                for w in self._create(p.scan, result.new):
                    p.add(w.gen)
                    added.append(w)
            for sight in result.waiting:
                p.scan.wait(sight.cand)
            sights = [s for s in rest if s is not None]
        p.scan.work += added
        return added

    def _create(self, scan: Scan, new: list[Sighting]) -> list[ToRead]:
        """Starts a generation, read from offset 0, for each new sighting, unless the folder
        holds another node's file (see _foreign_files); returns their work.

        The check and the inserts run under one lock shared by all nodes, so two nodes'
        processes that list one folder at the same moment cannot both start the same file.
        Starting a generation is rare (a rotation, a new backup), so is this lock.
        """
        node = self.settings.node
        work = []
        with db_locks.exclusive(self.engine, NEW_FILE_LOCK, wait=True), self.engine.begin() as conn:
            if self._foreign_files(conn, scan, new):
                return work
            for sight in new:
                c = sight.cand
                gid = generations.create_generation(conn, node, sight.head, c.dev, c.ino, c.path,
                                              c.compressed, sight.content_size,
                                              sight.first_ts, c.version, sight.base)
                log.info("New file generation. path=%s base=%d file_id=%d", c.path,
                         sight.base, gid)
                gen = Generation(gid, sight.head, c.dev, c.ino, c.path, c.compressed, ACTIVE,
                                 sight.content_size, sight.first_ts, 0, 0, b"",
                                 disk_size=c.size, mtime_ns=c.mtime_ns, base=sight.base)
                work.append(ToRead(gen, sight))
        return work

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
            owner = generations.other_node_with(conn, node, sight.cand.dev, sight.cand.ino, sight.head)
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
            generations.restore_checkpoint(conn, g, g.marker)
            log.warning("Checkpoint rebuilt from stored rows. file_id=%d offset=%d", g.id, g.offset)
        changes = {}
        # where it was last seen; a file deleted while held open is no longer the live one
        path = f"{c.path} (deleted)" if c.deleted else c.path
        if (g.dev, g.ino, g.path, g.compressed, g.base) != \
                (c.dev, c.ino, path, c.compressed, sight.base):
            changes.update(dev=c.dev, ino=c.ino, path=path, compressed=int(c.compressed),
                           base=sight.base)
            if g.path != path:
                log.info("File moved. file_id=%d from=%s to=%s", g.id, g.path, path)
        if len(sight.head) > len(g.head):
            changes["head"] = sight.head      # the growing fingerprint is re-keyed, not re-read
        # size_seen is the most this generation was ever seen to hold; a file holding less
        # of it (a partial copy, found after the whole file went) leaves the rest lost.
        lost = max(g.size_seen - sight.content_size, 0)
        if g.state != ACTIVE or g.bytes_lost != lost:
            changes.update(state=ACTIVE, bytes_lost=lost)
            if lost:
                log.warning("File holds less than was seen of it. file_id=%d path=%s "
                            "bytes_lost=%d", g.id, c.path, lost)
        if sight.content_size > g.size_seen:
            changes["size_seen"] = sight.content_size
        if (g.disk_size, g.mtime_ns) != c.version:
            changes.update(disk_size=c.size, mtime_ns=c.mtime_ns)
        if changes:
            generations.update_generation(conn, g.id, **changes)
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
            generations.update_generation(conn, g.id, state=state, bytes_lost=lost)

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


def _listing(cands: list) -> frozenset:
    """Returns what identifies a listing of the folder: each name with its inode."""
    return frozenset((c.path, c.dev, c.ino) for c in cands)
