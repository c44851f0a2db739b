"""A worker process that dies on one file costs that file only, not the scan."""

import os
from pathlib import Path

import pytest

from tagger.analysis import Analysis
from tagger.workers import CRASHED, analyze_in_processes


def crash_on_marked_files(path: str) -> Analysis:
    """Stands in for a decoder that segfaults on a hostile file."""
    if "crash" in path:
        os._exit(1)
    return Analysis(path, scores=[1.0])


def test_the_crashing_file_is_an_error_and_every_other_file_is_analysed(tiny_model):
    paths = [f"song{i}.mp3" for i in range(10)]
    paths[3] = "crash-me.mp3"
    results = list(analyze_in_processes(paths, 2, str(tiny_model), 1, task=crash_on_marked_files))
    assert sorted(r.path for r in results) == sorted(paths)
    by_path = {r.path: r for r in results}
    assert by_path["crash-me.mp3"].error == CRASHED
    assert all(by_path[p].scores == [1.0] for p in paths if p != "crash-me.mp3")


def record_pid_and_hang(path: str) -> Analysis:
    """Stands in for a decoder stuck on a file: it says which process it is, then never returns."""
    import time
    from pathlib import Path

    Path(path).write_text(str(os.getpid()))
    time.sleep(3600)
    return Analysis(path, scores=[1.0])


POOL_THEN_HANG = """
import sys
from tests.test_workers import record_pid_and_hang
from tagger.workers import analyze_in_processes
folder, model = sys.argv[1], sys.argv[2]
for _ in analyze_in_processes([f"{folder}/{i}.pid" for i in range(2)], 2, model, 1, task=record_pid_and_hang):
    pass
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").is_file() or Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_workers_exit_when_the_main_process_is_killed(tiny_model, tmp_path):
    """SIGKILL leaves the main process no chance to stop its pool: the workers must notice by themselves."""
    import signal
    import subprocess
    import sys
    import time

    main = subprocess.Popen([sys.executable, "-c", POOL_THEN_HANG, str(tmp_path), str(tiny_model)],
                            cwd=Path(__file__).parent.parent)
    pid_files = [tmp_path / f"{i}.pid" for i in range(2)]
    deadline = time.monotonic() + 120
    while not all(path.is_file() and path.read_text() for path in pid_files):
        assert time.monotonic() < deadline and main.poll() is None, "the workers never started"
        time.sleep(0.05)
    workers = [int(path.read_text()) for path in pid_files]
    main.send_signal(signal.SIGKILL)
    main.wait()
    deadline = time.monotonic() + 60  # they exit within a second; the margin is for a loaded machine
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)


INTERRUPTED_POOL = """
import os, signal, sys, threading, time
from pathlib import Path
from tests.test_workers import record_pid_and_hang
from tagger.workers import analyze_in_processes
folder, model = sys.argv[1], sys.argv[2]
signal.signal(signal.SIGINT, signal.default_int_handler)
pid_files = [Path(folder) / f"{i}.pid" for i in range(2)]
def interrupt_once_both_are_stuck():
    while not all(path.is_file() and path.read_text() for path in pid_files):
        time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=interrupt_once_both_are_stuck, daemon=True).start()
try:
    list(analyze_in_processes([str(path) for path in pid_files], 2, model, 1, task=record_pid_and_hang))
except KeyboardInterrupt:
    sys.exit(130)
"""


def test_ctrl_c_stops_workers_stuck_on_a_file_at_once(tiny_model, tmp_path):
    """Ctrl-C in the main process ends the analysis at once, not after the files in flight (which here would
    take an hour), and leaves no worker behind."""
    import subprocess
    import sys
    import time

    finished = subprocess.run([sys.executable, "-c", INTERRUPTED_POOL, str(tmp_path), str(tiny_model)],
                              cwd=Path(__file__).parent.parent, capture_output=True, text=True, timeout=300,
                              check=False)
    assert finished.returncode == 130, finished.stderr
    workers = [int((tmp_path / f"{i}.pid").read_text()) for i in range(2)]
    deadline = time.monotonic() + 60
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)


SEGFAULTING_DECODER = """
import os, signal
import tagger.audio

