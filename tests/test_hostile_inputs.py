"""Inputs that must give one clear line and let the run go on: odd names, folders that cannot be listed,
a state directory that cannot be written, is damaged or locked, a write lock held by another run, and a
temporary copy that cannot be deleted."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from tagger import atomic
from tagger.cli import main
from tagger.state import StateStore
from tests.tagtools import digest


def scan(*arguments, env=None):
    return CliRunner().invoke(main, ["scan", *map(str, arguments)], env=env)


def _common(tiny_model, state):
    return ["--model", tiny_model, "--state-dir", state, "--min-confidence", "0", "--mode", "replace", "--jobs", "1"]


def test_names_that_are_not_utf8_are_scanned_tagged_reported_and_undone(make_audio, tiny_model, tmp_path):
    plain = make_audio("lib/plain.mp3")
    odd_folder = os.fsencode(tmp_path / "lib") + b"/caf\xe9"
    os.mkdir(odd_folder)
    odd = Path(os.fsdecode(odd_folder + b"/d\xfcr\xff.mp3"))
    make_audio("lib/source.mp3").rename(odd)
    before = {path: digest(path) for path in (plain, odd)}
    report = tmp_path / "report.csv"
    result = scan(plain.parent, "--write-tags", *_common(tiny_model, tmp_path / "state"), "--report", report)
    assert result.exit_code == 0 and result.exception is None, result.output
    assert "tagged 2" in result.output and "caf\\xe9/d\\xfcr\\xff.mp3" in result.output
    assert "caf\\xe9/d\\xfcr\\xff.mp3" in report.read_text(encoding="utf-8")
    assert digest(odd) != before[odd]
    undone = CliRunner().invoke(main, ["undo", "--state-dir", str(tmp_path / "state")])
    assert undone.exit_code == 0 and "restored 2 of 2" in undone.output, undone.output
    assert {path: digest(path) for path in (plain, odd)} == before


def test_a_folder_that_cannot_be_listed_is_reported_and_the_rest_is_scanned(make_audio, tiny_model, tmp_path):
    """A path over the system's limit (and, for a user other than root, a folder without read permission)."""
    song = make_audio("lib/song.mp3")
    deep = os.open(song.parent, os.O_RDONLY)
    try:
        for _ in range(20):  # 20 × 250 characters: past PATH_MAX (4096) on every Linux
            os.mkdir("d" * 250, dir_fd=deep)
            inner = os.open("d" * 250, os.O_RDONLY, dir_fd=deep)
            os.close(deep)
            deep = inner
    finally:
        os.close(deep)
    locked = song.parent / "locked"
    locked.mkdir()
    os.chmod(locked, 0)
    try:
        result = scan(song.parent, *_common(tiny_model, tmp_path / "state"))
    finally:
        os.chmod(locked, 0o755)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 1 and "would-tag 1" in result.output
    assert "cannot list this folder (File name too long); its files were not scanned" in result.output
    if os.geteuid() != 0:  # root may list any folder
        assert "cannot list this folder (Permission denied)" in result.output


def test_a_dry_run_and_undo_list_work_where_the_state_cannot_be_written(make_audio, tiny_model, tmp_path):
    song = make_audio("lib/song.mp3")
    blocked = tmp_path / "a-file"
    blocked.write_text("a file, not a folder")
    for state in (blocked, blocked / "state"):
        dry = scan(song, *_common(tiny_model, state))
        assert dry.exit_code == 0 and "would-tag 1" in dry.output, dry.output
        assert "cannot be written" in dry.output and "caching nothing" in dry.output
        listed = CliRunner().invoke(main, ["undo", "--list", "--state-dir", str(state)])
        assert listed.exit_code == 0, listed.output
        written = scan(song, "--write-tags", *_common(tiny_model, state))
        assert written.exit_code == 1 and len(written.output.strip().splitlines()) == 1
        assert "cannot open the state directory" in written.output
    assert blocked.read_text() == "a file, not a folder"


def test_a_damaged_database_is_read_around_for_a_dry_run_and_named_for_a_write(make_audio, tiny_model, tmp_path):
    song = make_audio("lib/song.mp3")
    state = tmp_path / "state"
    state.mkdir()
    (state / "state.sqlite3").write_bytes(b"this is not an SQLite database" * 100)
    dry = scan(song, *_common(tiny_model, state))
    assert dry.exit_code == 0 and "would-tag 1" in dry.output and "not a database" in dry.output, dry.output
    written = scan(song, "--write-tags", *_common(tiny_model, state))
    assert written.exit_code == 1 and "not a database" in written.output and "move it aside" in written.output
    assert (state / "state.sqlite3").read_bytes().startswith(b"this is not")  # the journal is never thrown away


