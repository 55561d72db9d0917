"""Which generation is this file, whatever its name? Content first, inode as a hint.

A generation is one stream of bytes that only ever grows: a live ``sftpgo.log`` from its
creation, through its rename to a backup, to its gzip. It is recognised by its head (the
first <=1 KiB, compared as a prefix while the file is small) and by the bytes just before
the committed offset (the marker). The inode only says where to sight first.
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


@dataclass(frozen=True)
class Sighting:
    """One file as this pass sees it: its stat facts, head and size, read through ``file``.

    ``cand`` holds the stat facts of the open descriptor (not of the name at listing time),
    so a Sighting describes one file, whatever has happened to its name since.
    """
    cand: Candidate
    head: bytes
    content_size: int          # bytes of content (a gzip's recorded size)
    file: object = field(default=None, compare=False, repr=False)   # reader.OpenFile

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
    duplicates: list = field(default_factory=list)   # (Sighting, generation id or None): copies
    waiting: list = field(default_factory=list)      # Sightings left for a later pass
    replaced: set = field(default_factory=set)       # generation ids whose inode now holds other content


def heads_compatible(a: bytes, b: bytes) -> bool:
    """Returns True when one head is a prefix of the other (and neither is empty)."""
    n = min(len(a), len(b))
    return n > 0 and a[:n] == b[:n]


SpanReader = Callable[[Sighting, int, int], bytes]
SameContent = Callable[[Sighting, Sighting], bool]


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


def _same_gzip(gen: Generation, sight: Sighting) -> bool:
    """A gzip file never changes in place: the same inode and head is the same file."""
    return (gen.compressed and sight.cand.compressed and heads_compatible(gen.head, sight.head)
            and sight.content_size >= gen.offset)


def assign(sights: list[Sighting], gens: list[Generation], span: SpanReader,
           same_content: SameContent) -> Assignment:
    """Matches every sight to a known generation, a new one, or marks it a copy or a wait."""
    out = Assignment()
    stems = {lk.cand.path for lk in sights if not lk.cand.compressed}
    by_inode = {(g.dev, g.ino): g for g in gens if g.dev is not None}
    rest = []
    for sight in sights:                               # 1. the same inode, still the same bytes
        g = by_inode.get((sight.cand.dev, sight.cand.ino))
        if g is not None and g.id not in out.claims and (
                _same_gzip(g, sight) or continues(g, sight, span)):
            out.claims[g.id] = sight
        else:
            if g is not None:
                out.replaced.add(g.id)
            rest.append(sight)
    rest.sort(key=lambda lk: (lk.cand.compressed, lk.cand.path))
    provisional: list[Sighting] = []
    for sight in rest:                                # 2. the same content elsewhere
        if sight.cand.compressed and sight.cand.stem in stems:
            out.waiting.append(sight)                 # gzip in progress: its .log is still here
            continue
        matches = [g for g in gens if heads_compatible(g.head, sight.head)]
        free = [g for g in matches if g.id not in out.claims and continues(g, sight, span)]
        if free:
            best = max(free, key=lambda g: (g.offset, g.id))
            out.claims[best.id] = sight
            out.replaced.discard(best.id)
            continue
        if not sight.cand.live:                       # 3. a copy of a file being read
            is_copy, original = _copy_of(sight, matches, out.claims, provisional, same_content)
            if is_copy:
                out.duplicates.append((sight, original))
                continue
        provisional.append(sight)
    out.new = provisional
    return out


def _copy_of(sight, matches, claims, provisional, same_content):
    """Returns (True, generation id or None) when ``sight`` repeats a file read in this pass."""
    for g in matches:                  # the original may be the live file (copytruncate)
        other = claims.get(g.id)
        if other is not None and same_content(other, sight):
            return True, g.id
    for other in provisional:
        if heads_compatible(other.head, sight.head) and same_content(other, sight):
            return True, None
    return False, None
