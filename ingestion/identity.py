"""Which generation is this file, whatever its name? Content first, inode as a hint.

A generation is one stream of bytes that only ever grows: a live ``sftpgo.log`` from its
creation, through its rename to a backup, to its gzip. It is recognised by its head (the
first <=1 KiB, compared as a prefix while the file is small) and by the bytes just before
the committed offset (the marker). The inode only says where to sight first.

A file may hold several generations one after the other (an archive that joins backups:
`cat a.gz b.gz > ab.gz`). Each part is a view: a Sighting whose ``base`` is where the part
starts in the file's content. Views are matched exactly as whole files are.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from .discover import Candidate

ACTIVE, MISSING, REPLACED = "active", "missing", "replaced"

_FIRST_TIME = re.compile(rb'"time":"(\d{4}-\d\d-\d\dT[^"]{1,20})"')


@dataclass
class Generation:
    """A known file generation: its ``log_files`` row joined with its checkpoint."""
    id: int
    head: bytes
    dev: int | None
    ino: int | None
    path: str
    compressed: bool
    state: str
    size_seen: int
    first_ts: str | None
    bytes_lost: int
    offset: int
    marker: bytes
    error: str | None = None      # why the file could not be read at the last try
    disk_size: int | None = None  # the file's size on disk when last looked at ...
    mtime_ns: int | None = None   # ... and its mtime: unchanged, the file needs no new look
    base: int = 0                 # where its byte 0 is in that file's content (a view)

    def unchanged(self, cand: Candidate) -> bool:
        """Returns True when ``cand`` is this generation's file as last looked at (same
        inode, path, size on disk and mtime) and every byte of it was read: a pass can
        leave it closed. (An append changes the size; a rewrite the mtime.)"""
        return (self.state == ACTIVE and not self.error
                and self.offset + self.bytes_lost >= self.size_seen
                and (self.dev, self.ino, self.path) == (cand.dev, cand.ino, cand.path)
                and (self.disk_size, self.mtime_ns) == cand.version)


@dataclass(frozen=True)
class Sighting:
    """One file as this pass sees it: its stat facts, head and size, read through ``file``.

    ``cand`` holds the stat facts of the open descriptor (not of the name at listing time),
    so a Sighting describes one file, whatever has happened to its name since.
    """
    cand: Candidate
    head: bytes
    content_size: int          # bytes of content (an archive's: all of it decompressed)
    file: object = field(default=None, compare=False, repr=False)   # reader.OpenFile
    base: int = 0              # a view: where this part starts in the file's content
    last: bool = True          # no other part after it in the file (it may grow)

    @property
    def key(self) -> tuple:
        """Returns what tells one part of one file: (dev, ino, base)."""
        return self.cand.dev, self.cand.ino, self.base

    @property
    def first_ts(self) -> str | None:
        m = _FIRST_TIME.search(self.head)
        return m.group(1).decode("ascii", "replace") if m else None


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
class Assignment:
    """The outcome of matching sights to generations."""
    claims: dict = field(default_factory=dict)       # generation id -> Sighting
    new: list = field(default_factory=list)          # Sightings that start a new generation
    # (Sighting, generation id or None, bytes of it that repeat read ones): copies; a copy
    # shorter than the sighting leaves the rest (another part of the file) to be placed
    duplicates: list = field(default_factory=list)
    settled_away: set = field(default_factory=set)   # generations a fuller file took over
    waiting: list = field(default_factory=list)      # Sightings left for a later pass
    replaced: set = field(default_factory=set)       # generation ids whose inode now holds other content


def heads_compatible(a: bytes, b: bytes) -> bool:
    """Returns True when one head is a prefix of the other (and neither is empty)."""
    n = min(len(a), len(b))
    return n > 0 and a[:n] == b[:n]


SpanReader = Callable[[Sighting, int, int], bytes]
SameContent = Callable[[Sighting, Sighting], bool]
Holder = Callable[[int], "Sighting | None"]
ReadBefore = Callable[[Generation, Sighting], bool]


def continues(gen: Generation, sight: Sighting, span: SpanReader) -> bool:
    """Returns True when ``sight`` holds generation ``gen``'s bytes up to its checkpoint."""
    if not heads_compatible(gen.head, sight.head):
        return False
    if gen.offset <= len(gen.head) and gen.offset <= len(sight.head):
        return True                                  # the head comparison covered it
    if sight.content_size < gen.offset:
        return False                                 # shrank: truncated or replaced
    if gen.marker is None:
        return True                                  # checkpoint lost: head and size decide
    n = len(gen.marker)
    return span(sight, gen.offset - n, n) == gen.marker


