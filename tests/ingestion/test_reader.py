"""reader: one open file, read through one descriptor; complete lines with exact offsets.

OpenFile takes its identity from the descriptor, not the name, so a rename after the open
changes nothing it reads. LineReader returns complete lines only, in bounded batches, with
byte offsets into the (decompressed) content; a trailing fragment is not a line yet.
"""
from __future__ import annotations

import gzip
import os
import time

import pytest

from ingestion import reader
from ingestion.reader import ArchiveCheck, LineReader, OpenFile, TooLong, UnreadableFile


def write(path, data: bytes, compressed: bool = False):
    if compressed:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


@pytest.fixture(params=[False, True], ids=["plain", "gzip"])
def compressed(request):
    return request.param


def test_identity_is_the_descriptors_not_the_names(tmp_path):
    path = write(tmp_path / "sftpgo.log", b"first file\n")
    f = OpenFile(str(path), False)
    os.rename(path, tmp_path / "sftpgo-1.log")             # rotated after the open ...
    write(tmp_path / "sftpgo.log", b"second file, longer\n")
    assert (f.dev, f.ino) == (os.stat(tmp_path / "sftpgo-1.log").st_dev,
                              os.stat(tmp_path / "sftpgo-1.log").st_ino)
    assert f.head() == b"first file\n"                      # ... still reads what it opened
    assert LineReader(f, 0, 1000).read_batch(100).lines == [b"first file"]
    f.close()


def test_streams_of_one_file_do_not_move_each_other(tmp_path, compressed):
    data = b"".join(b"line %03d\n" % i for i in range(200))
    f = OpenFile(str(write(tmp_path / "x.log.gz", data, compressed)), compressed)
    rd = LineReader(f, 0, 1000)
    first = rd.read_batch(100)
    assert f.span(500, 9) == data[500:509]                  # a marker read in between
    assert f.head() == data[:1024]
    second = rd.read_batch(100)
    assert second.start == first.end and second.lines[0] == data[first.end:].split(b"\n")[0]
    f.close()


def test_content_size_of_plain_and_gzip(tmp_path, compressed):
    data = b"x" * 5000 + b"\n"
    f = OpenFile(str(write(tmp_path / "f", data, compressed)), compressed)
    if compressed:
        check = ArchiveCheck(f)
        assert check.step(None) and check.size == len(data)
    else:
        assert f.size() == len(data)
    f.close()


def test_not_a_regular_file_is_refused(tmp_path):
    os.mkfifo(tmp_path / "sftpgo.log")
    with pytest.raises(UnreadableFile, match="not a regular file"):
        OpenFile(str(tmp_path / "sftpgo.log"), False)      # and the open did not hang


def test_batches_hold_complete_lines_with_exact_offsets(tmp_path, compressed):
    lines = [b'{"n":%d,"pad":"%s"}' % (i, b"\xc3\xa9" * (i % 7)) for i in range(300)]
    data = b"\n".join(lines) + b"\n"
    f = OpenFile(str(write(tmp_path / "f", data, compressed)), compressed)
    rd = LineReader(f, 0, 10_000)
    got, pos = [], 0
    while True:
        b = rd.read_batch(777)
        if not b.lines:
            break
        assert b.start == pos
        got += b.lines
        pos = b.end
        assert data[b.start:b.end] == b"".join(x + b"\n" for x in b.lines)
    assert got == lines and pos == len(data)
    f.close()


def test_resuming_at_an_offset_reads_from_there(tmp_path, compressed):
    data = b"aaa\nbbb\nccc\n"
    f = OpenFile(str(write(tmp_path / "f", data, compressed)), compressed)
    assert LineReader(f, 4, 100).read_batch(100).lines == [b"bbb", b"ccc"]
    f.close()


def test_a_fragment_without_newline_is_not_a_line_until_it_ends(tmp_path):
    path = write(tmp_path / "sftpgo.log", b"one\ntw")
    f = OpenFile(str(path), False)
    b = LineReader(f, 0, 100).read_batch(100)
    assert (b.lines, b.end, b.tail, b.eof) == ([b"one"], 4, b"tw", True)
    with open(path, "ab") as w:
        w.write(b"o\n")
    assert LineReader(f, 4, 100).read_batch(100).lines == [b"two"]
    f.close()


def test_a_line_over_the_limit_is_a_toolong_with_a_sample(tmp_path):
    big = b"x" * 5000
    f = OpenFile(str(write(tmp_path / "f", b"short\n" + big + b"\nafter\n")), False)
    rd = LineReader(f, 0, max_line_bytes=1000)
    lines = []
    while True:
        b = rd.read_batch(600)
        if not b.lines:
            break
        lines += b.lines
    assert lines[0] == b"short" and lines[-1] == b"after"
    assert lines[1] == TooLong(big[:reader.SAMPLE_BYTES], 5000)
    f.close()


def test_gzip_check_proves_a_whole_gzip_and_refuses_a_cut_one(tmp_path):
    data = os.urandom(3_000_000).hex().encode()
    whole = write(tmp_path / "a.log.gz", data, True)
    f = OpenFile(str(whole), True)
    assert ArchiveCheck(f).step(None) is True
    cut = tmp_path / "b.log.gz"
    cut.write_bytes(whole.read_bytes()[:-5000])
    g = OpenFile(str(cut), True)
    with pytest.raises(UnreadableFile, match="incomplete or corrupt gzip"):
        ArchiveCheck(g).step(None)
    f.close()
    g.close()


def test_gzip_check_works_in_slices_under_a_deadline(tmp_path):
    data = os.urandom(6_000_000).hex().encode()             # 12 MB of content
    f = OpenFile(str(write(tmp_path / "a.log.gz", data, True)), True)
    check = ArchiveCheck(f)
    steps = 1
    while not check.step(time.monotonic()):                 # a deadline already passed
        steps += 1
    assert steps > 1                                        # it stopped and went on
    f.close()
