"""discover.py: only files inside the log folder are candidates; what is skipped is said."""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from ingestion import discover
from tests.support.ingest import PASSWD_LINK, deep_folder


def _paths(cands) -> list[str]:
    return [c.path for c in cands]


def test_a_symlink_out_of_the_folder_is_skipped_and_reported(log_dir, tmp_path):
    (log_dir / "sftpgo.log").write_bytes(b"{}\n")
    os.symlink("/etc/passwd", log_dir / PASSWD_LINK)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.log").write_bytes(b"x\n")
    (log_dir / "old").mkdir()
    # a chain: inside link -> inside link -> outside file
    os.symlink(outside / "secret.log", log_dir / "old" / "hop.txt")
    os.symlink(log_dir / "old" / "hop.txt", log_dir / "old" / "sftpgo-2024-01-01T00-00-00.000.log")
    os.symlink(outside, log_dir / "linked-folder")      # a folder link is never walked into
    (outside / "sftpgo-2024-03-03T00-00-00.000.log").write_bytes(b"y\n")
    problems: dict[str, str] = {}
    cands = discover.candidate_paths(str(log_dir), problems=problems)
    assert _paths(cands) == [str(log_dir / "sftpgo.log")]
    assert sorted(problems) == [str(log_dir / "old" / "sftpgo-2024-01-01T00-00-00.000.log"),
                                str(log_dir / PASSWD_LINK)]
    assert all("points outside the log folder" in v for v in problems.values())


def test_symlinks_and_hard_links_inside_the_folder_still_count(log_dir):
    live = log_dir / "sftpgo.log"
    live.write_bytes(b"{}\n")
    (log_dir / "a").mkdir()
    (log_dir / "a" / "data.txt").write_bytes(b"z\n")
    os.symlink(log_dir / "a" / "data.txt", log_dir / "sftpgo-2024-01-01T00-00-00.000.log")
    os.symlink("a/data.txt", log_dir / "sftpgo-2024-01-02T00-00-00.000.log")   # relative
    os.link(live, log_dir / "a" / "sftpgo-2024-01-03T00-00-00.000.log")
    problems: dict[str, str] = {}
    cands = discover.candidate_paths(str(log_dir), problems=problems)
    assert problems == {}
    # the two links to data.txt are one file; the hard link of the live file is the live file
    assert _paths(cands) == [str(log_dir / "sftpgo-2024-01-01T00-00-00.000.log"),
                             str(live)]


def test_a_log_folder_given_through_a_symlink_is_read(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "sftpgo.log").write_bytes(b"{}\n")
    os.symlink("sftpgo.log", real / "sftpgo-2024-01-01T00-00-00.000.log")
    os.symlink(real, tmp_path / "via")
    problems: dict[str, str] = {}
    cands = discover.candidate_paths(str(tmp_path / "via"), problems=problems)
    assert _paths(cands) == [str(tmp_path / "via" / "sftpgo.log")] and problems == {}


@contextlib.contextmanager
def as_nobody():
    """Runs the block with the effective uid of `nobody` when root (root reads mode 000)."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def open_dir():
    """A folder under /tmp that `nobody` may traverse (pytest's tmp_path is root-only)."""
    path = Path(tempfile.mkdtemp(prefix="i13-discover-"))
    path.chmod(0o755)
    yield path
    for p in path.rglob("*"):
        with contextlib.suppress(OSError):
            p.chmod(0o755)
    shutil.rmtree(path, ignore_errors=True)


def test_an_unreadable_subfolder_is_reported(open_dir):
    """A real EACCES: root ignores mode 000, so the walk runs with nobody's effective uid."""
    logs = open_dir / "logs"
    (logs / "2024" / "01").mkdir(parents=True)
    (logs / "sftpgo.log").write_bytes(b"{}\n")
    (logs / "2024" / "01" / "sftpgo-2024-01-01T00-00-00.000.log").write_bytes(b"{}\n")
    for p in (logs, logs / "sftpgo.log"):
        p.chmod(0o755)
    (logs / "2024").chmod(0o000)
    problems: dict[str, str] = {}
    with as_nobody():
        cands = discover.candidate_paths(str(logs), problems=problems)
    assert _paths(cands) == [str(logs / "sftpgo.log")]
    assert problems == {str(logs / "2024"):
                        f"{logs / '2024'}: folder not readable ({os.strerror(errno.EACCES)})"}


def test_a_folder_too_deep_to_list_is_reported(log_dir):
    (log_dir / "sftpgo.log").write_bytes(b"{}\n")
    deep_folder(log_dir)
    problems: dict[str, str] = {}
    cands = discover.candidate_paths(str(log_dir), problems=problems)
    assert _paths(cands) == [str(log_dir / "sftpgo.log")]
    [(where, reason)] = problems.items()
    assert where.startswith(str(log_dir / "nest")) and "folder not readable" in reason
    assert len(reason) < 400 and reason.startswith(str(log_dir))
