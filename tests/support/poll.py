"""The tests' one polling helper."""
from __future__ import annotations

import time


def until(condition, timeout: float, msg=None, interval: float = 0.1):
    """Waits for ``condition()`` to be true for at most ``timeout`` seconds, then fails with
    ``msg`` (text, or a function called then to describe what was seen)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError((msg() if callable(msg) else msg) or "condition not met in time")
        time.sleep(interval)
