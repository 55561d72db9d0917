"""The parts of files a pass places: the views of a file that joins several generations (an
archive of backups one after another), the copies of bytes already read, and what one pass
knows while it places them (PassState). The tracker's half that looks inside files; tracker.py
lists, claims and releases.
"""
from __future__ import annotations

import logging

from . import generations, identity, parse, reader, views
from .identity import Generation, Sighting
from .sightings import Scan

log = logging.getLogger(__name__)


class Parts:
    """The Tracker's methods that split files into parts and compare them (a mixin: they use
    its engine, settings, sightings, content cache and seam)."""

    def _views(self, p: "PassState", sight: Sighting) -> list[Sighting]:
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
            return views.split(sight, parts, self.sightings.head_bytes)
        except reader.UnreadableFile as exc:
            skip_file(p.scan, sight.cand.path, exc)
            return []

    def _next_part(self, p: "PassState", g: Generation, sight: Sighting) -> Sighting | None:
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
                p.load(generations.load_generations(conn, self.settings.node))
            p.everything = True
        if not any(h.head and after.head.startswith(h.head) for h in p.gens):
            return None
        log.info("File joins several generations. path=%s file_id=%d ends_at=%d",
                 sight.cand.path, g.id, sight.base + g.size_seen)
        return after

    def _rest(self, p: "PassState", sight: Sighting, at: int) -> Sighting | None:
        """Returns the view of what follows the first ``at`` bytes of ``sight`` (None when its
        head cannot be read now)."""
        start = sight.base + at
        try:
            head = views.heads_at(sight.file, [start], self.sightings.head_bytes)[start]
        except (reader.UnreadableFile, KeyError) as exc:
            skip_file(p.scan, sight.cand.path, exc)
            return None
        return views.part(sight, at, head) if head else None

    def _holder(self, p: "PassState", gid: int) -> Sighting | None:
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
            last = generations.last_event_within(conn, g.id, sight.content_size)
        if last is None or last[1] <= len(sight.head):
            return True                    # nothing stored past the head: the head decides
        start, end, stored = last
        before = 1 if start else 0         # and the newline that ends the line before it
        line = self.span(sight, start - before, end - start + before)
        if line is None or not line.endswith(b"\n") or (before and line[:1] != b"\n"):
            return False
        row = parse.classify(line[before:-1])
        return type(row) is tuple and (row[0], row[2], row[3]) == stored

    def _record_copy(self, conn, p: "PassState", sight: Sighting, original: int | None) -> None:
        """Records a copy found (a file, or a part of one), so later passes leave it closed:
        once every byte it repeats was read of its original's generation. Until then it is
        looked at again each pass (its original's file may go before it is read to the end,
        and then the copy is what is left of those bytes)."""
        key = sight.key
        known = p.copies.get(key)
        g = p.by_id.get(original) if original is not None else None
        if g is None or g.offset < sight.content_size:
            if known is not None:
                generations.forget_copies(conn, self.settings.node, [key])
            return
        p.copies_found.add(key)
        if known is None or not known.unchanged(sight.cand) or known.copy_of != original \
                or known.content_size != sight.content_size:
            log.info("Copy of read bytes, not read again. path=%s base=%d file_id=%s",
                     sight.cand.path, sight.base, original)
            generations.record_copy(conn, self.settings.node, sight, original)

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


def skip_file(scan: Scan, path: str, exc: Exception) -> None:
    log.warning("File skipped for now. path=%s reason=%s", path, exc)
    scan.skipped[path] = str(exc) if path in str(exc) else f"{path}: {exc}"


class PassState:
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
