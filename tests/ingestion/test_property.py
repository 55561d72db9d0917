"""A stateful property test: random writes, partial lines, bursts, rotations, gzip (some as
several members), archives joining backups, partial copies of the live file, pruning,
truncation and crashes of the ingester; after a final pass the events equal the model's lines.
"""
from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import db
from ingestion.run import SEAMS
from tests.support.ingest import (LogWriter, db_events, event_line, expected_events, gzip_file,
                                  ingester, noise_line, scalar)


def total_lost(engine) -> int:
    return scalar(engine, "SELECT COALESCE(SUM(bytes_lost), 0) FROM log_files")


class Killed(BaseException):
    """Stands for SIGKILL inside one process: the open transaction is never committed."""


class IngestionMachine(RuleBasedStateMachine):
    url = None     # set by the test function

    @initialize()
    def setup(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.log_dir = self.tmp / "logs"
        self.writer = LogWriter(self.log_dir)
        self.writer.live.touch()
        self.engine = db.make_engine(self.url)
        db.migrate(self.engine)
        with self.engine.begin() as conn:
            for t in ("events", "malformed_lines", "daily_stats", "checkpoints", "log_files"):
                conn.exec_driver_sql(f"DELETE FROM {t}")
        self.ing = ingester(self.engine, self.log_dir, batch_bytes=700)
        self.seq = 0
        self.pending = b""          # a written fragment waiting for the rest of its line
        self.lost: Counter = Counter()
        self.backups: list[Path] = []
        self.synced = True

    def teardown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _line(self, burst: bool = False) -> bytes:
        self.seq += 1
        if burst:
            return event_line(self.seq, ms=3)
        return event_line(self.seq, user=f"u{self.seq % 3}") if self.seq % 4 else noise_line(self.seq)

    def _finish_partial(self):
        if self.pending:
            line = self.pending
            self.pending = b""
            self.writer.write_raw(line[self._cut:])
            self.writer.written.append(line)

    @rule(n=st.integers(1, 20))
    def write_lines(self, n):
        self._finish_partial()
        self.writer.write(*[self._line() for _ in range(n)])
        self.synced = False

    @rule(n=st.integers(2, 30))
    def write_identical_burst(self, n):
        self._finish_partial()
        self.writer.write(*[self._line(burst=True)] * n)
        self.synced = False

    @rule(cut=st.integers(1, 60))
    def write_partial(self, cut):
        self._finish_partial()
        self.pending = self._line()
        self._cut = cut
        self.writer.write_raw(self.pending[:cut])
        self.synced = False

    @rule()
    def rotate(self):
        self._finish_partial()       # lumberjack rotates between whole lines
        if os.path.getsize(self.writer.live):
            self.backups.append(self.writer.rotate())

    @precondition(lambda self: any(p.suffix == ".log" for p in self.backups))
    @rule(data=st.data(), members=st.integers(1, 3))
    def compress_backup(self, data, members):
        plain = [p for p in self.backups if p.suffix == ".log"]
        p = data.draw(st.sampled_from(plain))
        if members == 1:
            self.backups[self.backups.index(p)] = gzip_file(p)
            return
        content = p.read_bytes()               # as `cat a.gz b.gz`, or bgzip, would write it
        step = max(len(content) // members, 1)
        gz = Path(str(p) + ".gz")
        gz.write_bytes(b"".join(gzip.compress(content[i:i + step])
                                for i in range(0, len(content), step)))
        os.remove(p)
        self.backups[self.backups.index(p)] = gz

    @precondition(lambda self: self.synced and len(self.backups) >= 2)
    @rule(data=st.data())
    def join_backups(self, data):
        """An archive joining consecutive backups (`cat a.gz b.gz > ab.gz`); the parts go."""
        i = data.draw(st.integers(0, len(self.backups) - 2))
        j = data.draw(st.integers(i + 2, len(self.backups)))
        parts = [p if p.suffix == ".gz" else gzip_file(p) for p in self.backups[i:j]]
        self.joined = getattr(self, "joined", 0) + 1
        out = self.log_dir / f"sftpgo-joined-{self.joined}.log.gz"
        out.write_bytes(b"".join(p.read_bytes() for p in parts))
        for p in parts:
            os.remove(p)
        self.backups[i:j] = [out]

    @precondition(lambda self: os.path.exists(self.writer.live))
    @rule(cut=st.integers(1, 10_000))
    def partial_copy(self, cut):
        """A copy of the start of the live file left in a subfolder (a backup script's)."""
        data = self.writer.live.read_bytes()[:cut]
        if data:
            self.copies = getattr(self, "copies", 0) + 1
            (self.log_dir / "copies").mkdir(exist_ok=True)
            (self.log_dir / "copies" / f"sftpgo-copy-{self.copies}.log").write_bytes(data)

    @precondition(lambda self: self.synced and self.backups)
    @rule()
    def prune_backup(self):
        os.remove(self.backups.pop(0))   # already read: its rows must stay, nothing re-read

    @precondition(lambda self: self.synced and not self.pending)
    @rule()
    def truncate_live(self):
        with open(self.writer.live, "r+b") as f:
            f.truncate(0)

    @rule(seam=st.sampled_from(SEAMS), gz=st.booleans(), n=st.integers(1, 20))
    def rotate_during_pass(self, seam, gz, n):
        """A pass during which the writer rotates (and the mill gzips) at one of its seams."""
        self._finish_partial()       # lumberjack rotates between whole lines
        self.writer.write(*[self._line() for _ in range(n)])
        fired = []

        def rotate_now(name):
            if name == seam and not fired:
                fired.append(name)
                backup = self.writer.rotate()
                self.writer.write(*[self._line() for _ in range(n)])
                self.backups.append(gzip_file(backup) if gz else backup)
        ingester(self.engine, self.log_dir, seam=rotate_now, batch_bytes=700).run_pass()
        self.synced = False

    @rule()
    def tick(self):
        p = self.ing.run_pass()
        assert not p.busy
        self.synced = not self.pending and p.bytes_pending == 0

    @rule(max_bytes=st.integers(0, 3000))
    def small_tick(self, max_bytes):
        self.ing.run_pass(max_bytes=max_bytes)
        self.synced = False

    @rule(point=st.sampled_from(["after_read", "after_insert_before_checkpoint",
                                 "after_checkpoint_before_commit", "after_commit"]),
          after=st.integers(0, 3))
    def crash_and_restart(self, point, after):
        calls = {"n": 0}

        def crash(name):
            if name == point:
                calls["n"] += 1
                if calls["n"] > after:
                    raise Killed(name)
        try:
            ingester(self.engine, self.log_dir, seam=crash, batch_bytes=700).run_pass()
        except Killed:
            pass
        self.engine.dispose()            # the dead process's connections are gone
        self.ing = ingester(self.engine, self.log_dir, batch_bytes=700)
        self.synced = False

    @invariant()
    def reported_lost_is_model_lost(self):
        if hasattr(self, "writer"):     # every rule keeps its files until they are read
            assert total_lost(self.engine) == sum(self.lost.values())

    @invariant()
    def never_more_rows_than_lines(self):
        if hasattr(self, "writer"):
            got, want = db_events(self.engine), expected_events(self.writer.written)
            assert not (got - want), "a row that no written line accounts for"

    def final_check(self):
        self._finish_partial()
        ingester(self.engine, self.log_dir).run_until_done()
        assert db_events(self.engine) == expected_events(self.writer.written)
        assert total_lost(self.engine) == sum(self.lost.values())


def _run(url):
    IngestionMachine.url = url

    class Checked(IngestionMachine):
        def teardown(self):
            try:
                if hasattr(self, "writer"):
                    self.final_check()
            finally:
                super().teardown()

    Checked.TestCase.settings = settings(max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "25")),
                                         stateful_step_count=30, deadline=None,
                                         suppress_health_check=list(HealthCheck))
    Checked.TestCase().runTest()


def test_stateful_ingestion_matches_the_model(db_url):
    _run(db_url)