def _same_archive(gen: Generation, sight: Sighting) -> bool:
    """An archive only ever grows by members appended to it: the same inode and head, and at
    least the content read, is the same file."""
    return (gen.compressed and sight.cand.compressed and heads_compatible(gen.head, sight.head)
            and sight.content_size >= gen.offset)


def read_before(gen: Generation, sight: Sighting) -> bool:
    """Returns True when ``sight`` holds nothing that was not read of ``gen`` already: the
    same head (its first KiB, or all of it when shorter) and no more bytes than were read.

    This is how a copy is told when the file it was copied from is gone (a partial copy
    taken while the file grew, then the file rotated away and deleted). A file with the same
    first KiB and more bytes is a continuation (``continues``: the marker decides); the
    tracker adds the evidence of the stored rows (tracker.Tracker.read_before).
    """
    return heads_compatible(gen.head, sight.head) and sight.content_size <= gen.offset


def assign(sights: list[Sighting], gens: list[Generation], span: SpanReader,
           same_content: SameContent, settled: frozenset = frozenset(),
           holder: Holder | None = None, before: ReadBefore = read_before) -> Assignment:
    """Matches every sight to a known generation, a new one, or marks it a copy or a wait.

    ``settled`` are generations whose file this pass left closed (unchanged and read to its
    end: Generation.unchanged); ``holder(gid)`` opens the file in the folder that holds a
    generation (settled, or not opened this pass), None when there is none. ``before`` says
    whether a file holds only bytes read of a generation whose file is gone.
    """
    holder = holder or (lambda gid: None)
    out = Assignment()
    taken = set(settled)                             # held by a file this pass
    stems = {lk.cand.stem for lk in sights if not lk.cand.compressed}
    by_inode = {(g.dev, g.ino, g.base): g for g in gens if g.dev is not None}
    rest = []
    for sight in sights:                               # 1. the same inode, still the same bytes
        g = by_inode.get(sight.key)
        if g is not None and g.id not in taken and (
                _same_archive(g, sight) or continues(g, sight, span)):
            out.claims[g.id] = sight
            taken.add(g.id)
        else:
            if g is not None:
                out.replaced.add(g.id)
            rest.append(sight)
    # 2. the same content elsewhere: a known generation goes on in the fullest file that has
    # it (the live file first), so its shorter copies are copies ...
    rest.sort(key=lambda lk: (not lk.cand.live, -lk.content_size, lk.cand.compressed,
                              lk.cand.path, lk.base))
    unmatched = []
    compatible = _HeadIndex(gens)
    for sight in rest:
        if sight.cand.compressed and sight.cand.stem in stems:
            out.waiting.append(sight)                 # archive in progress: its .log is still here
            continue
        matches = compatible(sight.head)
        # A file shorter than an active generation was seen to be is a partial copy of it,
        # not its file: that one is elsewhere (found next pass, or released as missing).
        free = [g for g in matches if g.id not in taken and continues(g, sight, span)
                and (g.state != ACTIVE or sight.content_size >= g.size_seen)]
        if free:
            best = max(free, key=lambda g: (g.offset, g.id))
            out.claims[best.id] = sight
            out.replaced.discard(best.id)
            taken.add(best.id)
            continue
        grown = None if sight.cand.live else _outgrown(sight, matches, out, settled, holder,
                                                        span)
        if grown is None:
            unmatched.append((sight, matches))
        elif grown[1] is None:
            out.waiting.append(sight)                 # its holder cannot be looked at now
        else:                                         # a fuller file for a read generation
            g, previous = grown
            out.claims[g.id] = sight
            out.duplicates.append((previous, g.id, previous.content_size))
            out.settled_away.add(g.id)
    # ... 3. and the rest, the shortest first: a file that repeats another and has more
    # after it (an archive joining it to others) is that one's copy, and the rest a part.
    unmatched.sort(key=lambda sm: (not sm[0].cand.live, sm[0].content_size,
                                   sm[0].cand.compressed, sm[0].cand.path, sm[0].base))
    provisional: list[Sighting] = []
    new = _HeadIndex()                                # the same, by head
    for sight, matches in unmatched:
        if not sight.cand.live:
            is_copy, original, covered = _copy_of(sight, matches, out.claims, settled,
                                                  new(sight.head), same_content, holder, before)
            if is_copy is None:
                out.waiting.append(sight)             # the file to compare with cannot be opened now
                continue
            if is_copy and original is None and covered < sight.content_size:
                shorter = _provisional_prefix(sight, new(sight.head), same_content)
                if not _ends_line(shorter, span):     # a copy cut in mid-line, not a file
                    provisional[provisional.index(shorter)] = sight
                    new = _HeadIndex(provisional)
                    out.duplicates.append((shorter, None, shorter.content_size))
                    continue
            if is_copy:                               # a copy of what is (or was) read
                out.duplicates.append((sight, original, covered))
                continue
        provisional.append(sight)
        new.add(sight)
    out.new = provisional
    return out


