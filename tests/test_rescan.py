"""A rescan decides an unchanged file from the state and `stat` alone (issue 32), and gives the records a full
look would give; any change to a file (its tags, its mode, a copy over it) or to the run's settings makes it
looked at again."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tagger.cli import main
from tagger.scan import Scanner
from tests.tagtools import add_id3, digest

COMPARED = ("status", "genres", "previous", "reason", "error", "scores", "cached")


@pytest.fixture
def library(make_audio):
    """A file with genres of its own, two without (an MP3, a FLAC in a subfolder)."""
    own = make_audio("lib/own.mp3")
    add_id3(own, 4, "Pop")
    paths = {"own": own, "bare": make_audio("lib/bare.mp3", frequencies=(330.0,)),
             "flac": make_audio("lib/sub/song.flac", frequencies=(550.0, 990.0))}
    return own.parent, paths


def scan(root, model, state_dir, report, *more):
    result = CliRunner().invoke(main, ["scan", str(root), "--model", str(model), "--state-dir", str(state_dir),
                                       "--jobs", "1", "--min-confidence", "0", "--report", str(report), *more],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return {Path(record["path"]).name: {key: record[key] for key in COMPARED}
            for record in json.loads(report.read_text())}


@pytest.fixture
def no_tags_read(monkeypatch):
    """Make any look at a file's tags fail the test: what is left must come from the state."""

    def refuse(self, path):
        raise AssertionError(f"{path} was looked at again")

    def arm():
        monkeypatch.setattr(Scanner, "_plan", refuse)

    return arm


def test_a_rescan_gives_a_full_looks_records_without_reading_a_tag(library, tiny_model, state_dir, tmp_path,
                                                                     no_tags_read):
    root, _ = library
    first = scan(root, tiny_model, state_dir, tmp_path / "first.json")
    assert first["own.mp3"]["status"] == "kept" and first["bare.mp3"]["status"] == "would-tag"
    full = scan(root, tiny_model, state_dir, tmp_path / "full.json", "--force")  # a full look: nothing reused
    no_tags_read()
    again = scan(root, tiny_model, state_dir, tmp_path / "again.json")
    assert {name: {**record, "cached": True} for name, record in full.items() if record["scores"]} == \
        {name: record for name, record in again.items() if record["scores"]}
    assert again["own.mp3"] == first["own.mp3"]  # kept unheard: no scores, as before


def test_after_a_tagging_run_the_rescan_says_unchanged_from_the_state(library, tiny_model, state_dir, tmp_path,
                                                                       no_tags_read):
    root, _ = library
    written = scan(root, tiny_model, state_dir, tmp_path / "written.json", "--write-tags")
    assert written["bare.mp3"]["status"] == "tagged"
    no_tags_read()
    again = scan(root, tiny_model, state_dir, tmp_path / "again.json")
    assert again["bare.mp3"]["status"] == "unchanged" and again["bare.mp3"]["genres"] == written["bare.mp3"]["genres"]
    assert again["own.mp3"]["status"] == "kept"


def test_a_file_due_a_write_is_written_though_its_dry_run_was_remembered(library, tiny_model, state_dir, tmp_path):
    root, paths = library
    dry = scan(root, tiny_model, state_dir, tmp_path / "dry.json")
    before = digest(paths["bare"])
    written = scan(root, tiny_model, state_dir, tmp_path / "written.json", "--write-tags")
    assert dry["bare.mp3"]["status"] == "would-tag" and written["bare.mp3"]["status"] == "tagged"
    assert digest(paths["bare"]) != before


@pytest.mark.parametrize("change", ["tags, mtime put back", "mode", "copied over"])
def test_any_change_to_a_file_makes_it_looked_at_again(library, tiny_model, state_dir, tmp_path, change):
    root, paths = library
    bare = paths["bare"]
    assert scan(root, tiny_model, state_dir, tmp_path / "first.json")["bare.mp3"]["status"] == "would-tag"
    status = bare.stat()
    if change == "tags, mtime put back":  # another program gave it a genre and hid the edit's time
        add_id3(bare, 4, "Jazz")
        os.utime(bare, ns=(status.st_atime_ns, status.st_mtime_ns))
        expected = ("kept", ["Jazz"])
    elif change == "mode":  # made read-only (root included: the owner said no): a full look skips it
        bare.chmod(0o444)
        expected = ("skipped", [])
    else:  # another file of the same size and time put in its place
        other = paths["own"].read_bytes()
        replacement = bare.with_name("replacement")
        replacement.write_bytes(other)
        os.utime(replacement, ns=(status.st_atime_ns, status.st_mtime_ns))
        replacement.replace(bare)
        expected = ("kept", ["Pop"])
    again = scan(root, tiny_model, state_dir, tmp_path / "again.json")["bare.mp3"]
    assert (again["status"], again["genres"] if again["status"] == "kept" else []) == expected, again


def test_other_settings_are_not_answered_from_an_earlier_run(library, tiny_model, state_dir, tmp_path):
    root, _ = library
    first = scan(root, tiny_model, state_dir, tmp_path / "first.json")
    replaced = scan(root, tiny_model, state_dir, tmp_path / "replace.json", "--mode", "replace")
    assert first["own.mp3"]["status"] == "kept" and replaced["own.mp3"]["status"] == "would-tag"
    confident = scan(root, tiny_model, state_dir, tmp_path / "confident.json", "--min-confidence", "1")
    assert confident["bare.mp3"]["status"] == "uncertain"


def test_a_rescan_of_unchanged_files_loads_no_numpy_no_session_and_no_decoder(library, tiny_model, state_dir,
                                                                               tmp_path):
    root, _ = library
    scan(root, tiny_model, state_dir, tmp_path / "first.json")
    code = (
        "import sys\n"
        "from tagger.cli import main\n"
        "try:\n"
        f"    main(['scan', {str(root)!r}, '--model', {str(tiny_model)!r}, '--state-dir', {str(state_dir)!r},"
        " '--min-confidence', '0', '-q'])\n"
        "except SystemExit as end:\n"
        "    assert not end.code, end.code\n"
        "heavy = sorted(m for m in ('numpy', 'onnxruntime', 'soundfile', 'soxr', 'av') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_a_state_without_the_outcomes_table_gives_none():
    """A state an earlier tagger wrote, opened read-only, has no outcomes table: a dry run still works."""
    import sqlite3

    from tagger.outcome_cache import OutcomeCache

    assert OutcomeCache(sqlite3.connect(":memory:"), read_only=True).load("settings", "model") == {}


def test_another_count_of_windows_is_heard_again_not_answered_from_the_state(library, tiny_model, state_dir,
                                                                               tmp_path):
    """Scores of 5 windows per track are not those of the model's own count: neither the results cache nor the
    outcomes answer for them, and the model's own count gets its own scores back afterwards."""
    root, _ = library
    own = scan(root, tiny_model, state_dir, tmp_path / "own.json")
    more = scan(root, tiny_model, state_dir, tmp_path / "more.json", "--windows", "5")
    assert not any(record["cached"] for record in more.values()) and any(record["scores"] for record in more.values())
    again = scan(root, tiny_model, state_dir, tmp_path / "again.json")
    assert {name: record["scores"] for name, record in again.items()} == {name: record["scores"]
                                                                          for name, record in own.items()}
