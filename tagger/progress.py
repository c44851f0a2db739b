"""What a scan shows a person while it runs: a progress bar on a terminal, per-file lines in path order."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, Protocol, TypeVar

import click

FALLBACK_SIZE = (80, 24)  # columns and lines for the bar on a terminal that reports no size


class Progress:
    """tqdm's bar on standard error (count, percentage, rate, ETA) when it is a terminal; nothing otherwise
    or when ``enabled`` is False (``--quiet``), so logs and pipes get plain lines only."""

    def __init__(self, total: int, enabled: bool, unit: str = "file", description: str | None = None) -> None:
        self.bar = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            size = os.get_terminal_size(sys.stderr.fileno())
            sized = size.columns > 0 and size.lines > 0  # a serial console may report no size: tqdm would hide
            self.bar = tqdm(total=total, unit=unit, desc=description, file=sys.stderr, dynamic_ncols=sized,
                            smoothing=0.05, ncols=None if sized else FALLBACK_SIZE[0],
                            nrows=None if sized else FALLBACK_SIZE[1], leave=False)

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.update()

    def say(self, message: str, err: bool = False) -> None:
        """Print a line above the bar (the bar is cleared and drawn again below it)."""
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr if err else sys.stdout)
        else:
            click.echo(message, err=err)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


Each = TypeVar("Each")


def tracked(items: Iterable[Each], total: int, description: str, unit: str) -> Iterator[Each]:
    """``items`` one by one, with a bar on a terminal while they are worked through: long loops that
    would otherwise be silent for minutes (the trainer's batches, its feature cache filling)."""
    progress = Progress(total, enabled=True, unit=unit, description=description)
    try:
        for item in items:
            yield item
            progress.advance()
    finally:
        progress.close()


class HasPath(Protocol):
    path: str


Item = TypeVar("Item", bound=HasPath)


class InPathOrder(Generic[Item]):
    """Hands results on in the order their paths were found, whatever order parallel workers and the cache
    settle them in: a result waits until every path before it has one. ``flush`` hands on the rest (a scan
    that stopped early), still in path order."""

    def __init__(self, paths: Iterable[str], emit: Callable[[Item], None]) -> None:
        self.position: dict[str, int] = {}
        for path in paths:
            self.position.setdefault(path, len(self.position))
        self.emit = emit
        self.waiting: dict[int, Item] = {}
        self.next = 0

    def add(self, item: Item) -> None:
        index = self.position.get(item.path)
        if index is None:  # not among the paths found: nothing to wait for
            self.emit(item)
            return
        self.waiting[index] = item
        while self.next in self.waiting:
            self.emit(self.waiting.pop(self.next))
            self.next += 1

    def flush(self) -> None:
        for index in sorted(self.waiting):
            self.emit(self.waiting[index])
        self.waiting.clear()
