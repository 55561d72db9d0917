"""A rotating writer that behaves like lumberjack v2, as SFTPGo uses it (see LumberjackWriter)."""
from __future__ import annotations

import gzip
import os
import queue
import re
import shutil
import threading
from datetime import datetime
from typing import Callable, Iterable

from .common import (DEFAULT_MAX_BYTES, _abs_ms, _dt)

_BACKUP_TS = "%Y-%m-%dT%H-%M-%S"


class LumberjackWriter:
    """Writes whole lines to ``<log_dir>/<name>.log`` and rotates like lumberjack v2.

    * Before a write that would make the file exceed ``max_bytes`` it closes the file,
      renames it to ``<name>-<YYYY-MM-DDTHH-MM-SS.mmm>.log`` (time from ``clock``, default
      ``datetime.now``; bumped by 1 ms when a name is taken or would not sort after the
      previous backup) and creates a new, empty ``<name>.log`` (a new inode).
    * ``compress=True`` gzips each backup to ``.log.gz`` (the gz is written in full, then
      the ``.log`` is deleted): synchronously, or in a background thread with
      ``compress_async=True``. ``compress_pending()`` compresses leftovers on demand.
    * ``max_backups`` > 0 deletes the oldest backups (by name) beyond that count.
    * Each ``write`` is one ``os.write`` on an O_APPEND fd. ``write_raw`` writes bytes
      as given (no rotation check), to produce torn lines on purpose.
    """

    def __init__(self, log_dir: str, max_bytes: int = DEFAULT_MAX_BYTES, compress: bool = False,
                 max_backups: int = 0, name: str = "sftpgo",
                 clock: Callable[[], datetime] | None = None, *, compress_async: bool = False,
                 mode: int = 0o600, compresslevel: int = 6):
        if max_bytes <= 0:
            raise ValueError("max_bytes must be > 0")
        self.log_dir = os.fspath(log_dir)
        os.makedirs(self.log_dir, exist_ok=True)
        if name.endswith(".log"):
            name = name[:-4]
        self.name = name
        self.path = os.path.join(self.log_dir, name + ".log")
        self.max_bytes = int(max_bytes)
        self.compress = compress
        self.compress_async = compress_async
        self.compresslevel = compresslevel
        self.max_backups = max_backups
        self.clock = clock or datetime.now
        self.mode = mode
        self.rotations: list[tuple[str, int]] = []  # (backup path as renamed, inode)
        self._backup_re = re.compile(r"^" + re.escape(name) +
                                     r"-(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3})\.log(\.gz)?$")
        self._last_stamp = -1
        for stem in self._backup_stems():
            self._last_stamp = max(self._last_stamp, _abs_ms(datetime.strptime(stem, _BACKUP_TS + ".%f")))
        self._lock = threading.Lock()
        self._queue: queue.Queue | None = None
        self._worker: threading.Thread | None = None
        self._fd = -1
        self._size = 0
        self._open_existing()

    # ---- file handling ----

    def _open_existing(self) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(self.path, flags, self.mode)
        self._size = os.fstat(self._fd).st_size

    @property
    def size(self) -> int:
        """Bytes in the live file."""
        return self._size

    @property
    def inode(self) -> int:
        return os.fstat(self._fd).st_ino

    def _backup_stems(self) -> list[str]:
        stems = set()
        try:
            names = os.listdir(self.log_dir)
        except FileNotFoundError:
            return []
        for n in names:
            m = self._backup_re.match(n)
            if m:
                stems.add(m.group(1))
        return sorted(stems)

    def backups(self) -> list[str]:
        """Backup paths, oldest first (``.log`` preferred to ``.log.gz`` for one stem)."""
        out = []
        for stem in self._backup_stems():
            base = os.path.join(self.log_dir, f"{self.name}-{stem}.log")
            out.append(base if os.path.exists(base) else base + ".gz")
        return out

    def _stamp(self, when: datetime | None) -> str:
        ms = _abs_ms(when if when is not None else self.clock())
        if ms <= self._last_stamp:
            ms = self._last_stamp + 1
        while True:
            d = _dt(ms)
            stem = d.strftime(_BACKUP_TS) + ".%03d" % (ms % 1000)
            base = os.path.join(self.log_dir, f"{self.name}-{stem}.log")
            if not os.path.exists(base) and not os.path.exists(base + ".gz"):
                break
            ms += 1
        self._last_stamp = ms
        return base

    # ---- writing ----

    def write(self, line: bytes) -> int:
        """Writes whole line(s) with one os.write, rotating first if they would not fit."""
        n = len(line)
        if n > self.max_bytes:
            raise ValueError(f"write length {n} exceeds maximum file size {self.max_bytes}")
        with self._lock:
            if self._size + n > self.max_bytes:
                self._rotate_locked(None)
            written = os.write(self._fd, line)
            while written < n:  # regular files: only on disk full / signals
                written += os.write(self._fd, line[written:])
            self._size += n
        return n

    def write_raw(self, data: bytes) -> int:
        """Writes ``data`` as is (may be a partial line); no rotation check."""
        with self._lock:
            written = os.write(self._fd, data)
            self._size += written
        return written

    def write_lines(self, lines: Iterable[bytes], batch_bytes: int = 0,
                    clock: Callable[[], datetime] | None = None) -> tuple[int, int]:
        """Writes many lines; returns (lines, bytes).

        With ``batch_bytes`` > 0, consecutive lines are joined into writes of up to that
        size (fast, for offline generation); rotation still happens only between lines.
        ``clock`` overrides the writer clock for the rotations of this call.
        """
        n_lines = n_bytes = 0
        if batch_bytes <= 0:
            for ln in lines:
                self.write(ln)
                n_lines += 1
                n_bytes += len(ln)
            return n_lines, n_bytes
        buf: list[bytes] = []
        buffered = 0
        for ln in lines:
            n = len(ln)
            if n > self.max_bytes:
                raise ValueError(f"write length {n} exceeds maximum file size {self.max_bytes}")
            if self._size + buffered + n > self.max_bytes:
                if buf:
                    self._write_all(b"".join(buf))
                    buf.clear()
                    buffered = 0
                with self._lock:
                    self._rotate_locked(clock() if clock else None)
            buf.append(ln)
            buffered += n
            n_lines += 1
            n_bytes += n
            if buffered >= batch_bytes:
                self._write_all(b"".join(buf))
                buf.clear()
                buffered = 0
        if buf:
            self._write_all(b"".join(buf))
        return n_lines, n_bytes

    def _write_all(self, data: bytes) -> None:
        with self._lock:
            mv = memoryview(data)
            while mv:
                k = os.write(self._fd, mv)
                mv = mv[k:]
            self._size += len(data)

    def rotate(self, when: datetime | None = None) -> str:
        """Rotates now (like SIGUSR1); returns the backup path as renamed."""
        with self._lock:
            return self._rotate_locked(when)

    def _rotate_locked(self, when: datetime | None) -> str:
        st = os.fstat(self._fd)
        os.close(self._fd)
        self._fd = -1
        backup = self._stamp(when)
        os.rename(self.path, backup)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(self.path, flags, st.st_mode & 0o7777)
        try:
            os.fchmod(self._fd, st.st_mode & 0o7777)
        except (AttributeError, OSError):
            pass
        self._size = 0
        self.rotations.append((backup, st.st_ino))
        self._after_rotate(backup)
        return backup

    # ---- compression and retention ----

    def _after_rotate(self, backup: str) -> None:
        if self.compress and self.compress_async:
            if self._worker is None:
                self._queue = queue.Queue()
                self._worker = threading.Thread(target=self._work, name="lumberjack-mill", daemon=True)
                self._worker.start()
            self._queue.put(backup)
            return
        if self.compress:
            self.compress_file(backup)
        self.prune()

    def _work(self) -> None:
        q = self._queue
        while True:
            item = q.get()
            try:
                if item is None:
                    return
                try:
                    self.compress_file(item)
                    self.prune()
                except OSError:
                    pass
            finally:
                q.task_done()

    def compress_file(self, path: str) -> str:
        """gzips ``path`` to ``path.gz`` (written in full, then ``path`` is deleted)."""
        dst = path + ".gz"
        try:
            st = os.stat(path)
            with open(path, "rb") as src, open(dst, "wb") as raw:
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=self.compresslevel,
                                   mtime=int(st.st_mtime)) as gz:
                    shutil.copyfileobj(src, gz, 1 << 20)
                raw.flush()
            os.chmod(dst, st.st_mode & 0o7777)
        except BaseException:
            try:
                os.remove(dst)
            except OSError:
                pass
            raise
        os.remove(path)
        return dst

    def compress_pending(self) -> list[str]:
        """Compresses every uncompressed backup (the "later" option); returns the .gz paths."""
        out = []
        for p in self.backups():
            if p.endswith(".log") and not os.path.exists(p + ".gz"):
                out.append(self.compress_file(p))
        return out

    def doomed_stems(self) -> list[str]:
        """Returns the stems of the oldest backups beyond ``max_backups`` (0 keeps all)."""
        if self.max_backups <= 0:
            return []
        stems = self._backup_stems()
        return stems[: max(0, len(stems) - self.max_backups)]

    def prune(self) -> list[str]:
        """Deletes the oldest backups beyond ``max_backups`` (0 keeps all)."""
        removed = []
        for stem in self.doomed_stems():
            for ext in (".log", ".log.gz"):
                p = os.path.join(self.log_dir, f"{self.name}-{stem}{ext}")
                try:
                    os.remove(p)
                    removed.append(p)
                except FileNotFoundError:
                    pass
        return removed

    def wait_compression(self) -> None:
        """Blocks until queued asynchronous compressions are done."""
        if self._queue is not None:
            self._queue.join()

    def flush(self) -> None:
        """Lines are unbuffered (os.write); this fsyncs the live file."""
        with self._lock:
            if self._fd >= 0:
                os.fsync(self._fd)

    def close(self) -> None:
        """Closes the live file and waits for background compression."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join()
            self._worker = None

    def __enter__(self) -> "LumberjackWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------------------------------
# folder generation and CLI
