"""Folder shapes that real installations leave: each read exactly once, pass after pass.

Archives of several members (`cat a.gz b.gz`, bgzip, `gzip -c part >> c.gz`), archives of
more than 4 GiB, more backups than open descriptors, partial copies of the live file, a file
with a byte order mark, backups compressed with zstd, bzip2 or xz, and ones in a compression
that is not read. Real files, the real gzip/zstd/bzip2/xz programs, a real descriptor limit.
"""
from __future__ import annotations

import gzip
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tests.support.ingest import (LogWriter, assert_exactly_once, db_events, event_line,
                                  expected_events, gzip_file,
                                  ingester, mixed, noise_line,
                                  run_all, scalar)



def passes(engine, log_dir, n: int = 6) -> None:
    """Runs ``n`` separate ingestion runs (a fresh Ingester each: nothing kept in memory)."""
    for _ in range(n):
        run_all(engine, log_dir)


def sh(*args: str, stdout=None) -> None:
    subprocess.run(args, check=True, stdout=stdout)


def gz_cli(src: Path, dst: Path, append: bool = False) -> None:
    """Compresses ``src`` into ``dst`` with the gzip program (appending a member if asked)."""
    with open(dst, "ab" if append else "wb") as out:
        sh("gzip", "-c", str(src), stdout=out)


def bgzf(data: bytes, block: int = 65280) -> bytes:
    """Returns ``data`` as BGZF (bgzip's format): gzip members of <= 64 KiB, each with the
    BC extra field giving its size, and the empty member bgzip ends a file with."""
    out = []
    for i in range(0, len(data), block):
        out.append(_bgzf_block(data[i:i + block]))
    out.append(_bgzf_block(b""))
    return b"".join(out)


