"""`tagger batch` start to end: expand SOURCE, skip what an earlier run finished, stream the rest through a
pool of Ray actors (one onnxruntime session each), and write the rows in parts as they come back.

A worker process that dies (a decoder crashing on a hostile file) costs its batch (and a batch queued on the
same actor): Ray restarts the actor, the block is let go (``max_errored_blocks``), and the tracks that came
back from no batch are analysed again one by one, one at a time per actor, so only the file that really
kills its worker becomes an error row.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .analyser import TrackAnalyser
from .results import PartWriter, done_uris, error_row
from .sources import expand_source

if TYPE_CHECKING:
    from tagger.scan_options import ScanOptions

BATCH_SIZE = 8  # tracks an actor analyses per call: small, so a crash costs little and progress is smooth
PART_ROWS = 1000  # rows per Parquet part at most
PART_SECONDS = 60  # and a part at least this often, so a slow run that is killed loses little
CRASHED = "its worker process died while analysing it (a decoder crash?); file skipped"
Say = Callable[[str], None]


@dataclass
class BatchSummary:
    tracks: int = 0
    already_done: int = 0
    seconds: float = 0.0
    by_status: Counter = field(default_factory=Counter)

    def lines(self) -> list[str]:
        """The closing line; none when an earlier run had done every track (the run said so as it began)."""
        if not self.tracks and self.already_done:
            return []
        rate = self.tracks / self.seconds if self.seconds else 0.0
        statuses = ", ".join(f"{status} {count}" for status, count in sorted(self.by_status.items())) or "none"
        return [f"analysed {self.tracks} tracks in {self.seconds:.1f} s ({rate:.1f} tracks/s): {statuses}"
                + (f"; {self.already_done} done by an earlier run were skipped" if self.already_done else "")]


def _start_ray(address: str | None, say: Say) -> None:
    import ray

    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    else:
        ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING)
    say(f"ray: {int(ray.cluster_resources().get('CPU', 0))} CPUs" + (f" at {address}" if address else " (local)"))


def _rows(items: list[dict], model_bytes: bytes, options: ScanOptions, actors: int, batch_size: int,
          isolated: bool = False):
    """The result rows of ``items`` ({uri, size}) as they come back, batch by batch (pyarrow tables).
    ``isolated``: one task in flight per actor, so an actor that dies takes only its own track with it (an
    actor that dies otherwise also fails the next batch queued on it, whose tracks are then lost too)."""
    import ray

    context = ray.data.DataContext.get_current()
    if not sys.stderr.isatty():  # Ray Data's bars on a terminal; in a log, our summary alone
        logging.getLogger("ray.data").setLevel(logging.ERROR)
    context.max_errored_blocks = -1  # a block whose actor died is let go: its tracks are tried again alone
    blocks = max(1, -(-len(items) // batch_size))
    with warnings.catch_warnings():  # max_task_retries has no named parameter yet (the extra caps Ray < 2.64)
        warnings.simplefilter("ignore", DeprecationWarning)
        # Ray retries a task whose actor died for ever by default: a file that kills every decoder would
        # stop the run. One retry (a new actor), then the block is let go and its tracks go one by one.
        dataset = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
            TrackAnalyser, fn_constructor_kwargs={"model_bytes": model_bytes, "options": options},
            batch_size=batch_size, num_cpus=1, max_task_retries=1,
            compute=ray.data.ActorPoolStrategy(size=min(actors, blocks),
                                               max_tasks_in_flight_per_actor=1 if isolated else None))
    yield from dataset.iter_batches(batch_size=None, batch_format="pyarrow")


def run_batch(source: str, out: Path, model_path: Path, options: ScanOptions, exclude: tuple[str, ...],
              address: str | None, actors: int | None, say: Say) -> BatchSummary:
    import ray

    from tagger.model import GenreModel

    model = GenreModel(model_path)
    found = expand_source(source, exclude)
    scores_key = model.info.scores_key(model.info.windows_per_track(options.windows))
    done = done_uris(out, model.info.model_id, scores_key)
    todo = [{"uri": uri, "size": -1 if size is None else size} for uri, size in found if uri not in done]
    summary = BatchSummary(already_done=len(found) - len(todo))
    if not todo:
        say(f"all {len(found)} tracks of {source} are in {out} already")
        return summary
    writer = PartWriter(out, model.info.labels, scores_key)
    _start_ray(address, say)
    started = time.monotonic()
    pending: list[dict] = []
    written: set[str] = set()
    last_part = time.monotonic()

    def keep(rows: list[dict]) -> None:
        nonlocal last_part
        pending.extend(rows)
        written.update(row["uri"] for row in rows)
        if len(pending) >= PART_ROWS or time.monotonic() - last_part >= PART_SECONDS:
            flush()
            last_part = time.monotonic()

    def flush() -> None:
        if pending:
            writer.write(pending)
            summary.by_status.update(row["status"] for row in pending)
            summary.tracks += len(pending)
            pending.clear()

    try:
        count = actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
        model_bytes = model_path.read_bytes()
        for table in _rows(todo, model_bytes, options, count, BATCH_SIZE):
            keep(table.to_pylist())
        lost = [item for item in todo if item["uri"] not in written]
        if lost:  # their batch's worker died: each alone now, so the file that kills it is found
            for table in _rows(lost, model_bytes, options, count, 1, isolated=True):
                keep(table.to_pylist())
            sizes = dict(found)
            keep([error_row(uri, sizes[uri], model.info.model_id, model.info.labels, CRASHED)
                  for uri in (str(item["uri"]) for item in lost) if uri not in written])
    finally:  # Ctrl-C too: what came back is kept
        flush()
        summary.seconds = time.monotonic() - started
        ray.shutdown()
    return summary