_read_windows = tagger.audio.read_windows


def read_windows(path, *arguments, **options):
    if "crash" in str(path):
        os.kill(os.getpid(), signal.SIGSEGV)  # what a decoder bug does to the process that runs it
    return _read_windows(path, *arguments, **options)


tagger.audio.read_windows = read_windows
"""


def test_a_decoder_that_segfaults_costs_one_file_even_with_one_job_and_one_file(make_audio, tiny_model, tmp_path):
    """Decoding is isolated in a worker however small the scan: the tagger itself never dies of a file."""
    import subprocess
    import sys

    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SEGFAULTING_DECODER)  # imported by every process, workers too
    crash = make_audio("lib/crash.mp3")
    fine = make_audio("lib/fine.mp3")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hooks), os.environ.get("PYTHONPATH", "")])}
    common = ["--model", str(tiny_model), "--state-dir", str(tmp_path / "state"), "--min-confidence", "0",
              "--jobs", "1"]
    for paths in ([crash], [crash, fine]):
        result = subprocess.run([sys.executable, "-m", "tagger", "scan", *map(str, paths), *common],
                                capture_output=True, text=True, env=environment, timeout=120, check=False)
        assert result.returncode == 1, result.stderr
        assert f"error: {crash}: {CRASHED}" in result.stderr
        assert f"scanned {len(paths)} file" in result.stderr
    assert "would-tag: " + str(fine) in result.stdout
    predicted = subprocess.run([sys.executable, "-m", "tagger", "predict", str(crash), str(fine), "--model",
                                str(tiny_model)], capture_output=True, text=True, env=environment, timeout=120,
                               check=False)
    assert predicted.returncode == 1 and CRASHED in predicted.stderr and str(fine) in predicted.stdout


KILLED_WHILE_WORKERS_START = """
import os, signal, sys, time
from pathlib import Path
from tagger.workers import analyze_in_processes
folder, model, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
analyses = analyze_in_processes([f"{folder}/{i}.mp3" for i in range(4)], 2, model, 1)
# Start the pool, then die ``delay`` seconds after its workers exist: they are still starting up.
pending = iter(analyses)
import threading
threading.Thread(target=lambda: next(pending, None), daemon=True).start()
def children(pid):
    try:
        return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
                for child in (task / "children").read_text().split()]
    except OSError:  # it ended meanwhile
        return []
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    # The workers are the fork server's children (the main process's own where workers are spawned).
    helpers = children(os.getpid())
    forked = [pid for helper in helpers for pid in children(helper)]
    if len(forked) >= 2 or (not forked and len(helpers) >= 2 and sys.argv[4] == "spawn"):
        Path(folder, "workers").write_text(" ".join(map(str, helpers + forked)))
        time.sleep(delay)
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.001)
"""


@pytest.mark.parametrize("delay", [0.0, 0.1, 0.2, 0.35, 0.5])
def test_workers_still_starting_up_exit_when_the_main_process_is_killed(tiny_model, tmp_path, delay):
    """The parent-death check is armed before a worker loads anything heavy, and a worker whose main process
    died before it ran ends too: a worker orphaned while it starts up does not run on for good (nor does the
    fork server that forks them)."""
    import signal
    import subprocess
    import sys
    import time

    if not Path("/proc/self/task").is_dir():
        pytest.skip("needs /proc to find the workers")
    import multiprocessing

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    main = subprocess.run([sys.executable, "-c", KILLED_WHILE_WORKERS_START, str(tmp_path), str(tiny_model),
                           str(delay), method],
                          cwd=Path(__file__).parent.parent, capture_output=True, timeout=120, check=False)
    assert main.returncode == -signal.SIGKILL, main.stderr
    workers = [int(pid) for pid in (tmp_path / "workers").read_text().split()]
    deadline = time.monotonic() + 60
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)
