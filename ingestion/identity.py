"""Which generation is this file, whatever its name? Content first, inode as a hint.

A generation is one stream of bytes that only ever grows: a live ``sftpgo.log`` from its
creation, through its rename to a backup, to its gzip. It is recognised by its head (the
first <=1 KiB, compared as a prefix while the file is small) and by the bytes just before
the committed offset (the marker). The inode only says where to look first.
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
class Look:
    """A candidate file with the content facts identity needs, read through ``file``.

    ``cand`` holds the stat facts of the open descriptor (not of the name at listing time),
    so a Look describes one file, whatever has happened to its name since.
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
class Assignment:
    """The outcome of matching looks to generations."""
    claims: dict = field(default_factory=dict)       # generation id -> Look
    new: list = field(default_factory=list)          # Looks that start a new generation
    duplicates: list = field(default_factory=list)   # (Look, generation id or None): copies
    waiting: list = field(default_factory=list)      # Looks left for a later pass
    replaced: set = field(default_factory=set)       # generation ids whose inode now holds other content


def heads_compatible(a: bytes, b: bytes) -> bool:
    """Returns True when one head is a prefix of the other (and neither is empty)."""
    n = min(len(a), len(b))
    return n > 0 and a[:n] == b[:n]


SpanReader = Callable[[Look, int, int], bytes]
SameContent = Callable[[Look, Look], bool]


def continues(gen: Generation, look: Look, span: SpanReader) -> bool:
    """Returns True when ``look`` holds generation ``gen``'s bytes up to its checkpoint."""
    if not heads_compatible(gen.head, look.head):
        return False
    if gen.offset <= len(gen.head) and gen.offset <= len(look.head):
        return True                                  # the head comparison covered it
    if look.content_size < gen.offset:
        return False                                 # shrank: truncated or replaced
    if gen.marker is None:
        return True                                  # checkpoint lost: head and size decide
    n = len(gen.marker)
    return span(look, gen.offset - n, n) == gen.marker


def _same_gzip(gen: Generation, look: Look) -> bool:
    """A gzip file never changes in place: the same inode and head is the same file."""
    return (gen.compressed and look.cand.compressed and heads_compatible(gen.head, look.head)
            and look.content_size >= gen.offset)


def assign(looks: list[Look], gens: list[Generation], span: SpanReader,
           same_content: SameContent) -> Assignment:
    """Matches every look to a known generation, a new one, or marks it a copy or a wait."""
    out = Assignment()
    stems = {lk.cand.path for lk in looks if not lk.cand.compressed}
    by_inode = {(g.dev, g.ino): g for g in gens if g.dev is not None}
    rest = []
    for look in looks:                               # 1. the same inode, still the same bytes
        g = by_inode.get((look.cand.dev, look.cand.ino))
        if g is not None and g.id not in out.claims and (
                _same_gzip(g, look) or continues(g, look, span)):
            out.claims[g.id] = look
        else:
            if g is not None:
                out.replaced.add(g.id)
            rest.append(look)
    rest.sort(key=lambda lk: (lk.cand.compressed, lk.cand.path))
    provisional: list[Look] = []
    for look in rest:                                # 2. the same content elsewhere
        if look.cand.compressed and look.cand.stem in stems:
            out.waiting.append(look)                 # gzip in progress: its .log is still here
            continue
        matches = [g for g in gens if heads_compatible(g.head, look.head)]
        free = [g for g in matches if g.id not in out.claims and continues(g, look, span)]
        if free:
            best = max(free, key=lambda g: (g.offset, g.id))
            out.claims[best.id] = look
            out.replaced.discard(best.id)
            continue
        if not look.cand.live:                       # 3. a copy of a file being read
            is_copy, original = _copy_of(look, matches, out.claims, provisional, same_content)
            if is_copy:
                out.duplicates.append((look, original))
                continue
        provisional.append(look)
    out.new = provisional
    return out


def _copy_of(look, matches, claims, provisional, same_content):
    """Returns (True, generation id or None) when ``look`` repeats a file read in this pass."""
    for g in matches:                  # the original may be the live file (copytruncate)
        other = claims.get(g.id)
        if other is not None and same_content(other, look):
            return True, g.id
    for other in provisional:
        if heads_compatible(other.head, look.head) and same_content(other, look):
            return True, None
    return False, None
