"""Read complete lines of one file (plain or compressed) from a byte offset, a bounded batch at a time.

Offsets are byte offsets in the (decompressed) content, so a ``.log`` and its ``.log.gz``
share them. A trailing fragment without ``\\n`` is never returned as a line; the caller
decides what a drained, rotated-away file's fragment becomes (``tail``). A UTF-8 byte order
mark at the start of a file is not part of its first line.

The content size of an archive is what decompressing it all gave (ArchiveCheck), never a
size the archive states about itself: gzip's trailer holds the last member's size only,
modulo 2^32, so a multi-member or a >4 GiB gzip would look shorter than it is.
"""
from __future__ import annotations

import bz2
import gzip
import lzma
import os
import stat
import time
import zlib
from dataclasses import dataclass, field

from backports import zstd

from .discover import codec_of

HEAD_BYTES = 1024
MARKER_BYTES = 64
SAMPLE_BYTES = 1024
BOM = b"\xef\xbb\xbf"           # a UTF-8 byte order mark: not part of the first line
_CHUNK = 1024 * 1024

# What a damaged or unfinished archive raises while it is decompressed, whatever its codec.
ARCHIVE_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, zstd.ZstdError, ValueError)
_OPENERS = {"gzip": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
            "bzip2": lambda raw: bz2.BZ2File(raw, mode="rb"),
            "xz": lambda raw: lzma.LZMAFile(raw, mode="rb"),
            "zstd": lambda raw: zstd.ZstdFile(raw, mode="rb")}


class UnreadableFile(Exception):
    """The file cannot be read now (vanished, permission, corrupt or incomplete archive)."""


@dataclass
class Batch:
    """Complete lines read in one step: ``lines`` start at ``start``; ``end`` follows the last."""
    start: int
    end: int
    lines: list = field(default_factory=list)   # bytes without "\n", or a TooLong
    eof: bool = False                            # nothing more to read right now
    tail: bytes | TooLong = b""                  # unterminated bytes at EOF (not a line yet)


@dataclass(frozen=True)
class TooLong:
    """A line longer than the limit: only its first bytes are kept."""
    sample: bytes
    length: int


