"""SIGKILL during `tagger scan --write-tags`: every file is either as before or completely tagged,
the journal stays consistent, the next run finishes the job, and undo still restores everything.

The kills land at exact points, not after a guessed delay: the scan runs in a child process whose
``os.replace`` (the atomic step of every write) sends SIGKILL to its own process just before or just
after the N-th file is replaced, so the test cannot pass or fail by timing.
"""

import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from mutagen.id3 import ID3

from tests.conftest import tone, write_audio
from tests.tagtools import add_id3, digest, id3_frames_except_genre, mp3_audio_bytes

FILES = 12
# (the write during which the process dies, whether it dies before or after that file is replaced)
KILL_POINTS = ((1, "before"), (1, "after"), (5, "before"), (8, "after"), (FILES, "before"), (FILES, "after"))

KILLING_SCAN = """
import os, signal, sys
kill_at, phase = int(sys.argv[1]), sys.argv[2]
real_replace, calls = os.replace, [0]
def replace(source, destination):
    calls[0] += 1
    if calls[0] == kill_at and phase == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(source, destination)
    if calls[0] == kill_at and phase == "after":
        os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace
from tagger.cli import main
sys.argv = ["tagger", *sys.argv[3:]]
main()
"""


def scan_arguments(library, model, state):
    """Every file written (its genre replaced), so every write is a point the kill can land on."""
    return ["scan", str(library), "--write-tags", "--mode", "replace", "--model", str(model), "--state-dir",
            str(state), "--jobs", "1", "--force"]


def scan_command(library, model, state):
    return [sys.executable, "-m", "tagger", *scan_arguments(library, model, state)]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    root = tmp_path_factory.mktemp("pristine")
    for index in range(FILES):
        path = write_audio(root / f"song{index:02d}.mp3", tone(10, seed=index, frequencies=(110.0 * (1 + index % 5),)))
        if index % 3:
            add_id3(path, 3 if index % 2 else 4)
    return root


def file_state(path):
    tags = ID3(str(path), translate=False) if path.read_bytes()[:3] == b"ID3" else None
    genres = list(tags["TCON"].text) if tags is not None and "TCON" in tags else []
    frames = id3_frames_except_genre(path) if tags is not None else {}
    return genres, frames, mp3_audio_bytes(path)


@pytest.fixture(scope="module")
def finished(pristine, tiny_model, tmp_path_factory):
    """Each file's state after an uninterrupted run: what a killed run plus a finishing run must reach."""
    library = tmp_path_factory.mktemp("finished") / "lib"
    shutil.copytree(pristine, library)
    subprocess.run(scan_command(library, tiny_model, library.parent / "state"), check=True, capture_output=True)
    return {p.name: file_state(p) for p in library.iterdir()}


