"""The journal and undo: a write cut off at any point is settled from what the file holds, a crash's
pending change can be undone at once, an undo can be run again, an in-place write cut off half-way is
repaired, and undo never writes an old genre into another song."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tagger.change_journal import ChangeJournal, ChangeStatus
from tagger.cli import main
from tests.tagtools import add_id3, digest

COMMON = ["--write-tags", "--mode", "replace", "--min-confidence", "0", "--jobs", "1"]


def _scan(path: Path, tiny_model: Path, state: Path):
    return CliRunner().invoke(main, ["scan", str(path), *COMMON, "--model", str(tiny_model), "--state-dir",
                                     str(state)])


def _undo(state: Path, *extra: str):
    return CliRunner().invoke(main, ["undo", *extra, "--state-dir", str(state)])


def _statuses(state: Path) -> list[str]:
    with sqlite3.connect(state / "state.sqlite3") as database:
        return [row[0] for row in database.execute("SELECT status FROM changes ORDER BY id")]


@pytest.fixture
def song(make_audio):
    path = make_audio("lib/song.mp3")
    add_id3(path, 4)
    return path


def test_ctrl_c_right_after_the_rename_is_journalled_done_and_undone(song, tiny_model, tmp_path, monkeypatch):
    original = digest(song)
    real_replace = os.replace

    def replace_then_interrupt(source, destination):
        real_replace(source, destination)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    result = _scan(song, tiny_model, tmp_path / "state")
    monkeypatch.undo()
    assert result.exit_code == 130 and digest(song) != original
    assert _statuses(tmp_path / "state") == [ChangeStatus.DONE]
    undone = _undo(tmp_path / "state")
    assert undone.exit_code == 0 and "restored 1 of 1" in undone.output and digest(song) == original


KILLED_AFTER_RENAME = """
import os, signal, sys
real_replace = os.replace
def replace(source, destination):
    real_replace(source, destination)
    os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace
from tagger.cli import main
sys.argv = ["tagger", *sys.argv[1:]]
main()
"""


def test_a_change_left_pending_by_a_crash_is_undone_by_a_plain_undo(song, tiny_model, tmp_path):
    original = digest(song)
    state = tmp_path / "state"
    killed = subprocess.run([sys.executable, "-c", KILLED_AFTER_RENAME, "scan", str(song), *COMMON, "--model",
                             str(tiny_model), "--state-dir", str(state)], capture_output=True, check=False)
    assert killed.returncode == -signal.SIGKILL and _statuses(state) == [ChangeStatus.PENDING]
    undone = _undo(state)  # no run named, no scan in between
    assert undone.exit_code == 0 and "restored 1 of 1" in undone.output, undone.output
    assert digest(song) == original and _statuses(state) == [ChangeStatus.UNDONE]


def test_an_undo_cut_off_after_restoring_can_be_run_again(song, tiny_model, tmp_path, monkeypatch):
    original = digest(song)
    state = tmp_path / "state"
    assert _scan(song, tiny_model, state).exit_code == 0
    real_set = ChangeJournal.set_status

    def cut_off_before_recording_undone(self, change_id, status):
        if status == ChangeStatus.UNDONE:
            raise KeyboardInterrupt
        real_set(self, change_id, status)

    monkeypatch.setattr(ChangeJournal, "set_status", cut_off_before_recording_undone)
    _undo(state)
    monkeypatch.undo()
    assert digest(song) == original and _statuses(state) == [ChangeStatus.DONE]
    again = _undo(state)
    assert again.exit_code == 0 and "restored 1 of 1" in again.output and "changed since" not in again.output
    assert digest(song) == original and _statuses(state) == [ChangeStatus.UNDONE]


def test_undo_never_writes_into_a_file_replaced_by_another_song(song, make_audio, tiny_model, tmp_path):
    state = tmp_path / "state"
    assert _scan(song, tiny_model, state).exit_code == 0
    other = make_audio("other.mp3", seconds=8, frequencies=(990.0,))
    shutil.copy(song, tmp_path / "written.mp3")
    # Another recording under the same name, carrying the very genres the run wrote.
    from tagger.formats import handler_for

    handler = handler_for(song)
    add_id3(other, 4, genre=None)
    from tagger import tags

    tags.write_genres(other, handler, handler.read_genres(song))
    shutil.copy(other, song)
    replaced = digest(song)
    for extra in ((), ("--force",)):
        result = _undo(state, *extra)
        assert result.exit_code == 1 and "holds other audio now" in result.output, result.output
        assert digest(song) == replaced


IN_PLACE_CUT_OFF = """
import os, signal, sys
real_pwrite = os.pwrite
def pwrite(descriptor, data, offset):
    if not os.readlink(f"/proc/self/fd/{descriptor}").endswith("/lib/song.mp3"):
        return real_pwrite(descriptor, data, offset)  # the scratch copy
    real_pwrite(descriptor, data[: len(data) // 2], offset)
    os.kill(os.getpid(), signal.SIGKILL)
os.pwrite = pwrite
from tagger.cli import main
sys.argv = ["tagger", *sys.argv[1:]]
main()
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to tell the file from its scratch copy")
def test_an_in_place_write_cut_off_half_way_is_repaired_by_the_next_run(song, tiny_model, tmp_path):
    """A hard-linked file is written in place; SIGKILL after half its new bytes leaves a torn tag, which the
    journalled original bytes put right."""
    os.link(song, tmp_path / "other-name.mp3")
    original = digest(song)
    state = tmp_path / "state"
    killed = subprocess.run([sys.executable, "-c", IN_PLACE_CUT_OFF, "scan", str(song), *COMMON, "--model",
                             str(tiny_model), "--state-dir", str(state)], capture_output=True, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert digest(song) != original  # torn
    listed = _undo(state, "--list")  # reading needs no repair
    assert listed.exit_code == 0
    settled = _scan(song, tiny_model, state)  # settles first: repairs, then writes afresh
    assert settled.exit_code == 0 and _statuses(state) == [ChangeStatus.ABANDONED, ChangeStatus.DONE]
    assert _undo(state).exit_code == 0 and digest(song) == original
    assert os.stat(song).st_nlink == 2


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to tell the file from its scratch copy")
def test_an_undo_cut_off_half_way_through_an_in_place_write_is_repaired_and_finished(song, tiny_model, tmp_path):
    """Undo of a hard-linked file writes in place too; SIGKILL half-way leaves a torn tag, which the bytes the
    undo journalled first put right, so the next undo starts from the tagged file and finishes exactly."""
    os.link(song, tmp_path / "other-name.mp3")
    original = digest(song)
    state = tmp_path / "state"
    assert _scan(song, tiny_model, state).exit_code == 0
    tagged = digest(song)
    killed = subprocess.run([sys.executable, "-c", IN_PLACE_CUT_OFF, "undo", "--state-dir", str(state)],
                            capture_output=True, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert digest(song) not in (original, tagged)  # torn

    assert _undo(state).exit_code == 0
    assert digest(song) == original and _statuses(state) == [ChangeStatus.UNDONE]
    assert os.stat(song).st_nlink == 2
