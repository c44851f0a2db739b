"""Analysis in worker processes that survives a worker crashing: the only way the tagger decodes audio.

A decoder that segfaults on a malicious file would break a plain process pool and hang or end the whole
scan. Here at most ``2 × jobs`` files are in flight; when the pool breaks, each of them is analysed again
alone in a fresh process, so the file that really crashes it is reported as an error and the run goes on.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from tagger import worker_start
from tagger.analysis import Analysis, analyze, embed
from tagger.model import GenreModel, ModelError

PRELOAD = "tagger.worker_preload"
CRASHED = "the decoder crashed on this file (its worker process died); file skipped"
Task = Callable[[str], Analysis]


@dataclass
class _WorkerState:
    """What ``load`` holds once per worker process, for every file that process analyses."""

    model: GenreModel
    windows: int


_worker: _WorkerState | ModelError | None = None


def load(model_path: str, windows: int) -> None:
    """Load the model once per worker (``tagger.worker_start`` calls it, once the worker is tied to the
    main process). A model that does not load is kept as its error, raised by each task, as is one whose
    first prediction breaks the contract: the main process (which holds no session of its own) stops the scan
    with it, where a failed initializer would look like a decoder crash on every file."""
    global _worker  # noqa: PLW0603 -- per-process state is what a pool initializer is for
    try:
        _worker = _WorkerState(GenreModel(Path(model_path), threads=1, session=False), windows)
    except ModelError as error:
        _worker = error


def _loaded() -> _WorkerState:
    if _worker is None:
        raise RuntimeError("worker used before load ran")
    if isinstance(_worker, ModelError):
        raise _worker
    return _worker


def _analyze_in_worker(path: str) -> Analysis:
    return analyze(path, _loaded().model, _loaded().windows)


def embed_in_worker(path: str) -> Analysis:
    """The ``task`` of ``analyze_in_processes`` that gives each window's embedding instead (`tagger learn`)."""
    return embed(path, _loaded().model, _loaded().windows)


def _executor(jobs: int, model_path: str, windows: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(jobs, mp_context=_start_method(), initializer=worker_start.start,
                               initargs=(os.getpid(), model_path, windows))


def _start_method() -> multiprocessing.context.BaseContext:
    """Workers forked by a fork server that has imported what they need once (``tagger.worker_preload``),
    where there is one (POSIX); spawned, each importing it, elsewhere. Never plain fork: the main process may
    hold threads (the progress bar, onnxruntime's) and locks a forked child would inherit mid-use."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([PRELOAD])  # heeded when the server starts: at the first pool
    return context


def _alone(path: str, model_path: str, windows: int, task: Task) -> Analysis:
    with _executor(1, model_path, windows) as executor:
        try:
            return executor.submit(task, path).result()
        except BrokenProcessPool:
            return Analysis(path, error=CRASHED)


def analyze_in_processes(
    paths: list[str], jobs: int, model_path: str, windows: int, task: Task = _analyze_in_worker
) -> Iterator[Analysis]:
    """Analyses of ``paths`` in completion order, one per path, whatever happens to the workers.

    ``task(path)`` runs in a worker after ``load`` has loaded the model there. Even one file with one
    job is decoded in a worker: a decoder that crashes on it costs that file, never the process that asked.
    """
    jobs = max(1, min(jobs, len(paths)))
    queue = deque(paths)
    while queue:
        suspects: list[str] = []
        executor = _executor(jobs, model_path, windows)
        in_flight: dict[Future[Analysis], str] = {}
        try:
            while queue or in_flight:
                while queue and len(in_flight) < 2 * jobs:
                    path = queue.popleft()
                    in_flight[executor.submit(task, path)] = path
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    result = future.result()  # raises BrokenProcessPool if a worker died
                    del in_flight[future]
                    yield result
        except BrokenProcessPool:
            suspects = list(in_flight.values())
        except BaseException:  # Ctrl-C, or the consumer stopped: do not wait for files in flight
            _stop_now(executor)
            raise
        executor.shutdown(wait=True)
        for suspect in suspects:
            yield _alone(suspect, model_path, windows, task)


def _stop_now(executor: ProcessPoolExecutor) -> None:
    """Stop a pool without waiting for the files it is decoding (one may hang on a hostile file)."""
    terminate_workers = getattr(executor, "terminate_workers", None)  # public from Python 3.14
    if terminate_workers is not None:
        with contextlib.suppress(OSError, ValueError):
            terminate_workers()
    else:
        workers = getattr(executor, "_processes", None) or {}  # where CPython before 3.14 keeps them
        for process in list(workers.values()):
            with contextlib.suppress(OSError, ValueError):
                process.terminate()
    executor.shutdown(wait=False, cancel_futures=True)