@pytest.mark.slow
@pytest.mark.parametrize(("kill_at", "phase"), KILL_POINTS)
def test_sigkill_at_exact_points_loses_nothing(pristine, finished, tiny_model, tmp_path, kill_at, phase):
    originals = {p.name: (digest(p), file_state(p)) for p in pristine.iterdir()}
    library, state = tmp_path / "lib", tmp_path / "state"
    shutil.copytree(pristine, library)
    killed = subprocess.run([sys.executable, "-c", KILLING_SCAN, str(kill_at), phase,
                             *scan_arguments(library, tiny_model, state)], capture_output=True, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    changed = 0
    for path in library.iterdir():
        if path.name.startswith("."):
            assert path.name.endswith(".tagger-tmp")  # a copy the killed process never renamed
            continue
        if digest(path) != originals[path.name][0]:
            genres, frames, audio = file_state(path)
            assert genres == finished[path.name][0], path.name  # completely tagged
            assert frames == originals[path.name][1][1] and audio == originals[path.name][1][2], path.name
            changed += 1
    assert changed == (kill_at if phase == "after" else kill_at - 1)
    assert len(list(library.glob(".*.tagger-tmp"))) == (phase == "before")

    subprocess.run(scan_command(library, tiny_model, state), check=True, capture_output=True)
    assert {p.name: file_state(p) for p in library.iterdir()} == finished  # stale copies removed too
    with sqlite3.connect(state / "state.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM changes WHERE status='pending'").fetchone()[0] == 0
        done = db.execute("SELECT COUNT(DISTINCT path) FROM changes WHERE status='done'").fetchone()[0]
    assert done == FILES

    for run_id in (2, 1):  # undo the finishing run, then the killed one
        subprocess.run([sys.executable, "-m", "tagger", "undo", str(run_id), "--state-dir", str(state)],
                       check=False, capture_output=True)
    for path in library.iterdir():
        assert file_state(path) == originals[path.name][1], path.name


def test_two_scans_at_once_on_one_library(pristine, tiny_model, tmp_path):
    library, state = tmp_path / "lib", tmp_path / "state"
    shutil.copytree(pristine, library)
    originals = {p.name: file_state(p) for p in library.iterdir()}
    processes = [subprocess.Popen(scan_command(library, tiny_model, state), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for _ in range(2)]
    for process in processes:
        assert process.wait() == 0, process.stderr.read()
    for path in library.iterdir():
        genres, frames, audio = file_state(path)
        assert genres and frames == originals[path.name][1] and audio == originals[path.name][2]
    with sqlite3.connect(state / "state.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM changes WHERE status='pending'").fetchone()[0] == 0
        # one run tagged each file; the other found it already tagged (the write lock orders them)
        assert db.execute("SELECT COUNT(*) FROM changes WHERE status='done'").fetchone()[0] == FILES
    for run_id in (2, 1):
        subprocess.run([sys.executable, "-m", "tagger", "undo", str(run_id), "--state-dir", str(state)],
                       check=False, capture_output=True)
    assert {p.name: file_state(p) for p in library.iterdir()} == originals


INTERRUPTED_SCAN = """
import os, signal, sys
import tagger.workers
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if our runner ignores SIGINT
interrupt_at, real_analyses, calls = int(sys.argv[1]), tagger.workers.analyze_in_processes, [0]
def analyses(*arguments):
    for analysis in real_analyses(*arguments):
        calls[0] += 1
        if calls[0] == interrupt_at:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, delivered exactly as this file's analysis arrives
        yield analysis
tagger.workers.analyze_in_processes = analyses
from tagger.cli import main
sys.argv = ["tagger", *sys.argv[2:]]
main()
"""


def test_ctrl_c_keeps_what_was_done_and_still_prints_the_summary(pristine, tiny_model, tmp_path):
    library, state = tmp_path / "lib", tmp_path / "state"
    shutil.copytree(pristine, library)
    originals = {p.name: file_state(p) for p in library.iterdir()}
    stopped = subprocess.run([sys.executable, "-c", INTERRUPTED_SCAN, "5", *scan_arguments(library, tiny_model, state)],
                             capture_output=True, text=True, check=False)
    assert stopped.returncode == 130, stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert "tagged 4," in stopped.stderr and f"interrupted: {FILES - 4} file(s) not handled" in stopped.stderr
    assert "run 1: undo with `tagger undo 1`" in stopped.stderr
    changed = [p.name for p in library.iterdir() if file_state(p) != originals[p.name]]
    assert len(changed) == 4
    with sqlite3.connect(state / "state.sqlite3") as db:
        assert db.execute("SELECT status, COUNT(*) FROM changes GROUP BY status").fetchall() == [("done", 4)]
    subprocess.run([sys.executable, "-m", "tagger", "undo", "1", "--state-dir", str(state)], check=True,
                   capture_output=True)
    assert {p.name: file_state(p) for p in library.iterdir()} == originals


def _open_store_and_record(directory: str, index: int, barrier) -> None:
    from tagger.result_cache import FileKey
    from tagger.state import StateStore

    barrier.wait()  # every process opens the new database at the same instant
    store = StateStore(Path(directory))
    store.cache.store_scores(FileKey(f"/song{index}.mp3", 1, 1), "model", [0.5])
    store.close()


@pytest.mark.parametrize("attempt", range(3))
def test_many_processes_creating_one_state_database_at_once(tmp_path, attempt):
    """Scans started together all get through the creation of a new state database (journal mode, schema):
    SQLite refuses the switch to WAL at once, without waiting, while another process is creating it."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(8)
    processes = [context.Process(target=_open_store_and_record, args=(str(tmp_path / "state"), index, barrier))
                 for index in range(8)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0] * 8
    with sqlite3.connect(tmp_path / "state" / "state.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 8
