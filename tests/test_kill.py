"""SIGKILL during `tagger scan --write-tags`: every file is either as before or completely tagged,
the journal stays consistent, the next run finishes the job, and undo still restores everything."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from mutagen.id3 import ID3

from tests.conftest import tone, write_audio
from tests.tagtools import add_id3, digest, id3_frames_except_genre, mp3_audio_bytes

FILES = 24
KILL_FRACTIONS = (0.3, 0.45, 0.6, 0.7, 0.8, 0.9)


def scan_command(library, model, state):
    return [sys.executable, "-m", "tagger", "scan", str(library), "--write-tags", "--model", str(model),
            "--state-dir", str(state), "--jobs", "1", "--force"]


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


@pytest.mark.slow
def test_sigkill_at_many_points_loses_nothing(pristine, tiny_model, tmp_path):
    originals = {p.name: (digest(p), file_state(p)) for p in pristine.iterdir()}
    calibration = tmp_path / "calibration"
    shutil.copytree(pristine, calibration)
    started = time.monotonic()
    subprocess.run(scan_command(calibration, tiny_model, tmp_path / "calibration-state"), check=True,
                   capture_output=True)
    full_run = time.monotonic() - started
    finished = {p.name: file_state(p) for p in calibration.iterdir()}

    mid_run_kills = 0
    for round_number, fraction in enumerate(KILL_FRACTIONS):
        library, state = tmp_path / f"lib{round_number}", tmp_path / f"state{round_number}"
        shutil.copytree(pristine, library)
        process = subprocess.Popen(scan_command(library, tiny_model, state), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(fraction * full_run)
        process.send_signal(signal.SIGKILL)
        process.wait()

        tagged = 0
        for path in library.iterdir():
            assert not path.name.endswith(".tagger-tmp") or path.name.startswith(".")
            if path.name.startswith("."):
                continue  # a temporary copy the killed process never renamed: the original is intact
            now = file_state(path)
            if digest(path) != originals[path.name][0]:
                genres, frames, audio = now
                assert genres == finished[path.name][0], path.name  # completely tagged
                assert frames == originals[path.name][1][1] and audio == originals[path.name][1][2], path.name
                tagged += 1
        mid_run_kills += 0 < tagged < FILES

        subprocess.run(scan_command(library, tiny_model, state), check=True, capture_output=True)
        assert {p.name: file_state(p) for p in library.iterdir()} == finished  # stale copies removed too
        with sqlite3.connect(state / "state.sqlite3") as db:
            assert db.execute("SELECT COUNT(*) FROM changes WHERE status='pending'").fetchone()[0] == 0
            done = db.execute("SELECT COUNT(DISTINCT path) FROM changes WHERE status='done'").fetchone()[0]
        assert done == FILES

        for run_id in range(2, 0, -1):  # undo the finishing run, then the killed one
            subprocess.run([sys.executable, "-m", "tagger", "undo", str(run_id), "--state-dir", str(state)],
                           check=False, capture_output=True)
        for path in library.iterdir():
            assert file_state(path) == originals[path.name][1], path.name
    assert mid_run_kills >= 2, "the kills should land while files are being written"


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