class _At:
    """A read position of its own over a shared descriptor (``os.pread``).

    Streams made from one open file never move each other's position, so the head check, a
    marker read and the line reader of one pass can interleave on one descriptor.
    """

    def __init__(self, fd: int):
        self.fd = fd
        self.pos = 0

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = max(os.fstat(self.fd).st_size - self.pos, 0)
        data = os.pread(self.fd, n, self.pos)
        self.pos += len(data)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_CUR:
            offset += self.pos
        elif whence == os.SEEK_END:
            offset += os.fstat(self.fd).st_size
        self.pos = max(offset, 0)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        """The descriptor belongs to the OpenFile, which closes it."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class OpenFile:
    """One log file, opened once: its identity and every read of its content use one descriptor.

    Rotation renames the live file and creates a new one under the old name, at any instant.
    A file opened again by name may therefore be another file. A pass opens each file once,
    takes its identity from ``fstat`` of that descriptor, and reads its head, its marker and
    its lines through the same descriptor: what was identified is what is read.
    """

    def __init__(self, path: str, compressed: bool, fd: int | None = None):
        self.path = path
        self.compressed = compressed
        self.codec = (codec_of(path) or "gzip") if compressed else None
        self.fd = -1
        try:
            # O_NONBLOCK: a FIFO put in place of a log must not hang the open.
            self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK) if fd is None else fd
        except OSError as exc:
            raise UnreadableFile(f"{path}: {exc.strerror or exc}") from None
        st = os.fstat(self.fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(self.fd)
            self.fd = -1
            raise UnreadableFile(f"{path}: not a regular file")
        self.dev, self.ino = st.st_dev, st.st_ino
        self.disk_size = st.st_size          # on-disk size when opened (compressed for an archive)
        self.mtime = st.st_mtime
        self.mtime_ns = st.st_mtime_ns

    def dup(self) -> "OpenFile":
        """Returns another OpenFile on the same file (a descriptor of its own to close)."""
        return OpenFile(self.path, self.compressed, os.dup(self.fd))

    @property
    def version(self) -> tuple[int, int]:
        """Returns (size, mtime_ns) as opened: what changes whenever the file's bytes do."""
        return self.disk_size, self.mtime_ns

    def stream(self):
        """Returns a new binary stream over the (decompressed) content, at offset 0."""
        raw = _At(self.fd)
        return _OPENERS[self.codec](raw) if self.compressed else raw

    def head(self, length: int = HEAD_BYTES) -> bytes:
        """Returns the first ``length`` bytes of the content (fewer for a short file)."""
        return self.span(0, length)

    def span(self, start: int, length: int) -> bytes:
        """Returns ``length`` bytes of content at ``start`` (fewer when the content is shorter)."""
        try:
            if not self.compressed:
                return os.pread(self.fd, length, start)
            with self.stream() as f:
                f.seek(start)
                return f.read(length)
        except ARCHIVE_ERRORS as exc:
            raise UnreadableFile(f"{self.path}: {exc}") from None

    def size(self) -> int:
        """Returns the file's size on disk now (the content size of a plain file)."""
        return os.fstat(self.fd).st_size

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ArchiveCheck:
    """Proves an archive complete and measures its content, in slices.

    Every member (gzip) or frame (zstd) or stream is decompressed to its end, its checks
    verified (gzip's CRC and length, bzip2's and xz's checks); the bytes that came out are
    the content size. An archive still being written, or cut short, must not be read as if
    it were whole. One file version is checked once; ``step`` works until a deadline, so a
    large archive does not hold up a pass that has a time budget.
    """

    def __init__(self, f: OpenFile):
        self._file = f.dup()
        self._z = self._file.stream()
        self.size = 0                 # content bytes decompressed so far

    def step(self, deadline: float | None) -> bool:
        """Returns True once the whole archive checked out (``size`` is then its content
        size), False when the deadline came first.

        Raises UnreadableFile when it is incomplete or corrupt.
        """
        try:
            while chunk := self._z.read(4 * _CHUNK):
                self.size += len(chunk)
                if deadline is not None and time.monotonic() >= deadline:
                    return False
        except ARCHIVE_ERRORS as exc:
            self.close()
            raise UnreadableFile(f"{self._file.path}: incomplete or corrupt "
                                 f"{self._file.codec} ({exc})") from None
        self.close()
        return True

    def close(self) -> None:
        self._file.close()


