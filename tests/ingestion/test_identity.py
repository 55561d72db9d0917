"""identity.assign: which known generation is this file? One case a row, no files, no database.

A file is told by its content: its head (first bytes) and the marker (the bytes just before
the generation's checkpoint). The inode only says where to look first. Each case below gives
the known generations and the files a pass sees (with their whole content, which the fake
span reader serves), and says where each file goes: claimed by a generation, new, a copy, or
waiting.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from ingestion.discover import Candidate
from ingestion.identity import ACTIVE, Generation, Sighting, assign, continues, heads_compatible

LIVE = "/logs/sftpgo.log"
A = b"".join(b'{"time":"2024-09-18T03:00:%02d.000","n":%d}\n' % (i, i) for i in range(40))
B = b"".join(b'{"time":"2024-09-19T03:00:%02d.000","m":%d}\n' % (i, i) for i in range(40))


@dataclass
class F:
    """A file the pass sees: name, inode, content (compressed: a .gz of that content)."""
    path: str
    ino: int
    content: bytes
    compressed: bool = False

    def sighting(self) -> Sighting:
        cand = Candidate(self.path, 1, self.ino, len(self.content), 0.0, self.compressed,
                         live=self.path == LIVE)
        return Sighting(cand, self.content[:1024], len(self.content))


def gen(gid: int, ino: int, content: bytes, offset: int, path: str = LIVE,
        compressed: bool = False) -> Generation:
    """A known generation read up to ``offset`` of ``content``."""
    return Generation(gid, content[:1024], 1, ino, path, compressed, ACTIVE, offset, None, 0,
                      offset, content[max(offset - 64, 0):offset])


def run(files: list[F], gens: list[Generation]):
    by_path = {f.path: f.content for f in files}

    def span(sight, start, n):
        return by_path[sight.cand.path][start:start + n]

    def same_content(a, b):
        x, y = by_path[a.cand.path], by_path[b.cand.path]
        n = min(len(x), len(y))
        return x[:n] == y[:n]
    sights = [f.sighting() for f in files]
    out = assign(sights, gens, span, same_content)
    return ({gid: s.cand.path for gid, s in out.claims.items()},
            sorted(s.cand.path for s in out.new),
            sorted(s.cand.path for s, _, _ in out.duplicates),
            sorted(s.cand.path for s in out.waiting),
            out.replaced)


BACKUP = "/logs/sftpgo-2024-09-18T04-00-00.000.log"

CASES = [
    # name, files, generations, claims, new, copies, waiting, replaced
    ("appended: the same inode, more bytes",
     [F(LIVE, 10, A)], [gen(1, 10, A, 500)], {1: LIVE}, [], [], [], set()),
    ("renamed: found by its inode under the new name",
     [F(BACKUP, 10, A), F(LIVE, 11, B)], [gen(1, 10, A, 500)],
     {1: BACKUP}, [LIVE], [], [], set()),
    ("gzipped: a new inode, found by head and marker",
     [F(BACKUP + ".gz", 12, A, True)], [gen(1, 10, A, 500, BACKUP)],
     {1: BACKUP + ".gz"}, [], [], [], set()),
    ("gzip while its .log is still there: it waits",
     [F(BACKUP, 10, A), F(BACKUP + ".gz", 12, A[:300], True)], [gen(1, 10, A, 500, BACKUP)],
     {1: BACKUP}, [], [], [BACKUP + ".gz"], set()),
    ("truncated: the inode holds less than was read",
     [F(LIVE, 10, A[:200])], [gen(1, 10, A, 500)], {}, [LIVE], [], [], {1}),
    ("truncated and regrown with other lines: the marker differs",
     [F(LIVE, 10, A[:100] + B)], [gen(1, 10, A, 500)], {}, [LIVE], [], [], {1}),
    ("inode reused by another file: its head differs",
     [F(LIVE, 10, B)], [gen(1, 10, A, 500)], {}, [LIVE], [], [], {1}),
    ("the head still growing: re-keyed, not re-read",
     [F(LIVE, 10, A)], [gen(1, 10, A[:40], 40)], {1: LIVE}, [], [], [], set()),
    ("an archive dropped in twice: the first by path is read, the other is a copy",
     [F(BACKUP, 10, A), F("/logs/old/" + BACKUP[6:], 20, A)], [],
     {}, ["/logs/old/" + BACKUP[6:]], [BACKUP], [], set()),
    ("the same head, different files: two generations",
     [F("/logs/a/sftpgo-1.log", 30, A[:1100] + B), F("/logs/b/sftpgo-1.log", 31, A[:1100] + A)],
     [], {}, ["/logs/a/sftpgo-1.log", "/logs/b/sftpgo-1.log"], [], [], set()),
    ("copytruncate: the copy continues the generation, the live file starts anew",
     [F("/logs/sftpgo-copy.log", 40, A), F(LIVE, 10, B)], [gen(1, 10, A, 500)],
     {1: "/logs/sftpgo-copy.log"}, [LIVE], [], [], set()),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_assign(case):
    _, files, gens, claims, new, copies, waiting, replaced = case
    assert run(files, gens) == (claims, new, copies, waiting, replaced)


def test_heads_compare_as_prefixes_and_never_empty():
    assert heads_compatible(b"abc", b"abcdef") and heads_compatible(b"abcdef", b"abc")
    assert not heads_compatible(b"abd", b"abcdef")
    assert not heads_compatible(b"", b"abc")


def test_continues_trusts_head_and_size_when_the_marker_was_lost():
    g = gen(1, 10, A, 500)
    g.marker = None                       # a rebuilt checkpoint: no marker to compare
    sight = F(LIVE, 10, A).sighting()
    assert continues(g, sight, lambda s, start, n: b"never read")
    assert not continues(g, F(LIVE, 10, A[:400]).sighting(), lambda s, start, n: b"")
