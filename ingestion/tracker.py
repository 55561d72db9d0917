"""Which file is which generation: list the folder, open each file once, match, release.

The tracker is the identity half of a pass. It lists the folder, opens every file once and
takes its facts from that descriptor (a Sighting), matches the sightings to the known
generations (identity.assign), records claims and new generations, and, at the end of the
pass, releases the generations no file holds any more, but only if the folder held still.
Opening files and what is kept of them between passes (heads, gzip checks, descriptors of
files not read to their end) is sightings.py's.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from typing import Callable

import sqlalchemy as sa

import db
from settings import Settings

from . import discover, identity, parse, reader, store, views
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
            gens = store.load_generations(conn, node, with_missing=False)
            copies = store.load_copies(conn, node)
            by_version = {(c.dev, c.ino): c for c in cands}
            known = {(g.dev, g.ino) for g in gens} | {
                k[:2] for k, v in copies.items()
                if k[:2] in by_version and v.unchanged(by_version[k[:2]])}
            everything = any((c.dev, c.ino) not in known for c in cands if c.size)
            if everything:
                gens = store.load_generations(conn, node)
        p = _Pass(scan, gens, copies, cands, deadline, everything)
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
                store.forget_copies(conn, node, gone)
        scan.unclaimed = [g for g in p.gens if g.id not in p.taken]
        scan.work.sort(key=lambda w: (w.gen.first_ts or w.sight.first_ts or "9999",
                                      w.sight.cand.live, w.sight.cand.path, w.sight.base))
        self._passes += 1
        self._seam("claimed")
        return scan

    def _triage(self, p: "_Pass", cands: list) -> list:
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

    def _views(self, p: "_Pass", sight: Sighting) -> list[Sighting]:
        """Returns the parts of an opened file: its known generations' and copies' bases
        (those that still hold what they held); the whole file when it has none."""
        key = (sight.cand.dev, sight.cand.ino)
        parts = {g.base: g.head for g in p.gens_in.get(key, []) if g.base}
        for k in p.copies_in.get(key, []):
            if k.base and k.copy_of in p.by_id:
                parts.setdefault(k.base, p.by_id[k.copy_of].head)
        if not parts:
            return [sight]
        try:
            return views.split(sight, parts)
        except reader.UnreadableFile as exc:
            _skip_file(p.scan, sight.cand.path, exc)
            return []

    def _place(self, p: "_Pass", sights: list[Sighting]) -> list[ToRead]:
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
                    p.load(store.load_generations(conn, self.settings.node))
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

    def _next_part(self, p: "_Pass", g: Generation, sight: Sighting) -> Sighting | None:
        """Returns the view of what follows generation ``g`` in the file ``sight`` when ``g``
        was finished (seen whole in a file that is not the live one) and another generation's
        full head begins right after it (an archive joining backups); None otherwise (the
        file holds ``g`` alone, or ``g`` goes on: the live file, an archive appended to)."""
        if sight.cand.live or g.path == self._live_path or not g.size_seen \
                or sight.content_size <= g.size_seen:
            return None
        after = self._rest(p, sight, g.size_seen)
        if after is None:
            return None
        if not p.everything:                  # the generation after it may be a gone one
            with self.engine.connect() as conn:
                p.load(store.load_generations(conn, self.settings.node))
            p.everything = True
        if not any(h.head and after.head.startswith(h.head) for h in p.gens):
            return None
        log.info("File joins several generations. path=%s file_id=%d ends_at=%d",
                 sight.cand.path, g.id, sight.base + g.size_seen)
        return after

    def _rest(self, p: "_Pass", sight: Sighting, at: int) -> Sighting | None:
        """Returns the view of what follows the first ``at`` bytes of ``sight`` (None when its
        head cannot be read now)."""
        try:
            head = views.heads_at(sight.file, [sight.base + at])[sight.base + at]
        except (reader.UnreadableFile, KeyError) as exc:
            _skip_file(p.scan, sight.cand.path, exc)
            return None
        return views.part(sight, at, head) if head else None

    def _holder(self, p: "_Pass", gid: int) -> Sighting | None:
        """Returns a Sighting of the part of a file in the folder that holds generation
        ``gid`` (left closed this pass: settled, or not opened for want of descriptors, or
        read in this pass), opening it if need be; None when no listed file has its inode or
        it cannot be opened."""
        for w in p.scan.work:
            if w.gen.id == gid:
                return w.sight
        g = p.by_id[gid]
        c = p.lister.get((g.dev, g.ino))
        if c is None:
            return None
        sight = None
        for f in p.scan.files:             # opened already (for another comparison)
            if (f.dev, f.ino) == (c.dev, c.ino):
                cached = self.sightings._heads.get((f.dev, f.ino))
                sight = Sighting(c, cached[1], cached[2], f) if cached else None
                break
        else:
            sight = self.sightings.sight(p.scan, c, p.by_inode, p.plain, p.opened, p.deadline)
        if sight is None:
            return None
        return next((v for v in self._views(p, sight) if v.base == g.base), None)

    def _read_before(self, g: Generation, sight: Sighting) -> bool:
        """identity.read_before, with the evidence of the stored rows: the line at the last
        event stored for ``g`` within the file's length must be that event (its offsets and
        time). A file with the same first KiB whose line there differs is other content (a
        rewritten file): it is read, from 0."""
        if not identity.read_before(g, sight):
            return False
        with self.engine.connect() as conn:
            last = store.last_event_within(conn, g.id, sight.content_size)
        if last is None or last[1] <= len(sight.head):
            return True                    # nothing stored past the head: the head decides
        start, end, stored = last
        before = 1 if start else 0         # and the newline that ends the line before it
        line = self.span(sight, start - before, end - start + before)
        if line is None or not line.endswith(b"\n") or (before and line[:1] != b"\n"):
            return False
        row = parse.classify(line[before:-1])
        return type(row) is tuple and (row[0], row[2], row[3]) == stored

    def _record_copy(self, conn, p: "_Pass", sight: Sighting, original: int | None) -> None:
        """Records a copy found (a file, or a part of one), so later passes leave it closed:
        once every byte it repeats was read of its original's generation. Until then it is
        looked at again each pass (its original's file may go before it is read to the end,
        and then the copy is what is left of those bytes)."""
        key = sight.key
        known = p.copies.get(key)
        g = p.by_id.get(original) if original is not None else None
        if g is None or g.offset < sight.content_size:
            if known is not None:
                store.forget_copies(conn, self.settings.node, [key])
            return
        p.copies_found.add(key)
        if known is None or not known.unchanged(sight.cand) or known.copy_of != original \
                or known.content_size != sight.content_size:
            log.info("Copy of read bytes, not read again. path=%s base=%d file_id=%s",
                     sight.cand.path, sight.base, original)
            store.record_copy(conn, self.settings.node, sight, original)

    def _create(self, scan: Scan, new: list[Sighting]) -> list[ToRead]:
        """Starts a generation, read from offset 0, for each new sighting, unless the folder
        holds another node's file (see _foreign_files); returns their work.

        The check and the inserts run under one lock shared by all nodes, so two nodes'
        processes that list one folder at the same moment cannot both start the same file.
        Starting a generation is rare (a rotation, a new backup), so is this lock.
        """
        node = self.settings.node
        work = []
        with db.exclusive(self.engine, NEW_FILE_LOCK, wait=True), self.engine.begin() as conn:
            if self._foreign_files(conn, scan, new):
                return work
            for sight in new:
                c = sight.cand
                gid = store.create_generation(conn, node, sight.head, c.dev, c.ino, c.path,
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
        """Returns ``length`` bytes of a view's content at ``start`` (not past its end when
        another part follows), None when the file cannot be read now."""
        self._seam("marker")
        if not sight.last:
            length = max(min(length, sight.content_size - start), 0)
        try:
            return sight.file.span(sight.base + start, length)
        except reader.UnreadableFile:
            return None

    def _same_content(self, original: Sighting, copy: Sighting) -> bool:
        """Returns True when ``copy`` repeats ``original`` (one is a prefix of the other).

        Cached by the copy's version and the original's inode: an original only grows.
        """
        c, o = copy.cand, original.cand
        if o.live and not o.compressed:
            try:                           # a copy of the live file is never longer than it
                if copy.content_size > original.file.size():
                    return False
            except OSError:
                return False
        key = (c.dev, c.ino, c.size, c.mtime, copy.base, copy.content_size, o.dev, o.ino,
               original.base, original.content_size)
        if key not in self._same:
            self._same[key] = views.prefix_equal(original, copy)
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


def _skip_file(scan: Scan, path: str, exc: Exception) -> None:
    log.warning("File skipped for now. path=%s reason=%s", path, exc)
    scan.skipped[path] = str(exc) if path in str(exc) else f"{path}: {exc}"


def _listing(cands: list) -> frozenset:
    """Returns what identifies a listing of the folder: each name with its inode."""
    return frozenset((c.path, c.dev, c.ino) for c in cands)


class _Pass:
    """What one scan knows while it places files: the generations (by id, by file), the
    copies, the listing, and which generations a file of this pass holds."""

    def __init__(self, scan: Scan, gens: list, copies: dict, cands: list, deadline,
                 everything: bool):
        self.scan, self.copies, self.deadline = scan, copies, deadline
        self.everything = everything                     # gone generations loaded too
        self.load(gens)
        self.copies_in: dict[tuple, list] = {}
        for k in copies.values():
            self.copies_in.setdefault((k.dev, k.ino), []).append(k)
        self.lister = {(c.dev, c.ino): c for c in cands}
        self.plain = {c.path for c in cands if not c.compressed}
        self.opened: set = set()
        self.taken: set = set()                          # generations a file holds this pass
        self.copies_found: set = set()                   # (dev, ino, base) of copies seen

    def load(self, gens: list) -> None:
        """Takes the generations to match against (all of them, when called again: the
        ones the pass holds keep their objects)."""
        held = {g.id: g for g in getattr(self, "gens", [])}
        self.gens = [held.get(g.id, g) for g in gens]
        self.by_id = {g.id: g for g in self.gens}
        self.by_inode: dict[tuple, Generation] = {}      # a file's first part's generation
        self.gens_in: dict[tuple, list] = {}             # every generation of each file
        for g in self.gens:
            if g.dev is not None:
                self.gens_in.setdefault((g.dev, g.ino), []).append(g)
                if g.base == 0:
                    self.by_inode[(g.dev, g.ino)] = g

    def add(self, g: Generation) -> None:
        """Adds a generation started in this pass."""
        self.gens.append(g)
        self.by_id[g.id] = g
        self.taken.add(g.id)
