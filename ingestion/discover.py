"""Which log files exist right now: the live file and rotated backups, in any subfolder.

A backup may be compressed. gzip (lumberjack's and logrotate's default), bzip2, xz and
zstd (logrotate's ``compresscmd``) are read; a backup in another compression (zip, 7z, lz4,
brotli, ...) is listed with ``codec`` None and ``unreadable`` set, so a pass can report it
instead of passing over it in silence.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass


# File name suffix -> codec read by reader.OpenFile (the decompressed content is the log).
CODECS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd"}
# Compressions a backup may be found in that are not read: reported by name.
UNREAD = {".zip": "zip", ".7z": "7z", ".lz4": "lz4", ".br": "brotli", ".lz": "lzip",
          ".lzma": "lzma", ".lzo": "lzop", ".Z": "compress", ".sz": "snappy"}


class LogDirMissing(FileNotFoundError):
    """The configured log folder does not exist."""


@dataclass(frozen=True)
class Candidate:
    """A file found in the log folder, with the stat facts identity needs."""
    path: str
    dev: int
    ino: int
    size: int          # on-disk size (compressed size for an archive)
    mtime: float
    compressed: bool
    live: bool         # the active file (<log_dir>/<name>.log): it may still grow
    mtime_ns: int = 0  # the same mtime, exactly: with dev, ino and size, a file's version
    deleted: bool = False   # no name left: read through a descriptor held since it had one

    @property
    def codec(self) -> str | None:
        """Returns how the content is compressed ("gzip", "bzip2", "xz", "zstd"), or None."""
        return codec_of(self.path) if self.compressed else None

    @property
    def stem(self) -> str:
        """Returns the path without its compression suffix (a backup and its archive twin
        share it)."""
        return stem_of(self.path)

    @property
    def version(self) -> tuple[int, int]:
        """Returns (size, mtime_ns): what changes whenever the file's bytes change."""
        return self.size, self.mtime_ns


def codec_of(path: str) -> str | None:
    """Returns the codec a path's suffix names (a key of CODECS' values), None for a .log."""
    return CODECS.get(os.path.splitext(path)[1])


def stem_of(path: str) -> str:
    """Returns the path without a compression suffix (read or not)."""
    base, ext = os.path.splitext(path)
    return base if ext in CODECS or ext in UNREAD else path


def name_pattern(log_name: str) -> re.Pattern:
    """Returns the pattern of file names that belong to the log: name.log, name-<ts>.log, and
    either compressed (group 2: the suffix, read or not)."""
    suffixes = "|".join(re.escape(s) for s in (*CODECS, *UNREAD))
    return re.compile(rf"^{re.escape(log_name)}(-[^/]+)?\.log({suffixes})?$")


def candidate_paths(log_dir: str, log_name: str = "sftpgo",
                    problems: dict[str, str] | None = None) -> list[Candidate]:
    """Returns every file of the log under ``log_dir`` (recursively), in path order.

    Only ``<log_dir>/<name>.log`` is live; a ``<name>.log`` in a subfolder is an archive.
    Only files that resolve inside the folder are returned: a symlink pointing out of it is
    skipped, and so is a folder that cannot be listed; each goes into ``problems`` (path ->
    reason), for the caller to report like a file it cannot read. So does a backup in a
    compression that is not read (UNREAD): it is named, never passed over in silence.
    """
    if not os.path.isdir(log_dir):
        raise LogDirMissing(f"log folder not found: {log_dir}")
    if problems is None:
        problems = {}
    pattern = name_pattern(log_name)
    live_path = os.path.join(log_dir, f"{log_name}.log")
    inside = _inside(log_dir)
    found = []

    def unlistable(exc: OSError) -> None:
        where = exc.filename or log_dir
        problems[where] = f"{_shown(where)}: folder not readable ({exc.strerror or exc})"

    for root, dirs, files in os.walk(log_dir, onerror=unlistable):
        dirs.sort()
        for name in files:
            m = pattern.match(name)
            if not m:
                continue
            path = os.path.join(root, name)
            try:
                if os.path.islink(path) and not inside(path):
                    problems[path] = f"{path}: points outside the log folder, not read"
                    continue
                st = os.stat(path)
            except OSError:        # vanished between listing and stat: next pass will tell
                continue
            if not os.path.isfile(path):
                continue
            suffix = m.group(2)
            if suffix in UNREAD:
                problems[path] = (f"{_shown(path)}: compressed as {UNREAD[suffix]}, which is "
                                  f"not read; decompress it into the folder to have it read")
                continue
            found.append(Candidate(path, st.st_dev, st.st_ino, st.st_size, st.st_mtime,
                                   compressed=bool(suffix), live=path == live_path,
                                   mtime_ns=st.st_mtime_ns))
    # One file reached by two names (a hard link, a symlink) is one candidate: the live
    # name wins, else the first path.
    found.sort(key=lambda c: (not c.live, c.path))
    unique = {}
    for c in found:
        unique.setdefault((c.dev, c.ino), c)
    return sorted(unique.values(), key=lambda c: c.path)


def _shown(path: str, limit: int = 300) -> str:
    """Returns a path short enough for a status line (its start and its end)."""
    return path if len(path) <= limit else f"{path[:limit // 2]}...{path[-limit // 2:]}"


def _inside(log_dir: str):
    """Returns a test: does a path resolve (all symlinks followed) inside ``log_dir``?"""
    base = os.path.realpath(log_dir)
    prefix = base.rstrip(os.sep) + os.sep

    def inside(path: str) -> bool:
        real = os.path.realpath(path)
        return real == base or real.startswith(prefix)
    return inside