def _bgzf_block(chunk: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = c.compress(chunk) + c.flush()
    size = 18 + len(body) + 8                   # header with the extra field, body, trailer
    header = struct.pack("<4BI2BH2BHH", 0x1F, 0x8B, 8, 4, 0, 0, 0xFF, 6, 66, 67, 2, size - 1)
    return header + body + struct.pack("<II", zlib.crc32(chunk), len(chunk))


# --- archives of several members --------------------------------------------------------------

def test_cat_of_two_gzips_is_read_once_however_many_passes(engine, log_dir):
    a, b = log_dir / "a.part", log_dir / "b.part"
    first, second = mixed(0, 700), mixed(700, 800)
    a.write_bytes(b"".join(first))
    b.write_bytes(b"".join(second))
    gz_cli(a, log_dir / "a.gz")
    gz_cli(b, log_dir / "b.gz")
    with open(log_dir / "sftpgo-2024-09-18T04-00-00.000.log.gz", "wb") as out:
        sh("cat", str(log_dir / "a.gz"), str(log_dir / "b.gz"), stdout=out)
    for p in (a, b, log_dir / "a.gz", log_dir / "b.gz"):
        p.unlink()
    passes(engine, log_dir)
    assert db_events(engine) == expected_events(first + second)
    assert scalar(engine, "SELECT size_seen FROM log_files") == len(b"".join(first + second))


def test_gzip_appended_to_between_passes_is_read_on_from_its_checkpoint(engine, log_dir):
    """`gzip -c part >> c.gz`: the same archive (inode, head) grows by a member."""
    part = log_dir / "part"
    gz = log_dir / "sftpgo-2024-09-18T04-00-00.000.log.gz"
    written = []
    for i in range(3):
        lines = mixed(i * 300, 300)
        part.write_bytes(b"".join(lines))
        gz_cli(part, gz, append=i > 0)
        written += lines
        passes(engine, log_dir, 2)
        assert db_events(engine) == expected_events(written)
    part.unlink()
    passes(engine, log_dir, 3)
    assert db_events(engine) == expected_events(written)
    assert scalar(engine, "SELECT COUNT(*) FROM log_files") == 1


@pytest.mark.parametrize("shape", ["bgzip", "python-members", "empty-member"])
def test_other_multi_member_gzips_are_read_once(engine, log_dir, shape):
    lines = mixed(0, 1500)
    data = b"".join(lines)
    gz = log_dir / "sftpgo-2024-09-18T04-00-00.000.log.gz"
    if shape == "bgzip":
        gz.write_bytes(bgzf(data))
    elif shape == "python-members":
        gz.write_bytes(b"".join(gzip.compress(data[i:i + 5000]) for i in range(0, len(data), 5000)))
    else:
        gz.write_bytes(gzip.compress(data) + gzip.compress(b""))
    assert gzip.decompress(gz.read_bytes()) == data
    passes(engine, log_dir)
    assert db_events(engine) == expected_events(lines)


# --- archives that join several backups ---------------------------------------------------------

def rotated_backups(log_dir: Path, n: int, lines_each: int = 300) -> tuple[LogWriter, list[Path]]:
    """Writes ``n`` backups like lumberjack (each then gzipped by the mill); returns them."""
    w = LogWriter(log_dir)
    backups = []
    for i in range(n):
        w.write(*mixed(i * 1000, lines_each))
        backups.append(w.rotate())
    w.write(*mixed(99_000, 5))
    return w, backups


def join(parts: list[Path], dst: Path) -> None:
    with open(dst, "wb") as out:
        sh("cat", *map(str, parts), stdout=out)


@pytest.mark.parametrize("originals", ["deleted", "kept"])
def test_an_archive_joining_read_backups_adds_nothing(engine, log_dir, originals):
    """A month of backups, each read, joined into one archive (`cat *.gz > month.gz`)."""
    w, backups = rotated_backups(log_dir, 6)
    passes(engine, log_dir, 1)
    gzs = [gzip_file(b) for b in backups]
    passes(engine, log_dir, 1)
    join(gzs, log_dir / "sftpgo-2024-09.log.gz")
    if originals == "deleted":
        for gz in gzs:
            gz.unlink()
    passes(engine, log_dir, 4)
    assert_exactly_once(engine, w)
    assert scalar(engine, "SELECT SUM(bytes_lost) FROM log_files") == 0


def test_an_archive_joining_backups_read_in_part_reads_the_rest_once(engine, log_dir):
    """The first backup was read wholly, the second in part (as the live file, then rotated
    while no ingester ran), the third never: joined and the originals gone, the archive
    gives the second one's rest and the third, once."""
    w = LogWriter(log_dir)
    w.write(*mixed(0, 300))
    a = w.rotate()
    w.write(*mixed(1000, 300))
    passes(engine, log_dir, 1)                # the first wholly, the second (live) too...
    w.write(*mixed(1300, 300))
    ing = ingester(engine, log_dir)
    try:
        ing.run_pass(max_bytes=5000)          # ...then only in part of what came next
    finally:
        ing.close()
    b = w.rotate()
    w.write(*mixed(3000, 300))
    c = w.rotate()                            # the third: never seen
    w.write(*mixed(4000, 5))
    gzs = [gzip_file(x) for x in (a, b, c)]
    join(gzs, log_dir / "sftpgo-2024-09.log.gz")
    for gz in gzs:
        gz.unlink()
    passes(engine, log_dir, 3)
    assert_exactly_once(engine, w)
    assert scalar(engine, "SELECT SUM(bytes_lost) FROM log_files") == 0


def test_an_archive_joining_a_file_to_itself_is_read_once(engine, log_dir):
    w, backups = rotated_backups(log_dir, 1)
    gz = gzip_file(backups[0])
    join([gz, gz], log_dir / "sftpgo-twice.log.gz")
    passes(engine, log_dir, 3)
    assert_exactly_once(engine, w)


def test_the_parts_of_an_archive_are_left_closed_after_a_restart(engine, log_dir):
    w, backups = rotated_backups(log_dir, 4)
    passes(engine, log_dir, 1)
    gzs = [gzip_file(b) for b in backups]
    passes(engine, log_dir, 1)
    join(gzs, log_dir / "sftpgo-2024-09.log.gz")
    for gz in gzs:
        gz.unlink()
    passes(engine, log_dir, 1)
    assert scalar(engine, "SELECT COUNT(*) FROM log_files WHERE base > 0") == 3
    ing = ingester(engine, log_dir)
    try:
        p = ing.run_pass()
        assert (p.opened, p.bytes_done) == (1, 0)      # the live file only
    finally:
        ing.close()
    assert_exactly_once(engine, w)


# --- an archive of more than 4 GiB ----------------------------------------------------------

BLOCK = b"x" * ((1 << 20) - 1) + b"\n"           # a 1 MiB line that is not JSON
BLOCKS = 4200                                     # 4.1 GiB of them


@pytest.fixture(scope="module")
def huge_gzip(tmp_path_factory) -> tuple[Path, list[bytes], int]:
    """A gzip whose content is over 4 GiB (its trailer's size wraps), made once a module:
    events first, 4,200 one-MiB lines that are not JSON, events last."""
    path = tmp_path_factory.mktemp("huge") / "sftpgo-2024-09-18T04-00-00.000.log.gz"
    head, tail = mixed(0, 200), mixed(200, 200)
    c = zlib.compressobj(1, zlib.DEFLATED, 31)
    with open(path, "wb") as out:
        out.write(c.compress(b"".join(head)))
        for _ in range(BLOCKS):
            out.write(c.compress(BLOCK))
        out.write(c.compress(b"".join(tail)) + c.flush())
    size = len(b"".join(head + tail)) + BLOCKS * len(BLOCK)
    assert size > 1 << 32
    trailer = int.from_bytes(path.read_bytes()[-4:], "little")
    assert trailer == size % (1 << 32) != size       # what the file says of itself is wrong
    return path, head + tail, size


@pytest.mark.slow
def test_gzip_over_4_gib_is_read_once_and_resumed_mid_archive(engine, log_dir, huge_gzip):
    path, lines, size = huge_gzip
    os.link(path, log_dir / path.name)
    ing = ingester(engine, log_dir)
    rounds = 0
    try:
        while True:                     # short passes: each stops deep in the archive
            p = ing.run_pass(max_seconds=0.5)
            rounds += 1
            if p.complete and p.bytes_done == 0:
                break
            assert rounds < 400, "no end: each pass decompressed from the start again?"
    finally:
        ing.close()
    assert db_events(engine) == expected_events(lines)
    assert scalar(engine, "SELECT size_seen FROM log_files") == size
    assert scalar(engine, "SELECT committed_offset FROM checkpoints") == size
    assert scalar(engine, "SELECT COALESCE(SUM(line_count), 0) FROM malformed_lines") == BLOCKS
    passes(engine, log_dir, 2)          # a fresh process: the archive is unchanged, left closed
    assert db_events(engine) == expected_events(lines)


# --- more files than descriptors --------------------------------------------------------------

LIMITED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, ({n}, {n}))
sys.argv = ["ingest.py", "--quiet", "--log-dir", {log_dir!r}, "--db", {db!r}]
sys.path.insert(0, {root!r})
import ingest
sys.exit(ingest.main())
"""


def ingest_with_fd_limit(log_dir: Path, db_url: str, limit: int) -> None:
    root = str(Path(__file__).resolve().parents[2])
    code = LIMITED.format(n=limit, log_dir=str(log_dir), db=db_url, root=root)
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("files", [400, pytest.param(20_000, marks=pytest.mark.slow)])
def test_more_backups_than_descriptors_are_all_read_in_one_run(db_url, engine, log_dir, files):
    lines = []
    for i in range(files):
        sub = log_dir / f"y{i // 1000}"
        sub.mkdir(exist_ok=True)
        line = event_line(i)
        (sub / f"sftpgo-2024-01-01T00-00-{i:05d}.000.log").write_bytes(line)
        lines.append(line)
    ingest_with_fd_limit(log_dir, db_url, 256)
    assert db_events(engine) == expected_events(lines)
    ingest_with_fd_limit(log_dir, db_url, 256)
    assert db_events(engine) == expected_events(lines)


def test_a_pass_with_nothing_new_leaves_read_files_closed(engine, log_dir):
    w = LogWriter(log_dir)
    for i in range(30):
        w.write(*mixed(i * 10, 10))
        w.rotate()
    w.write(*mixed(1000, 5))
    passes(engine, log_dir, 1)
    ing = ingester(engine, log_dir)
    try:
        p = ing.run_pass()
        assert (p.opened, p.files, p.bytes_pending) == (1, 31, 0)   # the live file only
        w.write(*mixed(2000, 5))
        os.utime(log_dir / "sftpgo-2024-09-18T04-00-05.000.log")    # touched: looked at again
        p = ing.run_pass()
        assert p.opened == 2 and p.bytes_done > 0
    finally:
        ing.close()
    assert_exactly_once(engine, w)


def test_files_that_wait_for_descriptors_count_as_pending(engine, log_dir):
    lines = [event_line(i) for i in range(35)]
    for i, line in enumerate(lines):
        (log_dir / f"sftpgo-2024-01-01T00-00-{i:05d}.000.log").write_bytes(line)
    ing = ingester(engine, log_dir, open_slice=10)
    try:
        first = ing.run_pass()
        assert first.deferred == 25 and first.bytes_pending == sum(map(len, lines[10:]))
        assert not first.complete
        from dashboard import queries
        st = queries.status(engine)
        assert (st["files_waiting"], st["bytes_pending"]) == (25, first.bytes_pending)
        for _ in range(5):
            ing.run_pass()
        assert ing.run_pass().complete
        assert queries.status(engine)["files_waiting"] == 0
    finally:
        ing.close()
    assert db_events(engine) == expected_events(lines)


# --- partial copies ---------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["cp", "gzip -c"])
def test_a_partial_copy_left_in_a_subfolder_is_never_read_again(engine, log_dir, how):
    """A nightly backup taken while the file grows; later the full file is rotated away and
    deleted: the copy holds only bytes read, and stays unread."""
    w = LogWriter(log_dir)
    w.write(*mixed(0, 400))
    passes(engine, log_dir, 1)
    (log_dir / "backup").mkdir()
    if how == "cp":
        copy = log_dir / "backup" / "sftpgo.log"
        sh("cp", str(w.live), str(copy))
    else:
        copy = log_dir / "backup" / "sftpgo-nightly.log.gz"
        gz_cli(w.live, copy)
    w.write(*mixed(400, 600))
    passes(engine, log_dir, 2)
    backup = w.rotate()
    w.write(*mixed(1000, 10))
    passes(engine, log_dir, 2)
    backup.unlink()                       # pruned, after it was read
    passes(engine, log_dir, 4)
    assert_exactly_once(engine, w)
    assert scalar(engine, "SELECT COUNT(*) FROM log_copies") == 1


def test_a_partial_copy_dropped_in_after_the_original_is_gone(engine, log_dir, tmp_path):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 300))
    outside = tmp_path / "copy.log"
    shutil.copyfile(w.live, outside)      # taken before the rest was written
    w.write(*mixed(300, 300))
    passes(engine, log_dir, 1)
    w.rotate().unlink()
    w.write(*mixed(600, 5))
    passes(engine, log_dir, 1)
    os.makedirs(log_dir / "restored")
    shutil.move(outside, log_dir / "restored" / "sftpgo-2024-09-18T00-00-00.000.log")
    passes(engine, log_dir, 3)
    assert_exactly_once(engine, w)


def test_a_rewritten_file_with_the_same_first_kib_is_read(engine, log_dir, tmp_path):
    """What a genuinely different file looks like: the same first KiB, but the line where an
    event was read holds another line (the rule docs/exactly-once.md gives). It is read."""
    banner = b"".join(noise_line(i) for i in range(12))
    assert len(banner) > 1024
    w = LogWriter(log_dir)
    w.write(banner, *mixed(0, 200))
    passes(engine, log_dir, 1)
    w.rotate().unlink()
    w.write(*mixed(5000, 3))
    passes(engine, log_dir, 1)
    other = [banner, *mixed(9000, 50)]    # shorter than what was read of the first
    (log_dir / "sftpgo-2024-09-18T01-00-00.000.log").write_bytes(b"".join(other))
    passes(engine, log_dir, 2)
    assert db_events(engine) == expected_events(w.written + other)


def test_a_partial_copy_read_first_is_outgrown_by_the_whole_file(engine, log_dir, tmp_path):
    """The partial copy is found first and read; the whole file turns up later (an archive
    restored): what the copy held is not read again, the rest is read."""
    lines = mixed(0, 800)
    whole = b"".join(lines)
    cut = whole.index(b"\n", len(whole) // 3) + 1
    (log_dir / "partial").mkdir()
    (log_dir / "partial" / "sftpgo-2024-09-18T04-00-00.000.log").write_bytes(whole[:cut])
    passes(engine, log_dir, 2)
    gz = log_dir / "sftpgo-2024-09-18T04-00-00.000.log.gz"
    gz.write_bytes(gzip.compress(whole))
    passes(engine, log_dir, 3)
    assert db_events(engine) == expected_events(lines)
    assert scalar(engine, "SELECT COUNT(*) FROM log_copies") == 1


def test_a_partial_copy_gives_back_part_of_a_lost_file_and_the_rest_stays_lost(engine, log_dir,
                                                                             tmp_path):
    """Read in part, then rotated and deleted while no ingester ran: its unread bytes are
    lost. A partial copy longer than what was read turns up: the bytes it holds are read
    (from the checkpoint on), and only what it lacks stays lost."""
    w = LogWriter(log_dir)
    w.write(*mixed(0, 400))
    ing = ingester(engine, log_dir)
    try:
        ing.run_pass(max_bytes=5000)
    finally:
        ing.close()
    offset = scalar(engine, "SELECT committed_offset FROM checkpoints")
    copy = tmp_path / "copy.log"
    data = w.live.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1
    copy.write_bytes(data[:cut])
    assert offset < cut < len(data)
    w.rotate().unlink()
    w.write(*mixed(400, 5))
    passes(engine, log_dir, 1)
    assert scalar(engine, "SELECT SUM(bytes_lost) FROM log_files") == len(data) - offset
    (log_dir / "kept").mkdir()
    shutil.move(copy, log_dir / "kept" / "sftpgo-2024-09-18T04-00-01.000.log")
    passes(engine, log_dir, 3)
    assert scalar(engine, "SELECT SUM(bytes_lost) FROM log_files") == len(data) - cut
    got, want = db_events(engine), expected_events(w.written)
    assert not got - want                            # nothing twice ...
    assert got == expected_events([x + b"\n" for x in data[:cut].split(b"\n")[:-1]]
                                  + w.written[400:])  # ... and all the copy holds
    from dashboard import queries
    assert queries.status(engine)["bytes_pending"] == 0


# --- byte order mark, other compressions --------------------------------------------------------

def test_a_byte_order_mark_is_not_part_of_the_first_line(engine, log_dir):
    lines = [event_line(0), *mixed(1, 20)]
    (log_dir / "sftpgo.log").write_bytes(b"\xef\xbb\xbf" + b"".join(lines))
    passes(engine, log_dir, 2)
    assert db_events(engine) == expected_events(lines)
    assert scalar(engine, "SELECT COUNT(*) FROM malformed_lines") == 0
    assert scalar(engine, "SELECT MIN(start_offset) FROM events") == 3


@pytest.mark.parametrize("tool,suffix", [("zstd", ".zst"), ("bzip2", ".bz2"), ("xz", ".xz")])
def test_backups_compressed_by_logrotate_tools_are_read_once(engine, log_dir, tool, suffix):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 300))
    passes(engine, log_dir, 1)            # partly read, then rotated and compressed while down
    w.write(*mixed(300, 300))
    backup = w.rotate()
    w.write(*mixed(600, 10))
    sh(tool, "-q", *(["--rm"] if tool == "zstd" else []), str(backup))   # backup + suffix, the backup removed
    assert not backup.exists() and Path(str(backup) + suffix).exists()
    passes(engine, log_dir, 3)
    assert_exactly_once(engine, w)
    assert scalar(engine, "SELECT SUM(bytes_lost) FROM log_files") == 0


def test_a_backup_in_a_compression_not_read_is_reported_and_its_loss_counted(engine, log_dir):
    """Rotated and zipped before it was read to its end: the status names the zip, the bytes
    known unread at the last look are lost; unzipped into the folder, they are read."""
    import zipfile
    w = LogWriter(log_dir)
    w.write(*mixed(0, 300))
    ing = ingester(engine, log_dir)
    try:
        ing.run_pass(max_bytes=5000)      # a tick's budget: read in part, then stopped
    finally:
        ing.close()
    offset = scalar(engine, "SELECT committed_offset FROM checkpoints")
    seen = scalar(engine, "SELECT size_seen FROM log_files")
    assert 0 < offset < seen
    backup = w.rotate()                   # while no ingester runs
    w.write(*mixed(300, 10))
    with zipfile.ZipFile(str(backup) + ".zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(backup, backup.name)
    backup.unlink()
    passes(engine, log_dir, 2)
    from dashboard import queries
    st = queries.status(engine)
    assert "compressed as zip, which is not read" in (st["last_error"] or "")
    assert st["bytes_lost"] == seen - offset
    with zipfile.ZipFile(str(backup) + ".zip") as z:
        z.extractall(log_dir)
    passes(engine, log_dir, 2)
    assert_exactly_once(engine, w)
    assert queries.status(engine)["bytes_lost"] == 0
