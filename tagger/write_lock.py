"""The lock that serialises tag writes between tagger processes sharing one state directory.

Two runs over one library (or a scan beside an undo) must never journal a stale "before" or interleave
on one file. A run that finds the lock held says so once and waits, and gives up after a while with one
line instead of hanging in silence behind a run that someone left open.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# How long a run waits for another one's write lock: $TAGGER_LOCK_WAIT seconds, else ten minutes.
DEFAULT_WAIT_SECONDS = 600.0
POLL_SECONDS = 0.1


class LockTimeoutError(Exception):
    """Another run held the write lock for longer than this run would wait."""


def wait_seconds() -> float:
    return float(os.environ.get("TAGGER_LOCK_WAIT") or DEFAULT_WAIT_SECONDS)


class WriteLock:
    """An exclusive ``flock`` on ``path``; ``on_wait`` hears, once per lock, that another run holds it."""

    def __init__(self, path: Path, on_wait: Callable[[str], None]) -> None:
        self.path = path
        self.on_wait = on_wait
        self._told = False

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with open(self.path, "a") as handle:
            self._acquire(handle.fileno())
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _acquire(self, descriptor: int) -> None:
        deadline: float | None = None
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:  # noqa: PERF203 -- polling is the point
                limit = wait_seconds()
                if deadline is None:
                    deadline = time.monotonic() + limit
                    if not self._told:
                        self._told = True
                        self.on_wait(f"another tagger run is writing tags with this state directory; waiting for it "
                                     f"(at most {limit:g} s, $TAGGER_LOCK_WAIT)")
                elif time.monotonic() > deadline:
                    raise LockTimeoutError(f"another tagger run held the write lock ({self.path}) for over "
                                           f"{limit:g} s; gave up before writing the next file") from None
                time.sleep(POLL_SECONDS)
