"""A live SFTPGo log for ``python app.py --demo``: no SFTPGo server needed.

``start_demo()`` fills a folder with about 30 days of history ending now (a few MB,
rotated and gzipped like lumberjack with ``log_compress``), then a daemon thread keeps
appending lines stamped with the current local time, rotating ``sftpgo.log`` every
``rotate_bytes`` and gzipping the backups in the background.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from simulate import LineFactory, LumberjackWriter
from simulate.common import _HD, _js

HAMMER_EVERY_S = 900         # a password spray the defender does not stop, this often (live)
HAMMER_LINES = 30

HISTORY_DAYS = 30
HISTORY_LINES_PER_DAY = 500  # ~15k lines, ~4 MB


@dataclass
class DemoHandle:
    log_dir: str
    factory: LineFactory
    writer: LumberjackWriter
    thread: threading.Thread | None = None
    history_lines: int = 0
    temporary: bool = False          # start_demo made log_dir: remove() deletes it
    _stop: threading.Event = field(default_factory=threading.Event)
    _count: list = field(default_factory=lambda: [0])

    @property
    def lines_written(self) -> int:
        """Live lines written so far (history excluded)."""
        return self._count[0]

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Stops the writer thread and closes the log (idempotent)."""
        self._stop.set()
        if self.thread is not None:
            self.thread.join(timeout)
        self.writer.close()

    def remove(self) -> None:
        """Stops, then deletes log_dir if start_demo made it (a temporary folder)."""
        self.stop()
        if self.temporary:
            shutil.rmtree(self.log_dir, ignore_errors=True)


def _has_logs(log_dir: str, name: str) -> bool:
    try:
        return any(n.startswith(name) and ".log" in n for n in os.listdir(log_dir))
    except FileNotFoundError:
        return False


def start_demo(log_dir: str | None = None, lines_per_second: float = 5, rotate_bytes: int = 256 * 1024,
               seed: int | None = None, *, history_days: float = HISTORY_DAYS,
               history_lines_per_day: float = HISTORY_LINES_PER_DAY, hostile: bool = False,
               name: str = "sftpgo") -> DemoHandle:
    """Starts a fake SFTPGo writing to ``log_dir`` (a new temp folder if None).

    The history is written only if the folder holds no ``<name>*.log*`` yet.
    """
    if lines_per_second <= 0:
        raise ValueError("lines_per_second must be > 0")
    temporary = log_dir is None
    if log_dir is None:
        log_dir = tempfile.mkdtemp(prefix="sftpgo-demo-")
    os.makedirs(log_dir, exist_ok=True)
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "big")
    now = datetime.now()
    prefill = history_days > 0 and not _has_logs(log_dir, name)
    start = now - timedelta(days=history_days) if prefill else now
    fac = LineFactory(seed, start=start, lines_per_day=history_lines_per_day if prefill else lines_per_second * 86400,
                      hostile=hostile)
    # History: each backup is named after the time of its last line, and gzipped at once.
    last = [fac.now_ms]
    writer = LumberjackWriter(log_dir, max_bytes=rotate_bytes, compress=True, max_backups=0, name=name,
                              clock=lambda: datetime(1970, 1, 1) + timedelta(milliseconds=last[0]))
    handle = DemoHandle(log_dir=log_dir, factory=fac, writer=writer, temporary=temporary)
    if prefill:
        end_ms = _ms(now)
        plan_hammer(fac, end_ms - 6 * 60_000)      # the alerts page has a brute force at once
        n = 0
        while fac.peek_ms() <= end_ms:
            writer.write(fac.line())
            last[0] = fac.now_ms
            n += 1
        handle.history_lines = n
    # Live: current wall-clock rotation names, background gzip, steady rate.
    writer.clock = datetime.now
    writer.compress_async = True
    fac.set_rate(lines_per_second * 86400, diurnal=False)

    def run() -> None:
        stop = handle._stop
        next_hammer = _ms(datetime.now()) + HAMMER_EVERY_S * 1000
        while not stop.is_set():
            now_ms = _ms(datetime.now())
            if now_ms >= next_hammer:
                plan_hammer(fac, max(now_ms, fac.peek_ms()))
                next_hammer = now_ms + HAMMER_EVERY_S * 1000
            nxt = fac.peek_ms()
            if nxt > now_ms:
                stop.wait(min((nxt - now_ms) / 1000.0, 0.5))
                continue
            if nxt < now_ms - 5000:  # the machine slept: skip ahead instead of a burst
                fac.shift_to(datetime.now())
            try:
                writer.write(fac.line())
            except (OSError, ValueError):
                if stop.wait(1.0):
                    break
                continue
            handle._count[0] += 1

    t = threading.Thread(target=run, name="sftpgo-demo-writer", daemon=True)
    handle.thread = t
    t.start()
    return handle


def plan_hammer(fac: LineFactory, t: int, lines: int = HAMMER_LINES) -> None:
    """Schedules a password spray: ``lines`` failed logins from one address over about two
    minutes, on the web client, where this server's defender does not count (so no ban cuts
    it short): what the default brute-force alert rule (20 in 10 min) is for."""
    rng = fac._rng
    ip = f"198.18.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    for i in range(lines):
        name = rng.choice(("admin", "root", "backup", "test", "sftp", "oracle"))
        fac._push(t + i * 4000 + rng.randrange(1000), _HD,
                  f'","sender":"connection_failed","client_ip":"{ip}","username":{_js(name)},'
                  f'"login_type":"password","protocol":"HTTP","error":"invalid credentials"}}\n')


def _ms(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1)) // timedelta(milliseconds=1)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Write a live fake SFTPGo log until Ctrl-C.")
    ap.add_argument("log_dir", nargs="?")
    ap.add_argument("--rate", type=float, default=5.0, help="lines per second")
    ap.add_argument("--rotate-kb", type=int, default=256)
    ap.add_argument("--seed", type=int)
    a = ap.parse_args()
    t0 = time.perf_counter()
    h = start_demo(a.log_dir, a.rate, a.rotate_kb * 1024, a.seed)
    print(f"writing to {h.log_dir} ({h.history_lines} history lines in {time.perf_counter() - t0:.2f}s); Ctrl-C to stop")
    try:
        while True:
            time.sleep(5)
            print(f"{h.lines_written} live lines")
    except KeyboardInterrupt:
        h.remove()          # a folder of its own (none given) goes with it
