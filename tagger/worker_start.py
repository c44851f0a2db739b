"""The first thing a worker process runs: tie its life to the main process before anything heavy loads.

A worker spends its first second or so importing numpy and onnxruntime and loading the model. A main process
killed outright in that second would leave it running for good if the parent-death check were armed only
afterwards (by then its parent is gone, and the orphan would watch its new parent instead). So this module
imports nothing of the tagger until the check is armed, and the main process's id is handed to it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
import time

PR_SET_PDEATHSIG = 1  # prctl(2)
PARENT_CHECK_SECONDS = 0.5


def start(parent: int, model_path: str, windows: int) -> None:
    """The pool's initializer: ignore Ctrl-C (the main process decides what to do with it, and stops the
    pool), end with ``parent``, then load the model once for every file this worker analyses."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(parent)
    one_blas_thread()
    from tagger import workers

    workers.load(model_path, windows)


def one_blas_thread() -> None:
    """Before numpy is imported: its BLAS would start a thread per core (0.1 s of CPU at import, in every
    process) for matrix arithmetic the tagger never asks of it; a setting of the user's own is kept."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def exit_with_parent(parent: int) -> None:
    """End this process as soon as ``parent`` is no longer its parent: at once by the kernel on Linux, and
    within half a second by a watching thread everywhere, including a parent that died before this ran."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()
