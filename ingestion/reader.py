"""Read complete lines of one file (plain or gzip) from a byte offset, a bounded batch at a time.

Offsets are byte offsets in the (decompressed) content, so a ``.log`` and its ``.log.gz``
share them. A trailing fragment without ``\\n`` is never returned as a line; the caller
decides what a drained, rotated-away file's fragment becomes (``tail``).
"""
from __future__ import annotations

import gzip
import os
import stat
import time
import zlib
from dataclasses import dataclass, field

HEAD_BYTES = 1024
MARKER_BYTES = 64
SAMPLE_BYTES = 1024
_CHUNK = 1024 * 1024


class UnreadableFile(Exception):
    """The file cannot be read now (vanished, permission, corrupt or incomplete gzip)."""


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
        self.disk_size = st.st_size          # on-disk size when opened (compressed for .gz)
        self.mtime = st.st_mtime

    def dup(self) -> "OpenFile":
        """Returns another OpenFile on the same file (a descriptor of its own to close)."""
        return OpenFile(self.path, self.compressed, os.dup(self.fd))

    def stream(self):
        """Returns a new binary stream over the (decompressed) content, at offset 0."""
        raw = _At(self.fd)
        return gzip.GzipFile(fileobj=raw, mode="rb") if self.compressed else raw

    def head(self) -> bytes:
        """Returns the first HEAD_BYTES bytes of the content (fewer for a short file)."""
        return self.span(0, HEAD_BYTES)

    def span(self, start: int, length: int) -> bytes:
        """Returns ``length`` bytes of content at ``start`` (fewer when the content is shorter)."""
        try:
            if not self.compressed:
                return os.pread(self.fd, length, start)
            with self.stream() as f:
                f.seek(start)
                return f.read(length)
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableFile(f"{self.path}: {exc}") from None

    def content_size(self) -> int:
        """Returns the bytes of content now: the file size, or a gzip's recorded size."""
        if not self.compressed:
            return os.fstat(self.fd).st_size
        if self.disk_size < 18:               # shorter than a gzip header and trailer
            raise UnreadableFile(f"{self.path}: incomplete or corrupt gzip (too short)")
        return int.from_bytes(os.pread(self.fd, 4, self.disk_size - 4), "little")

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


class GzipCheck:
    """Proves a gzip complete (every member decompresses, CRC and length match), in slices.

    A gzip still being written, or cut short, must not be read as if it were whole. One file
    version is checked once; ``step`` works until a deadline, so a large archive does not
    hold up a pass that has a time budget.
    """

    def __init__(self, f: OpenFile):
        self._file = f.dup()
        self._z = self._file.stream()

    def step(self, deadline: float | None) -> bool:
        """Returns True once the whole gzip checked out, False when the deadline came first.

        Raises UnreadableFile when it is incomplete or corrupt.
        """
        try:
            while self._z.read(4 * _CHUNK):
                if deadline is not None and time.monotonic() >= deadline:
                    return False
        except (OSError, EOFError, zlib.error) as exc:
            self.close()
            raise UnreadableFile(f"{self._file.path}: incomplete or corrupt gzip ({exc})") from None
        self.close()
        return True

    def close(self) -> None:
        self._file.close()


class LineReader:
    """Reads batches of complete lines from one open file, starting at ``offset``."""

    def __init__(self, f: OpenFile, offset: int, max_line_bytes: int):
        self.path = f.path
        self.max_line_bytes = max_line_bytes
        self._f = f.stream()
        self.offset = offset          # content offset of the first unconsumed byte
        self._carry = b""             # bytes read past ``offset`` that are not a line yet
        try:
            self._f.seek(offset)
        except (OSError, EOFError, zlib.error) as exc:
            self.close()
            raise UnreadableFile(f"{f.path}: {exc}") from None

    def close(self) -> None:
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read(self, n: int) -> bytes:
        try:
            return self._f.read(n)
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableFile(f"{self.path}: {exc}") from None

    def read_batch(self, max_bytes: int) -> Batch:
        """Returns the complete lines in about the next ``max_bytes`` bytes."""
        start = self.offset
        fresh = self._read(max_bytes)
        data = self._carry + fresh if self._carry else fresh
        self._carry = b""
        if not data:
            return Batch(start, start, eof=True)
        last_nl = data.rfind(b"\n")
        if last_nl < 0:
            return self._long_line(start, data)
        lines = data[:last_nl].split(b"\n")
        if last_nl > self.max_line_bytes:
            limit = self.max_line_bytes
            lines = [TooLong(x[:SAMPLE_BYTES], len(x)) if len(x) > limit else x for x in lines]
        end = start + last_nl + 1
        self._carry = data[last_nl + 1:]
        self.offset = end
        return Batch(start, end, lines, eof=len(fresh) < max_bytes, tail=self._carry)

    def _long_line(self, start: int, data: bytes) -> Batch:
        """No newline in ``data``: the line continues past the batch, or is an EOF fragment."""
        parts = [data]
        size = len(data)
        sample = data[:SAMPLE_BYTES]
        while True:
            more = self._read(_CHUNK)
            if not more:                      # EOF before the newline: a fragment, not a line
                if size <= self.max_line_bytes:
                    self._carry = b"".join(parts)
                    return Batch(start, start, eof=True, tail=self._carry)
                self._f.seek(start)           # too big to hold: look again next time
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