def test_a_database_locked_by_another_program_is_one_line(make_audio, tiny_model, tmp_path, monkeypatch):
    import tagger.state

    song = make_audio("lib/song.mp3")
    state = tmp_path / "state"
    assert scan(song, *_common(tiny_model, state)).exit_code == 0  # creates the database
    monkeypatch.setattr(tagger.state, "BUSY_SECONDS", 0.2)
    holder = sqlite3.connect(state / "state.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = scan(song, "--write-tags", *_common(tiny_model, state))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1 and "database is locked" in result.output and "Traceback" not in result.output


def test_a_write_lock_held_by_another_run_is_waited_for_with_a_message_then_given_up(make_audio, tiny_model,
                                                                                     tmp_path):
    song = make_audio("lib/song.mp3")
    before = digest(song)
    state = tmp_path / "state"
    assert scan(song, *_common(tiny_model, state)).exit_code == 0
    with open(state / "write.lock", "a") as other_run:
        fcntl.flock(other_run, fcntl.LOCK_EX)
        result = scan(song, "--write-tags", *_common(tiny_model, state), env={"TAGGER_LOCK_WAIT": "0.5"})
    assert "another tagger run is writing tags with this state directory; waiting" in result.output
    assert "gave up" in result.output and result.exit_code == 1 and "Traceback" not in result.output
    assert digest(song) == before
    again = scan(song, "--write-tags", *_common(tiny_model, state))  # the lock is free again
    assert again.exit_code == 0 and "tagged 1" in again.output


def test_an_undo_waits_for_the_write_lock_too_and_touches_nothing_without_it(make_audio, tiny_model, tmp_path):
    """Undo (and the settling it does first) takes the lock a scan writes under, so it never writes a file
    between a scan's check and its write."""
    song = make_audio("lib/song.mp3")
    state = tmp_path / "state"
    written = scan(song, "--write-tags", "--mode", "replace", "--min-confidence", "0", *_common(tiny_model, state))
    assert written.exit_code == 0
    tagged = digest(song)
    with open(state / "write.lock", "a") as other_run:
        fcntl.flock(other_run, fcntl.LOCK_EX)
        result = CliRunner().invoke(main, ["undo", "--state-dir", str(state)], env={"TAGGER_LOCK_WAIT": "0.5"})
    assert "waiting" in result.output and "gave up" in result.output and result.exit_code == 1
    assert digest(song) == tagged
    assert CliRunner().invoke(main, ["undo", "--state-dir", str(state)]).exit_code == 0 and digest(song) != tagged


def test_the_journal_is_synced_to_disk_before_a_file_is_replaced(tmp_path):
    """SQLite's synchronous=FULL: each journal commit is fsynced, so a power cut after the rename still
    finds the change recorded."""
    store = StateStore(tmp_path / "state")
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()


class _FullDisk:
    """An SQLite connection on a disk that has just filled up: inserts of results and changes fail as SQLite
    reports it (the run's own row went in just before)."""

    def __init__(self, real: sqlite3.Connection) -> None:
        self.real = real

    def execute(self, statement: str, *arguments):
        if statement.startswith(("INSERT INTO changes", "INSERT OR REPLACE INTO results")):
            raise sqlite3.OperationalError("database or disk is full")
        return self.real.execute(statement, *arguments)

    def close(self) -> None:
        self.real.close()


def test_a_full_disk_under_the_journal_stops_writing_with_one_line(make_audio, tiny_model, tmp_path, monkeypatch):
    """When the journal cannot be written no file may be: the scan stops, nothing changed; an uncached result
    is only a warning."""
    songs = [make_audio(f"lib/song{index}.mp3") for index in range(2)]
    before = [digest(song) for song in songs]
    connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *arguments, **options: _FullDisk(connect(*arguments, **options)))
    result = scan(songs[0].parent, "--write-tags", *_common(tiny_model, tmp_path / "state"))
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "error: cannot record a change in the journal" in result.output
    assert "database or disk is full" in result.output and "stopped: 2 file(s) not handled" in result.output
    assert "results could not be cached (database or disk is full)" in result.output
    assert [digest(song) for song in songs] == before


def test_a_temporary_copy_that_cannot_be_deleted_does_not_stop_the_run(make_audio, tiny_model, tmp_path,
                                                                         monkeypatch):
    song = make_audio("lib/song.mp3")
    leftover = song.parent / f".song.mp3.999999999{atomic.TEMP_SUFFIX}"
    leftover.write_bytes(b"half a copy")

    def cannot_delete(path: Path) -> bool:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(atomic, "remove_if_stale", cannot_delete)
    result = scan(song.parent, "--write-tags", *_common(tiny_model, tmp_path / "state"), "--verbose")
    assert result.exit_code == 0 and "tagged 1" in result.output, result.output
    assert "temporary copy that cannot be deleted (Permission denied)" in result.output
