"""A transfer's folders (ingestion/folders.py): the rule of docs/insight.md against the plain
reading in tests/reference.py, for any path; and the SQL that recomputes path_daily
(sql/rollups/path_daily.*.sql, migration 018) agrees with the ingester's increments on
both backends, odd paths included."""
from __future__ import annotations

import json
import random

import hypothesis.strategies as st
import pytest
import sqlalchemy as sa
from hypothesis import given, settings

from ingestion import folders, rollups
from tests import reference
from tests.support.ingest import run_all

ODD = ["/srv/data/acme/in/f.csv", "/srv/f.csv", "/f.csv", "f.csv", "a//b/f", "//srv/x/f",
       "C:\\sftp\\data\\u\\x.pdf", "bucket/dir/obj", "/x/b/", "/ü/ñ/日本/f", "/" + "d" * 300 + "/f",
       "/a/b/c/d/e/f/g/h/i/j/k/file", "\\\\server\\share\\f", "/a\\b/c", "/", "//f", "",
       "/with space/and\ttab/f", "/100%_done/x", "/'quoted\"/f", "/emoji😀/f",
       "/pad /f", "/pad/f", "/PAD/f"]


@pytest.mark.parametrize("path", ODD)
def test_each_depth_is_the_contracts_folder(path):
    assert folders.folders(path) == tuple(reference.folder(path, d) for d in range(1, 9))


def test_the_examples_of_the_contract():
    assert folders.folders("/srv/data/acme/in/f.csv")[1:3] == ("/srv/data", "/srv/data/acme")
    assert set(folders.folders("/srv/f.csv")) == {"/srv"}
    assert set(folders.folders("/f.csv")) == {"/"}


@settings(max_examples=2000, derandomize=True, deadline=None)
@given(st.text(alphabet="/\\ab.é日 ", max_size=40))
def test_any_path_agrees_with_the_reference(path):
    assert folders.folders(path) == tuple(reference.folder(path, d) for d in range(1, 9))
    assert folders.prefixes(folders.folder_key(path)) == folders.folders(path)


def _expected(paths_sizes) -> dict:
    """{(depth, folder): [uploads, downloads, bytes up, bytes down]} by the reference."""
    acc: dict = {}
    for i, path, size in paths_sizes:
        for depth in range(1, 9):
            cur = acc.setdefault((depth, reference.folder(path, depth)), [0, 0, 0, 0])
            cur[i % 2] += 1
            cur[2 + i % 2] += size
    return acc


def _stored(engine) -> dict:
    acc: dict = {}
    with engine.connect() as conn:
        for depth, path, up, down, bu, bd in conn.execute(sa.text(
                "SELECT depth, path, uploads, downloads, bytes_uploaded, bytes_downloaded "
                "FROM path_daily")):
            cur = acc.setdefault((depth, path), [0, 0, 0, 0])
            for j, v in enumerate((up, down, bu, bd)):
                cur[j] += v
    return acc


def test_the_rollups_sql_agrees_with_ingestion_on_odd_paths(engine, log_dir):
    rng = random.Random(27)   # besides the odd ones, paths drawn from the property's alphabet
    drawn = ["".join(rng.choice("/\\ab.é日 ") for _ in range(rng.randint(1, 30)))
             for _ in range(300)]
    paths = ODD * 3 + drawn
    sized = [(i, path, i * 1000 + 1) for i, path in enumerate(paths)]
    lines = [json.dumps({"level": "info", "time": f"2024-09-{18 + i % 2}T0{i % 10}:00:00.000",
                         "sender": ["Upload", "Download"][i % 2], "remote_addr": "1.2.3.4:5",
                         "size_bytes": size, "username": ["alice", "bob"][i % 3 % 2],
                         "file_path": path, "protocol": "SFTP"})
             for i, path, size in sized]
    (log_dir / "sftpgo.log").write_bytes("\n".join(lines).encode() + b"\n")
    run_all(engine, log_dir)
    assert _stored(engine) == _expected(sized)      # the ingester's increments
    assert rollups.check(engine) == []              # ... are what the SQL recomputes
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM path_daily"))
    assert rollups.check(engine) != []
    rollups.rebuild(engine)
    assert rollups.check(engine) == []
    assert _stored(engine) == _expected(sized)      # the SQL's own rows