class LineReader:
    """Reads batches of complete lines from one open file, starting at ``offset``.

    In an archive, getting to ``offset`` means decompressing everything before it: ``seek``
    does it a slice at a time, so a pass with a deadline can stop on the way and a reader
    kept for the next pass (``owned``: it holds a descriptor of its own) goes on from there.
    """

    def __init__(self, f: OpenFile, offset: int, max_line_bytes: int, owned: bool = False):
        self.path = f.path
        self.max_line_bytes = max_line_bytes
        self._file = f.dup() if owned else None
        self._f = (self._file or f).stream()
        self.offset = offset          # content offset of the first unconsumed byte
        self._carry = b""             # bytes read past ``offset`` that are not a line yet
        self._at = 0 if f.compressed else offset   # where the decompressed stream stands
        self.limit: int | None = None  # where the part being read ends (None: the file's end)
        self.part_start = 0           # where it starts (a byte order mark there is skipped)
        if not f.compressed:
            self._f.seek(offset)

    def advance_to(self, pos: int) -> None:
        """Moves on to content offset ``pos`` (>= offset), dropping what lies before it."""
        if pos < self.offset:
            raise ValueError(f"cannot go back from {self.offset} to {pos}")
        if pos <= self._at:
            self._carry = self._carry[pos - self.offset:]
        else:
            self._carry = b""
        self.offset = pos

    def push_back(self, pos: int, data: bytes) -> None:
        """Goes back to ``pos``, the content offset where ``data`` (bytes read and handed
        out in a batch, up to the current offset) starts: they will be read again."""
        self._carry = data + self._carry
        self.offset = pos

    def peek(self, n: int) -> bytes:
        """Returns up to ``n`` bytes from the current offset without consuming them."""
        if not self.seek():
            raise AssertionError("seek() without a deadline returned early")
        while len(self._carry) < n:
            more = self._read(max(n - len(self._carry), _CHUNK))
            if not more:
                break
            self._carry += more
        return self._carry[:n]

    @property
    def positioned(self) -> bool:
        """Returns True once the stream stands at ``offset`` (the lines can be read)."""
        return self._at >= self.offset

    def seek(self, deadline: float | None = None) -> bool:
        """Moves an archive's stream on towards ``offset``; returns True once it is there,
        False when the deadline came first (call again, in this pass or the next)."""
        try:
            while self._at < self.offset:
                skipped = len(self._f.read(min(4 * _CHUNK, self.offset - self._at)))
                if not skipped:
                    raise EOFError(f"content ends at {self._at}, before offset {self.offset}")
                self._at += skipped
                if deadline is not None and time.monotonic() >= deadline \
                        and self._at < self.offset:
                    return False
        except ARCHIVE_ERRORS as exc:
            raise UnreadableFile(f"{self.path}: {exc}") from None
        return True

    def close(self) -> None:
        self._f.close()
        if self._file is not None:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read(self, n: int) -> bytes:
        try:
            data = self._f.read(n)
        except ARCHIVE_ERRORS as exc:
            raise UnreadableFile(f"{self.path}: {exc}") from None
        self._at += len(data)
        return data

    def read_batch(self, max_bytes: int) -> Batch:
        """Returns the complete lines in about the next ``max_bytes`` bytes (not past
        ``limit``: a fragment there, with no newline, is the part's tail)."""
        if not self.seek():
            raise AssertionError("seek() without a deadline returned early")
        start = self.offset
        room = None if self.limit is None else self.limit - start   # left of the part
        want = max_bytes if room is None else min(max_bytes, max(room - len(self._carry), 0))
        fresh = self._read(want) if want > 0 else b""
        data = self._carry + fresh if self._carry else fresh
        spill = b""                           # read already, but the next part's
        if room is not None and len(data) > room:
            data, spill = data[:room], data[room:]
        self._carry = spill
        if start == self.part_start and data[:3] == BOM:
            start = self.offset = start + 3   # the mark is consumed, not part of a line
            data = data[3:]
        at_limit = room is not None and start + len(data) >= self.limit
        if not data:
            return Batch(start, start, eof=True)
        last_nl = data.rfind(b"\n")
        if last_nl < 0:
            if at_limit:                      # the part ends without a newline: its tail
                self._carry = data + spill
                return Batch(start, start, eof=True, tail=data)
            return self._long_line(start, data)
        lines = data[:last_nl].split(b"\n")
        if last_nl > self.max_line_bytes:
            limit = self.max_line_bytes
            lines = [TooLong(x[:SAMPLE_BYTES], len(x)) if len(x) > limit else x for x in lines]
        end = start + last_nl + 1
        tail = data[last_nl + 1:]
        self._carry = tail + spill
        self.offset = end
        return Batch(start, end, lines, eof=at_limit or len(fresh) < want, tail=tail)

    def _long_line(self, start: int, data: bytes) -> Batch:
        """No newline in ``data``: the line continues past the batch, or is an EOF fragment."""
        parts = [data]
        size = len(data)
        sample = data[:SAMPLE_BYTES]
        while True:
            room = _CHUNK if self.limit is None else min(_CHUNK, self.limit - self._at)
            more = self._read(room) if room > 0 else b""
            if not more:                      # EOF before the newline: a fragment, not a line
                if size <= self.max_line_bytes:
                    self._carry = b"".join(parts)
                    return Batch(start, start, eof=True, tail=self._carry)
                self._rewind(start)           # too big to hold: look again next time
                return Batch(start, start, eof=True, tail=TooLong(sample, size))
            nl = more.find(b"\n")
            if nl >= 0:
                size += nl
                end = start + size + 1
                if size <= self.max_line_bytes:
                    parts.append(more[:nl])
                    line = b"".join(parts)
                else:
                    line = TooLong(sample, size)
                self._carry = more[nl + 1:]
                self.offset = end
                return Batch(start, end, [line], tail=self._carry)
            size += len(more)
            if size <= self.max_line_bytes:
                parts.append(more)
            else:
                parts = []                    # over the limit: keep only the sample

    def _rewind(self, pos: int) -> None:
        """Puts the stream back at content offset ``pos`` (an archive decompresses again)."""
        try:
            self._f.seek(pos)
        except ARCHIVE_ERRORS as exc:
            raise UnreadableFile(f"{self.path}: {exc}") from None
        self._at = pos
