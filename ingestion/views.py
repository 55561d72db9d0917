"""Files that hold several generations one after the other: where one part ends and the next begins.

An admin may join backups into one archive (`cat a.gz b.gz > ab.gz`, a month or a year of
them). Read as one stream, the first backup's generation would go on into the bytes of the
others, which were read already under their own generations: every line counted twice. So
a file is read as views (identity.Sighting with a ``base``): parts that each hold one
generation.

Where a part ends is known, not searched for: a generation whose bytes were seen in a file
that is not the live one (a rotated backup, an archive) was finished then, at the size seen.
A file that holds such a generation and more is split there when the bytes there begin with
another generation's full head (the tracker's ``_place``); bytes no generation accounts for
go on as the same generation (an archive appended to: `gzip -c part >> c.gz`). Parts are
recorded (the generation's ``base`` in log_files, the copy's in log_copies), so later passes
split the file at once (``split``).
"""
from __future__ import annotations

import dataclasses

from . import reader
from .identity import Sighting, heads_compatible

def heads_at(f, starts: list[int], length: int = reader.HEAD_BYTES) -> dict[int, bytes]:
    """Returns {start: ``length`` bytes of content at start} of an open file, reading an
    archive's stream once for them all."""
    if not f.compressed:
        return {s: f.span(s, length) for s in starts}
    out = {}
    try:
        with f.stream() as z:
            at = 0
            for s in sorted(starts):
                while at < s:
                    skipped = len(z.read(min(4 << 20, s - at)))
                    if not skipped:
                        return out
                    at += skipped
                data = z.read(length)
                out[s] = data
                at += len(data)
    except reader.ARCHIVE_ERRORS as exc:
        raise reader.UnreadableFile(f"{f.path}: {exc}") from None
    return out


def split(sight: Sighting, parts: dict[int, bytes],
          head_bytes: int = reader.HEAD_BYTES) -> list[Sighting]:
    """Returns the views of a whole-file Sighting, split at the bases of ``parts`` (base ->
    the head the part there is known by) that still hold that head (``head_bytes`` read
    there); just [sight] when none does."""
    bases = sorted(b for b in parts if 0 < b < sight.content_size)
    if not bases:
        return [sight]
    found = heads_at(sight.file, bases, head_bytes)
    kept = [b for b in bases if found.get(b) and heads_compatible(parts[b], found[b])]
    views, edges = [], [0, *kept, sight.content_size]
    for lo, hi in zip(edges, edges[1:]):
        head = sight.head if lo == 0 else found[lo]
        views.append(dataclasses.replace(sight, head=head, content_size=hi - lo, base=lo,
                                         last=hi == sight.content_size))
    return views


def part(sight: Sighting, at: int, head: bytes) -> Sighting:
    """Returns the view of ``sight``'s file that starts ``at`` bytes into ``sight`` and runs
    to its end (the rest of a part after a copy, or after another generation's end)."""
    return dataclasses.replace(sight, head=head, content_size=sight.content_size - at,
                               base=sight.base + at)


def prefix_equal(a: Sighting, b: Sighting) -> bool:
    """Returns True when the shorter view's content is a prefix of the longer one's (a view
    that is not its file's last part ends where it ends)."""
    fa, fb = a.file.stream(), b.file.stream()
    try:
        with fa, fb:
            ra, rb = _Bounded(fa, a), _Bounded(fb, b)
            while True:
                x, y = ra.read(1 << 20), rb.read(1 << 20)
                n = min(len(x), len(y))
                if x[:n] != y[:n]:
                    return False
                if len(x) != len(y) or not x:
                    return True
    except reader.ARCHIVE_ERRORS:
        return False


class _Bounded:
    """Reads a view's content from its base, to its end when another part follows it."""

    def __init__(self, stream, view: Sighting):
        self._s = stream
        self._left = None if view.last else view.content_size
        skip = view.base
        if skip and not view.file.compressed:
            stream.seek(skip)
            skip = 0
        while skip:
            got = len(stream.read(min(skip, 4 << 20)))
            if not got:
                break
            skip -= got

    def read(self, n: int) -> bytes:
        if self._left is not None:
            n = min(n, self._left)
        data = self._s.read(n) if n else b""
        if self._left is not None:
            self._left -= len(data)
        return data