class _HeadIndex:
    """Finds the generations whose head is compatible with a head (heads_compatible) without
    comparing it with every one of them: years of backups are tens of thousands."""

    KEY = 64

    def __init__(self, items: list = ()):
        self._by_key: dict[bytes, list] = {}
        self._short: list = []                        # heads shorter than the key
        self._all: list = []
        for x in items:
            self.add(x)

    def add(self, x) -> None:
        """Adds a Generation or a Sighting (anything with a ``head``)."""
        if len(x.head) >= self.KEY:
            self._by_key.setdefault(x.head[:self.KEY], []).append(x)
        else:
            self._short.append(x)
        self._all.append(x)

    def __call__(self, head: bytes) -> list:
        if len(head) < self.KEY:
            return [x for x in self._all if heads_compatible(x.head, head)]
        found = [x for x in self._by_key.get(head[:self.KEY], ()) if heads_compatible(x.head, head)]
        return found + [x for x in self._short if heads_compatible(x.head, head)]


def _outgrown(sight, matches, out, settled, holder, span):
    """Returns (generation, the Sighting of the file that holds it, or None when it cannot
    be opened now) when ``sight`` has more of a generation than the file that holds it (a
    partial copy read first, the whole file found later): ``sight`` takes the generation
    over from its checkpoint on, the shorter file becomes a copy; None when there is none."""
    for g in matches:
        if g.id not in settled and g.id not in out.claims or g.id in out.settled_away:
            continue
        if sight.content_size <= g.offset or not continues(g, sight, span):
            continue
        other = out.claims.get(g.id) or holder(g.id)
        if other is None:
            return g, None
        if not other.cand.live and other.content_size < sight.content_size:
            return g, other
    return None


def _same_file(a: Sighting, b: Sighting) -> bool:
    return a.key == b.key


def _copy_of(sight, matches, claims, settled, provisional, same_content, holder, before):
    """Returns (True, generation id or None, bytes repeated) when ``sight`` repeats bytes that
    a file of this pass holds (as many as the shorter of the two has), or that were read of a
    generation whose file is gone (all of it); (None, None, 0) when the file to compare with
    is in the folder but cannot be opened now; (False, None, 0) when it is no copy."""
    unsure = False
    for g in matches:                  # the original may be the live file (copytruncate)
        other = claims.get(g.id)
        if other is None and (g.id in settled or sight.content_size <= g.offset):
            other = holder(g.id)       # its file is in the folder, left closed this pass
            if other is not None and (_same_file(other, sight)
                                      or not heads_compatible(g.head, other.head)
                                      or other.content_size < g.offset):
                other = None           # its inode was reused (by this file, or another one),
                                       # or its file no longer holds what was read (truncated)
            if other is None:
                if sight.content_size <= g.offset and before(g, sight):
                    return True, g.id, sight.content_size   # its file is gone: what was read decides
                if g.id in settled:
                    return None, None, 0
        elif other is None and g.state == ACTIVE:
            unsure = True              # more than was read, its file not found this pass
        if other is not None and same_content(other, sight):
            return True, g.id, _covered(other, sight)
    for other in provisional:          # the new files of this pass whose head is compatible
        if same_content(other, sight):
            return True, None, _covered(other, sight)
    return (None, None, 0) if unsure else (False, None, 0)


def _provisional_prefix(sight: Sighting, compatible: list, same_content) -> Sighting:
    """Returns the new file of this pass (of those with a compatible head) that ``sight`` was
    found to repeat and outgrow."""
    return next(o for o in compatible if same_content(o, sight))


def _ends_line(sight: Sighting, span: SpanReader) -> bool:
    """Returns True when a file's content ends with a newline (a whole file, not a copy of
    one cut in the middle of a line)."""
    return span(sight, sight.content_size - 1, 1) == b"\n"


def _covered(original: Sighting, copy: Sighting) -> int:
    """Returns how much of ``copy`` repeats ``original`` (same content as a prefix): all of
    it, unless the original is a finished file shorter than the copy (an archive that joins
    it to more: the rest is another part)."""
    if original.cand.live or original.content_size >= copy.content_size:
        return copy.content_size
    return original.content_size
