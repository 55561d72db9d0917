"""The files LOAD DATA LOCAL reads (the MySQL/MariaDB bulk path of store.py): one per statement,
in /dev/shm (else the temp folder), named ``sftpgo-dash-<pid>-<random>.tsv`` and locked
(flock) by the process that wrote it for as long as it exists.

A file is removed after its statement, whatever the statement raised. A process killed in
between (kill -9, the OOM killer, a container stopped hard) leaves its file behind, in
memory when the folder is /dev/shm: ``sweep()``, at the first bulk commit of every process,
removes those, and only those. Several ingesters (several nodes, the dashboard's ticks) may
share the machine, so a file is removed only when

- its name is ours (the prefix, a pid, .tsv) and the file is a plain file of this user;
- it has not changed for SETTLE_S seconds;
- the process named in it is not running (or the file is older than STALE_S: a pid reused
  by some other program), and
- its lock is free: the writer holds it until it removes the file, so a live writer's file
  is never taken, even one in another PID namespace sharing the folder.

A file of an older build (no pid in its name, no lock) is removed once it is STALE_S old.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import stat
import tempfile
import time
from typing import Iterator

log = logging.getLogger(__name__)

FOLDER = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None   # None: the temp folder
PREFIX = "sftpgo-dash-"
SETTLE_S = 2.0                 # younger files are left alone (their writer may be locking it)
STALE_S = 24 * 3600.0          # no statement holds its file this long
_NAME = re.compile(r"sftpgo-dash-(?:([0-9]{1,10})-)?[a-z0-9_]+\.tsv")


@contextlib.contextmanager
def load_file(data: bytes, folder: str | None = None) -> Iterator[str]:
    """Writes ``data`` to a new file, locked and named with this process's pid; yields its
    path; removes it afterwards, whatever happened."""
    fd, path = tempfile.mkstemp(prefix=f"{PREFIX}{os.getpid()}-", suffix=".tsv",
                                dir=folder or FOLDER)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)             # releases the lock


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:      # someone else's process: running
        return True
    return True


def _remove_if_unlocked(path: str, st: os.stat_result) -> bool:
    """Removes ``path`` if no process holds its lock and it is still the file ``st`` saw."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False         # its writer is alive
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            return False
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
    finally:
        os.close(fd)


def sweep(folder: str | None = None) -> list[str]:
    """Removes the load files left by processes that died (see the module's docstring);
    returns their paths."""
    folder = folder or FOLDER or tempfile.gettempdir()
    removed = []
    now = time.time()
    with os.scandir(folder) as entries:
        for entry in entries:
            match = _NAME.fullmatch(entry.name)
            if match is None:
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
                continue
            age = now - st.st_mtime
            if age < SETTLE_S:
                continue
            pid = match.group(1)
            if age < STALE_S and (pid is None or _running(int(pid))):
                continue
            if _remove_if_unlocked(entry.path, st):
                removed.append(entry.path)
    if removed:
        log.warning("Removed %d LOAD DATA file(s) left by an ingester that was killed. "
                    "folder=%s", len(removed), folder)
    return removed


# --- the text LOAD DATA reads: its default format (tab, backslash escapes, \\N) -----------

# --- MySQL/MariaDB bulk path ----------------------------------------------------------------
# PyMySQL escapes every value in Python, which costs more than parsing the line. LOAD DATA
# LOCAL takes a tab-separated file instead: data, not SQL, so nothing in it can be run.

_TSV = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"})


_NEEDS_ESCAPE = re.compile("[\\\\\t\n\r\0]").search


def _t(v) -> str:
    if v is None:
        return "\\N"
    return v.translate(_TSV) if _NEEDS_ESCAPE(v) else v


def _n(v) -> str:
    return "\\N" if v is None else str(v)


def events_tsv(rows: list[tuple]) -> bytes:
    """Returns event rows as LOAD DATA's default text format (tab, backslash escapes, \\N)."""
    return "".join([
        f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\t{r[5]}\t{_t(r[6])}\t"
        f"{_n(r[7])}\t{r[8]}\t{_t(r[9])}\t{_t(r[10])}\t{_t(r[11])}\t"
        f"{_t(r[12])}\t{_n(r[13])}\t{_t(r[14])}\t{_t(r[15])}\t{_t(r[16])}\t{_t(r[17])}\t"
        f"{_n(r[18])}\t{r[19]}\n"
        for r in rows]).encode("utf-8", "surrogatepass")


def rare_tsv(rows: list[tuple]) -> bytes:
    """Returns rare_rows' rows as LOAD DATA's text format (numbers, times and our own kind
    names only: nothing to escape)."""
    return "".join([f"{r[0]}\t{r[1]}\t{_n(r[2])}\t{_n(r[3])}\t{_n(r[4])}\n"
                    for r in rows]).encode("ascii")
