"""Read complete lines of one file (plain or gzip) from a byte offset, a bounded batch at a time.

Offsets are byte offsets in the (decompressed) content, so a ``.log`` and its ``.log.gz``
share them. A trailing fragment without ``\\n`` is never returned as a line; the caller
decides what a drained, rotated-away file's fragment becomes (``tail``).
"""
from __future__ import annotations

import gzip
import os
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


def open_content(path: str, compressed: bool):
    """Returns a binary file object over the (decompressed) content."""
    try:
        return gzip.open(path, "rb") if compressed else open(path, "rb")
    except OSError as exc:
        raise UnreadableFile(f"{path}: {exc.strerror or exc}") from None


def read_head(path: str, compressed: bool) -> bytes:
    """Returns the first HEAD_BYTES bytes of the content (fewer for a short file)."""
    try:
        with open_content(path, compressed) as f:
            return f.read(HEAD_BYTES)
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableFile(f"{path}: {exc}") from None


def read_span(path: str, compressed: bool, start: int, length: int) -> bytes:
    """Returns ``length`` bytes of content at ``start`` (fewer when the content is shorter)."""
    try:
        with open_content(path, compressed) as f:
            if compressed:
                f.seek(start)
                return f.read(length)
            return os.pread(f.fileno(), length, start)
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableFile(f"{path}: {exc}") from None


def gzip_size(path: str) -> int:
    """Returns the uncompressed size recorded in a gzip trailer (modulo 4 GiB)."""
    with open(path, "rb") as f:
        f.seek(-4, os.SEEK_END)
        return int.from_bytes(f.read(4), "little")


def verify_gzip(path: str) -> None:
    """Raises UnreadableFile unless the whole gzip stream decompresses with a valid CRC."""
    try:
        with gzip.open(path, "rb") as f:
            while f.read(4 * _CHUNK):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableFile(f"{path}: incomplete or corrupt gzip ({exc})") from None


class LineReader:
    """Reads batches of complete lines from one open file, starting at ``offset``."""

    def __init__(self, path: str, compressed: bool, offset: int, max_line_bytes: int):
        self.path = path
        self.compressed = compressed
        self.max_line_bytes = max_line_bytes
        self._f = open_content(path, compressed)
        self.offset = offset          # content offset of the first unconsumed byte
        self._carry = b""             # bytes read past ``offset`` that are not a line yet
        try:
            self._f.seek(offset)
        except (OSError, EOFError, zlib.error) as exc:
            self.close()
            raise UnreadableFile(f"{path}: {exc}") from None

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
