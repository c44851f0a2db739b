"""The first thing a worker process runs: tie its life to the main process before anything heavy loads.

A spawned worker spends its first second or so importing numpy and onnxruntime and loading the model (a
worker forked by the fork server has them already: ``tagger.worker_preload``). A main process killed outright
in that time would leave it running for good if the parent-death check were armed only afterwards (by then
its parent is gone, and the orphan would watch its new parent instead). So this module imports nothing of
the tagger until the check is armed, and the main process's id is handed to it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # prctl(2)
PARENT_CHECK_SECONDS = 0.5


def start(main: int, model_path: str, windows: int) -> None:
    """The pool's initializer: ignore Ctrl-C (the main process decides what to do with it, and stops the
    pool), end with the ``main`` process, then load the model once for every file this worker analyses."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(main)
    one_blas_thread()
    from tagger import workers

    workers.load(model_path, windows)


def one_blas_thread() -> None:
    """Before numpy is imported: its BLAS would start a thread per core (0.1 s of CPU at import, in every
    process) for matrix arithmetic the tagger never asks of it; a setting of the user's own is kept."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def exit_with_parent(main: int) -> None:
    """End this process as soon as its parent ends: at once by the kernel on Linux, and within half a second
    by a watching thread everywhere. The parent is the main process (``main``: a spawned worker) or the fork
    server (``tagger.worker_preload``: it ends with the main process); a main process that died before this
    ran, leaving the worker to a new parent, ends it here."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _let_the_fork_server_end_with_main()
    parent = os.getppid()
    if not _alive(main):
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent and _alive(main):
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def _let_the_fork_server_end_with_main() -> None:
    """The fork server ends when the pipe end the main process holds is closed, but multiprocessing hands every
    forked child a copy of that end too (for pools of its own, which a worker never starts): while a worker
    held it, the server, and so the worker's parent-death signal, would outlive a killed main process."""
    server = sys.modules.get("multiprocessing.forkserver")
    state = getattr(server, "_forkserver", None)
    descriptor = getattr(state, "_forkserver_alive_fd", None)
    if descriptor is not None:
        with contextlib.suppress(OSError):
            os.close(descriptor)
        state._forkserver_alive_fd = None  # type: ignore[union-attr]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's: not ours, but there
        return True
    return True
