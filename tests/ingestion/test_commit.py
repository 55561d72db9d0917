"""commit: a batch is stored whole or not at all, and only from where the checkpoint stands.

BatchCommitter stores a batch's events, kept lines, rollup increments and checkpoint move in
one transaction; CommitThread runs those commits in order on a second thread. Both backends.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from ingestion import generations, loadfiles, store
from ingestion.batch import Batch, build
from ingestion.commit import BatchCommitter, CommitThread
from tests.support.ingest import event_line, scalar


class Boom(Exception):
    pass


def new_file(engine) -> int:
    with engine.begin() as conn:
        return generations.create_generation(conn, "n1", b"head", 1, 2, "/logs/sftpgo.log", False, 0, None)


def batch_of(fid: int, lines: list[bytes], old: int = 0) -> Batch:
    rows = build(fid, old, [x.rstrip(b"\n") for x in lines], None, False)
    return Batch(fid, old, rows.end, b"marker", rows.events, rows.rejects, len(lines))


def stored(engine) -> tuple:
    return (scalar(engine, "SELECT COUNT(*) FROM events"),
            scalar(engine, "SELECT COUNT(*) FROM malformed_lines"),
            scalar(engine, "SELECT COALESCE(SUM(events), 0) FROM daily_stats"),
            scalar(engine, "SELECT committed_offset FROM checkpoints"))


def test_a_batch_moves_the_checkpoint_with_its_rows(engine):
    fid = new_file(engine)
    b = batch_of(fid, [event_line(i) for i in range(5)] + [b"junk\n"])
    BatchCommitter(engine, lambda name: None, "n1")(b)
    assert stored(engine) == (5, 1, 5, b.new_offset)


def test_a_failure_between_rows_and_checkpoint_stores_nothing(engine):
    fid = new_file(engine)

    def seam(name):
        if name == "after_insert_before_checkpoint":
            raise Boom(name)
    with pytest.raises(Boom):
        BatchCommitter(engine, seam, "n1")(batch_of(fid, [event_line(i) for i in range(5)]))
    assert stored(engine) == (0, 0, 0, 0)


def test_the_checkpoint_moves_only_from_where_it_stands(engine):
    fid = new_file(engine)
    commit = BatchCommitter(engine, lambda name: None, "n1")
    first = batch_of(fid, [event_line(1)])
    commit(first)
    replay = batch_of(fid, [event_line(1)])                   # from offset 0 again
    with pytest.raises((store.CheckpointMoved, sa.exc.IntegrityError)):
        commit(replay)
    assert stored(engine) == (1, 0, 1, first.new_offset)


def test_a_row_refused_late_in_a_statement_takes_the_whole_batch_back(engine):
    """SQLite inserts many rows per statement (INSERT OR FAIL, no statement journal): a
    duplicate key at a statement's last row leaves its earlier rows only until the batch's
    transaction is rolled back, which it always is."""
    fid = new_file(engine)
    commit = BatchCommitter(engine, lambda name: None, "n1")
    full = batch_of(fid, [event_line(i) for i in range(10)])
    end = full.new_offset
    commit(Batch(fid, 0, end, b"m", [full.events[-1]], [], 1))     # the last row is stored
    before = stored(engine)
    with pytest.raises((store.CheckpointMoved, sa.exc.IntegrityError)):
        commit(Batch(fid, end, end + 1, b"m", full.events, [], 10))  # 9 new rows, then it
    assert stored(engine) == before == (1, 0, 1, end)


def test_hostile_text_survives_the_bulk_path_byte_for_byte(engine):
    """On MariaDB the events go as LOAD DATA's tab-separated text: tabs, newlines,
    backslashes and NULs in a name or path must come back unchanged (and as data, not SQL)."""
    fid = new_file(engine)
    names = ["tab\there", "new\nline", "back\\slash", "nul\0byte", "cr\rret", "\\N", "'; DROP"]
    lines = [event_line(i, user=u) for i, u in enumerate(names)]
    BatchCommitter(engine, lambda name: None, "n1")(batch_of(fid, lines))
    with engine.connect() as conn:
        got = conn.execute(sa.text("SELECT username, file_path FROM events"
                                   " ORDER BY start_offset")).all()
    assert [r[0] for r in got] == names
    assert all(r[1].startswith(f"/srv/sftpgo/data/{u}/") for r, u in zip(got, names))


def test_events_tsv_escapes_what_load_data_would_split_on():
    row = (1, 0, 10, "2024-09-18 03:00:00.000", "2024-09-18", "upload", "a\tb\nc\\d\0e\rf",
           None, 0, "Upload", None, "SFTP", "/p", 7, None, "pass\tword", "bad\nEOF",
           "SSH-2.0-x\ty\\", 1, 0)
    assert loadfiles.events_tsv([row]) == (
        b"1\t0\t10\t2024-09-18 03:00:00.000\t2024-09-18\tupload\ta\\tb\\nc\\\\d\\0e\\rf\t"
        b"\\N\t0\tUpload\t\\N\tSFTP\t/p\t7\t\\N\tpass\\tword\tbad\\nEOF\t"
        b"SSH-2.0-x\\ty\\\\\t1\t0\n")
    assert loadfiles.events_tsv([row[:17] + (None, None, 0)]).endswith(b"\tbad\\nEOF\t\\N\t\\N\t0\n")


def test_the_commit_thread_commits_in_order_and_hands_back_the_first_failure():
    done = []

    def commit(job):
        if job == 3:
            raise Boom(job)
        done.append(job)
    thread = CommitThread(commit)
    results = [thread.submit(j) for j in range(6)]
    with pytest.raises(Boom):
        thread.close()
    assert done == [0, 1, 2]                   # nothing after the failure is committed
    assert results[:3] == [True] * 3 and results[-1] is False


def test_a_refused_batch_stops_its_file_with_the_reason_and_the_others_go_on(engine, log_dir):
    """A row already there at the batch's position (a replay, or a second writer) makes the
    database refuse the batch: that file waits with its reason in log_files.error, the pass
    finishes, and the next file is still read."""
    from tests.support.ingest import LogWriter, event_line, ingester
    w = LogWriter(log_dir)
    w.write(*[event_line(i) for i in range(200)])
    backup = w.rotate()
    w.write(*[event_line(i) for i in range(200, 300)])
    ing = ingester(engine, log_dir, batch_bytes=4096)
    ing.run_pass(max_bytes=4096)                        # the backup's first batch only
    fid, offset = scalar(engine, "SELECT id FROM log_files WHERE path = :p", p=str(backup)), \
        scalar(engine, "SELECT committed_offset FROM checkpoints c JOIN log_files f"
                       " ON f.id = c.file_id WHERE f.path = :p", p=str(backup))
    with engine.begin() as conn:                        # someone else's row where ours goes
        conn.execute(sa.text(
            "INSERT INTO events (file_id, start_offset, end_offset, ts, day, kind, username,"
            " failed, action) VALUES (:f, :o, :e, '2024-09-18 03:00:00.000', '2024-09-18',"
            " 'login', 'x', 0, 'login')"), {"f": fid, "o": offset, "e": offset + 1})
    p = ing.run_pass()
    assert not p.busy
    error = scalar(engine, "SELECT error FROM log_files WHERE id = :f", f=fid)
    assert error and "refused" in error
    live_events = scalar(engine, "SELECT COUNT(*) FROM events e JOIN log_files f"
                                 " ON f.id = e.file_id WHERE f.path = :p", p=str(w.live))
    assert live_events == 100                           # the next file was read


@pytest.mark.parametrize("bulk", [True, False], ids=["load-data", "insert"])
def test_mariadb_stores_the_rare_events_keys_beside_them_on_either_path(mariadb_url, bulk):
    """MariaDB: events_rare gets the key of each failed or non-transfer event of a batch (and
    of no other), in the batch's transaction, through LOAD DATA as through INSERT."""
    import db
    from tests.support.ingest import ban_line, failure_line, rare_mismatch
    engine = db.make_engine(mariadb_url)
    db.migrate(engine)
    fid = new_file(engine)
    lines = [event_line(0), event_line(1, error="EOF"), failure_line(2), ban_line(3),
             event_line(4, sender="Download"), event_line(5, sender="Download", error="x")]
    b = batch_of(fid, lines)
    commit = BatchCommitter(engine, lambda name: None, "n1")
    if not bulk:
        commit._bulk = False                   # as on a server refusing LOAD DATA LOCAL
    commit(b)
    assert commit._bulk is bulk                # the throwaway server takes LOAD DATA LOCAL
    assert rare_mismatch(engine) == []
    with engine.connect() as conn:
        got = conn.execute(sa.text("SELECT start_offset, failed_ts IS NOT NULL, rare_kind"
                                   " FROM events_rare ORDER BY start_offset")).all()
    starts = [e.start_offset for e in b.events]
    assert [tuple(r) for r in got] == [(starts[1], 1, None), (starts[2], 0, "login_failed"),
                                       (starts[3], 0, "ban"), (starts[5], 1, None)]
    engine.dispose()
