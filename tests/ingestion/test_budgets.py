"""Budgets hold: a corrupt or huge gzip neither eats a core under --follow nor stretches a pass.

A truncated gzip is checked once per version of the file and then left alone until it
changes; a large one is checked in slices, so a pass with a time budget ends on time while
the check goes on in the next pass.
"""
from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time

from ingestion import reader
from tests.support.ingest import LogWriter, ROOT, event_line, ingester

def big_gzip(path, mb: int, cut: bool) -> int:
    """Writes about ``mb`` MB of transfer lines as a gzip (cut short when ``cut``); returns
    its compressed size."""
    block = b"".join(event_line(i) for i in range(3000))        # ~1 MB, beyond gzip's window
    with gzip.open(path, "wb", compresslevel=1) as f:
        for _ in range(mb):
            f.write(block)
    if cut:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) * 9 // 10])
    return os.path.getsize(path)


def cpu_seconds(pid: int) -> float:
    """Returns the user + system CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_truncated_gzip_costs_follow_less_than_5_percent_of_a_core(sqlite_url, log_dir):
    LogWriter(log_dir).write(*[event_line(i) for i in range(10)])
    gz = log_dir / "sftpgo-2024-02-02T00-00-00.000.log.gz"
    big_gzip(gz, 600, cut=True)
    started = time.monotonic()
    with gzip.open(gz) as f:                     # what one full check of it costs
        try:
            while f.read(1 << 22):
                pass
        except EOFError:
            pass
    one_check = time.monotonic() - started
    proc = subprocess.Popen([sys.executable, "ingest.py", "--log-dir", str(log_dir), "--db",
                             sqlite_url, "--follow", "--quiet"], cwd=ROOT,
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(2 + 2 * one_check)            # start-up and the one check of the gzip
        before, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(6)
        used = (cpu_seconds(proc.pid) - before) / (time.monotonic() - t0)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    # Checked again at each idle pass (at least one a second), it would cost one_check a second.
    assert one_check / (1 + one_check) > 0.08, "the gzip is too small to show anything"
    assert used < 0.05, f"--follow used {used:.1%} of a core beside a truncated gzip"


def test_a_pass_with_a_time_budget_checks_a_big_gzip_in_slices(engine, log_dir):
    gz = log_dir / "sftpgo-2024-02-02T00-00-00.000.log.gz"
    big_gzip(gz, 300, cut=False)
    f = reader.OpenFile(str(gz), True)
    started = time.monotonic()
    assert reader.ArchiveCheck(f).step(None)
    whole = time.monotonic() - started
    f.close()
    ing = ingester(engine, log_dir)
    passes = 0
    while True:                                  # until the check is done and reading starts
        p = ing.run_pass(max_seconds=whole / 20)
        passes += 1
        if p.deferred == 0:
            break
        assert not p.complete and passes < 200   # the check goes on in the next pass
    # Each pass stopped at its deadline and the next went on from there: many slices, not one
    # pass that ran the whole check past its budget.
    assert passes >= 5, f"the check took only {passes} passes"
