"""End to end through the `tagger` command: dry run, writing, cache, reports, undo, bad files."""

import csv
import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3, TCON, TIT2

from tagger.cli import main
from tests.conftest import LABELS
from tests.tagtools import add_id3, digest, id3_frames_except_genre, mp3_audio_bytes

GENRE_NAMES = {label.title() for label in LABELS}


@pytest.fixture
def library(make_audio):
    """Three tagged MP3s (v2.3, v2.4, none), a FLAC, an Ogg, a WAV, and three broken files."""
    paths = {
        "v23": make_audio("lib/a b/ünïcode v23.mp3", frequencies=(110.0,)),
        "v24": make_audio("lib/v24.mp3", seconds=20, frequencies=(880.0, 1320.0)),
        "bare": make_audio("lib/bare.mp3", sample_rate=44_100, channels=2),
        "flac": make_audio("lib/sub/song.flac"),
        "ogg": make_audio("lib/sub/song.ogg", seconds=3),
        "wav": make_audio("lib/sub/song.wav"),
    }
    add_id3(paths["v23"], 3)
    add_id3(paths["v24"], 4)
    root = paths["v24"].parent
    (root / "random.mp3").write_bytes(bytes(range(256)) * 40)
    (root / "empty.mp3").write_bytes(b"")
    (root / "notes.mp3").write_text("this is a text file\n")
    return root, paths


def scan(*arguments):
    return CliRunner().invoke(main, ["scan", *map(str, arguments)], catch_exceptions=False)


def test_dry_run_changes_nothing_and_reports_what_it_would_write(library, tiny_model, state_dir, tmp_path):
    root, paths = library
    before = {path: digest(path) for path in root.rglob("*") if path.is_file()}
    report = tmp_path / "report.json"
    result = scan(root, "--model", tiny_model, "--state-dir", state_dir, "--jobs", "1", "--report", report)
    assert result.exit_code == 1, result.output  # the three broken files failed, the others did not stop
    assert {path: digest(path) for path in root.rglob("*") if path.is_file()} == before
    records = {record["path"]: record for record in json.loads(report.read_text())}
    assert len(records) == 9
    for name in ("bare", "flac", "ogg"):
        record = records[str(paths[name].resolve())]
        assert record["status"] == "would-tag"
        assert record["genres"] and set(record["genres"]) <= GENRE_NAMES
        assert set(record["scores"]) == set(LABELS)
    for name in ("v23", "v24"):  # their own genre stays: the default mode fills only files without one,
        record = records[str(paths[name].resolve())]  # and does not even analyse the others
        assert record["status"] == "kept" and record["genres"] == record["previous"] == ["Pop"]
        assert record["scores"] == {} and not record["analysed"]
    assert records[str(paths["wav"].resolve())]["status"] == "skipped"
    for name in ("random.mp3", "empty.mp3", "notes.mp3"):
        record = records[str((root / name).resolve())]
        assert record["status"] == "error" and record["error"] and "\n" not in record["error"]
    assert "Traceback" not in result.output
    assert "would-tag 3" in result.output and "kept 2" in result.output and "failed 3" in result.output
    assert "2 file(s) kept the genres they had; --mode merge or --mode replace changes them" in result.output


def test_write_then_rescan_then_undo(library, tiny_model, state_dir, tmp_path):
    root, paths = library
    for broken in ("random.mp3", "empty.mp3", "notes.mp3"):
        (root / broken).unlink()
    frames = {name: id3_frames_except_genre(paths[name]) for name in ("v23", "v24")}
    audio = {name: mp3_audio_bytes(paths[name]) for name in ("v23", "v24", "bare")}
    before = {path: digest(path) for path in root.rglob("*") if path.is_file()}

    result = scan(root, "--write-tags", "--mode", "replace", "--model", tiny_model, "--state-dir", state_dir,
                  "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert "tagged 5" in result.output
    for name in ("v23", "v24"):
        assert id3_frames_except_genre(paths[name]) == frames[name]
    for name in audio:
        assert mp3_audio_bytes(paths[name]) == audio[name]
    assert ID3(str(paths["v23"]), translate=False).version == (2, 3, 0)
    assert ID3(str(paths["bare"])).version == (2, 4, 0)

    report = tmp_path / "again.csv"
    again = scan(root, "--write-tags", "--mode", "replace", "--model", tiny_model, "--state-dir", state_dir,
                 "--report", report)
    assert again.exit_code == 0 and "unchanged 5" in again.output and "from cache" in again.output
    rows = list(csv.DictReader(report.open()))
    assert {row["status"] for row in rows} == {"unchanged", "skipped"}
    assert {row["run_id"] for row in rows} == {"2"} and len({row["model_id"] for row in rows}) == 1
    scored = [row for row in rows if row["status"] == "unchanged"]
    assert all(0.0 <= float(row[f"score:{label}"]) <= 1.0 for row in scored for label in LABELS)

    undone = CliRunner().invoke(main, ["undo", "--state-dir", str(state_dir)])
    assert undone.exit_code == 0, undone.output
    assert "restored 5 of 5" in undone.output
    after = {path: digest(path) for path in root.rglob("*") if path.is_file()}
    assert after[paths["bare"]] == before[paths["bare"]]  # the tag we added is gone again
    for name in ("v23", "v24"):
        assert id3_frames_except_genre(paths[name]) == frames[name]
        assert ID3(str(paths[name]), translate=False)["TCON"].text == ["Pop"]


@pytest.mark.parametrize("placeholder", ["Other", "unknown", "  ", "(12)", "Genre", "(255)"])
def test_by_default_own_genres_stay_and_placeholders_count_as_none(make_audio, tiny_model, state_dir, placeholder):
    curated = make_audio("lib/curated.mp3")
    add_id3(curated, 4, genre="Shoegaze")
    vague = make_audio("lib/vague.mp3")
    add_id3(vague, 3, genre=placeholder)
    make_audio("lib/untagged.flac")
    result = scan(curated.parent, "--write-tags", "--model", tiny_model, "--state-dir", state_dir)
    assert result.exit_code == 0, result.output
    assert "tagged 2" in result.output and "kept 1" in result.output
    assert ID3(str(curated))["TCON"].text == ["Shoegaze"]
    assert set(ID3(str(vague), translate=False)["TCON"].text[0].split("; ")) <= GENRE_NAMES  # v2.3 joins with "; "


def test_a_rescan_calls_the_genres_this_model_wrote_unchanged_not_kept(make_audio, tiny_model, state_dir):
    """Fill-empty leaves both alone, but only the owner's genres are theirs to reconsider (kept)."""
    curated = make_audio("lib/curated.mp3")
    add_id3(curated, 4, genre="Shoegaze")
    for name in ("v23.mp3", "song.flac", "song.m4a"):
        make_audio(f"lib/{name}")
    first = scan(curated.parent, "--write-tags", "--id3v23", "--top-k", "3", "--model", tiny_model,
                 "--state-dir", state_dir)
    assert first.exit_code == 0 and "tagged 3" in first.output, first.output
    again = scan(curated.parent, "--model", tiny_model, "--state-dir", state_dir)
    assert "unchanged 3, kept 1" in again.output, again.output
    assert "1 file(s) kept the genres they had" in again.output
    tags = ID3(str(curated.with_name("v23.mp3")))
    tags.setall("TCON", [TCON(encoding=3, text=["Blues"])])
    tags.save(v2_version=3)  # the owner's choice now: kept
    edited = scan(curated.parent, "--model", tiny_model, "--state-dir", state_dir)
    assert "unchanged 2, kept 2" in edited.output, edited.output
    undo = CliRunner().invoke(main, ["undo", "--state-dir", str(state_dir)])
    assert undo.exit_code == 1 and "restored 2 of 3" in undo.output, undo.output  # the edited file is left
    undone = scan(curated.parent, "--model", tiny_model, "--state-dir", state_dir)
    assert "would-tag 2, unchanged 0, kept 2" in undone.output, undone.output


def test_merge_drops_placeholders(make_audio, tiny_model, state_dir):
    vague = make_audio("lib/vague.mp3")
    add_id3(vague, 4, genre="Unknown")
    merge = scan(vague, "--write-tags", "--mode", "merge", "--top-k", "1", "--model", tiny_model,
                 "--state-dir", state_dir)
    assert merge.exit_code == 0, merge.output
    (genre,) = ID3(str(vague))["TCON"].text
    assert genre in GENRE_NAMES


def test_modes_merge_and_fill_empty(make_audio, tiny_model, state_dir):
    tagged = make_audio("lib/tagged.mp3")
    add_id3(tagged, 4, genre="Ambient")
    empty = make_audio("lib/empty-genre.mp3")
    add_id3(empty, 4, genre=None)
    fill = scan(tagged.parent, "--write-tags", "--mode", "fill-empty", "--model", tiny_model, "--state-dir", state_dir)
    assert fill.exit_code == 0
    assert ID3(str(tagged))["TCON"].text == ["Ambient"]
    assert ID3(str(empty))["TCON"].text[0] in GENRE_NAMES
    merge = scan(tagged, "--write-tags", "--mode", "merge", "--top-k", "1", "--model", tiny_model,
                 "--state-dir", state_dir)
    assert merge.exit_code == 0
    text = ID3(str(tagged))["TCON"].text
    assert text[0] == "Ambient" and len(text) == 2 and text[1] in GENRE_NAMES


def test_usage_errors_exit_2(tmp_path, tiny_model):
    runner = CliRunner()
    assert runner.invoke(main, ["scan"]).exit_code == 2
    assert runner.invoke(main, ["scan", str(tmp_path), "--mode", "sideways"]).exit_code == 2
    assert runner.invoke(main, ["scan", str(tmp_path), "--model", str(tmp_path / "missing.onnx")]).exit_code == 2
    assert runner.invoke(main, ["scan", str(tmp_path), "--report", "x.txt", "--model", str(tiny_model)]).exit_code == 2


def test_info_and_predict(tiny_model, make_audio):
    runner = CliRunner()
    info = runner.invoke(main, ["info", "--model", str(tiny_model)])
    assert info.exit_code == 0 and "22050 Hz" in info.output and "Jazz" in info.output
    song = make_audio("one.mp3")
    predicted = runner.invoke(main, ["predict", str(song), "--model", str(tiny_model), "--json"])
    assert predicted.exit_code == 0
    (record,) = json.loads(predicted.output)
    assert set(record["scores"]) == set(record["reasons"]) == GENRE_NAMES
    assert all(0.0 <= value <= 1.0 for value in record["scores"].values())
    assert record["chosen"] and all(record["reasons"][name].startswith("chosen") for name in record["chosen"])

    state = song.parent / "state"
    scanned = runner.invoke(main, ["scan", str(song), "--model", str(tiny_model), "--state-dir", str(state),
                                   "--report", "-", "--top-k", "3", "--threshold", "0.1"])
    explained = runner.invoke(main, ["predict", str(song), "--model", str(tiny_model), "--json", "--top-k", "3",
                                     "--threshold", "0.1"])
    assert json.loads(scanned.stdout)["genres"] == json.loads(explained.output)[0]["chosen"]  # the scan's rule
    table = runner.invoke(main, ["predict", str(song), "--model", str(tiny_model)]).output
    assert sum(line.startswith(" *") for line in table.splitlines()) == len(record["chosen"])


def test_models_are_chosen_by_shipped_name_or_by_file(tiny_model):
    from tagger.model import DEFAULT_MODEL_PATH, shipped_model_names

    runner = CliRunner()
    assert "default" in shipped_model_names()
    by_name = runner.invoke(main, ["info", "--model", "default"])
    assert by_name.exit_code == 0 and str(DEFAULT_MODEL_PATH) in by_name.output
    by_file = runner.invoke(main, ["info", "--model", str(tiny_model)])
    assert by_file.exit_code == 0 and str(tiny_model) in by_file.output
    unknown = runner.invoke(main, ["info", "--model", "no-such-model"])
    assert unknown.exit_code == 2 and "shipped: " in unknown.output


def test_nothing_to_scan_is_said_plainly(tmp_path, tiny_model, state_dir):
    runner = CliRunner()
    missing = runner.invoke(main, ["scan", str(tmp_path / "nowhere"), "--model", str(tiny_model)])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("not audio")
    empty = runner.invoke(main, ["scan", str(tmp_path / "docs"), "--model", str(tiny_model),
                                 "--state-dir", str(state_dir)])
    assert empty.exit_code == 0 and f"no audio files found under {tmp_path / 'docs'}" in empty.output


def test_an_empty_file_is_reported_as_empty(tmp_path, tiny_model, state_dir):
    (tmp_path / "empty.mp3").write_bytes(b"")
    result = scan(tmp_path, "--model", tiny_model, "--state-dir", state_dir)
    assert result.exit_code == 1
    assert "empty.mp3: the file is empty (0 bytes)" in result.output and "pipe" not in result.output


def test_a_read_only_file_is_skipped_not_failed(make_audio, tiny_model, state_dir):
    song = make_audio("lib/locked.mp3")
    before = digest(song)
    song.chmod(0o444)
    for arguments in ((), ("--write-tags",)):
        result = scan(song.parent, *arguments, "--model", tiny_model, "--state-dir", state_dir, "-v")
        assert result.exit_code == 0, result.output
        assert "skipped 1" in result.output and "failed 0" in result.output
        assert "locked.mp3: the file is read-only; left as it is" in result.output
    assert digest(song) == before


def test_report_to_standard_output_is_json_lines_only(make_audio, tiny_model, state_dir):
    make_audio("lib/one.mp3")
    make_audio("lib/two.flac")
    result = CliRunner().invoke(main, ["scan", str(state_dir.parent / "lib"), "--model", str(tiny_model),
                                       "--state-dir", str(state_dir), "--report", "-"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(record["path"].rsplit("/", 1)[1] for record in records) == ["one.mp3", "two.flac"]
    assert all(record["status"] == "would-tag" and record["run_id"] == 1 and record["model_id"] for record in records)
    assert "would-tag: " in result.stderr and "scanned 2 files" in result.stderr


def test_a_moved_or_copied_library_is_not_analysed_again(make_audio, tiny_model, state_dir, tmp_path):
    import shutil

    for name in ("a.mp3", "b.flac", "c.ogg"):
        make_audio(f"music/{name}")
    first = scan(tmp_path / "music", "--model", tiny_model, "--state-dir", state_dir)
    assert first.exit_code == 0 and "from cache" not in first.output
    (tmp_path / "music").rename(tmp_path / "moved")
    shutil.copytree(tmp_path / "moved", tmp_path / "copied", copy_function=shutil.copyfile)  # new mtimes
    for folder in ("moved", "copied"):
        again = scan(tmp_path / folder, "--model", tiny_model, "--state-dir", state_dir)
        assert again.exit_code == 0 and ", 3 from cache:" in again.output, again.output


def test_tags_written_undone_or_edited_elsewhere_do_not_cost_a_new_analysis(make_audio, tiny_model, state_dir,
                                                                           tmp_path):
    """The cache knows a file by its audio: a write, an undo or another program's tag edit leaves it known."""
    for name in ("a.mp3", "b.flac", "c.ogg", "d.m4a"):
        make_audio(f"music/{name}")
    music = tmp_path / "music"
    written = scan(music, "--write-tags", "--model", tiny_model, "--state-dir", state_dir)
    assert written.exit_code == 0 and "tagged 4" in written.output, written.output
    assert CliRunner().invoke(main, ["undo", "--state-dir", str(state_dir)]).exit_code == 0
    after_undo = scan(music, "--model", tiny_model, "--state-dir", state_dir)
    assert after_undo.exit_code == 0 and "none analysed, 4 from cache" in after_undo.output, after_undo.output
    tags = ID3()
    tags.add(TIT2(encoding=3, text=["A title of some length"]))
    tags.save(str(music / "a.mp3"))  # another program's edit: the file grows
    edited = scan(music, "--model", tiny_model, "--state-dir", state_dir)
    assert edited.exit_code == 0 and "none analysed, 4 from cache" in edited.output, edited.output


def test_a_different_file_of_the_same_size_is_analysed(make_audio, tiny_model, state_dir, tmp_path):
    """Two WAVs of one length have one size; their content tells them apart."""
    first = make_audio("one/song.wav", frequencies=(220.0,))
    second = make_audio("two/song.wav", frequencies=(3000.0,))
    assert first.stat().st_size == second.stat().st_size
    assert scan(first.parent, "--model", tiny_model, "--state-dir", state_dir).exit_code == 0
    other = scan(second.parent, "--model", tiny_model, "--state-dir", state_dir)
    assert other.exit_code == 0 and "from cache" not in other.output


def test_a_state_database_of_a_newer_tagger_is_refused_in_one_line_and_never_changed(make_audio, tiny_model,
                                                                                        tmp_path):
    import sqlite3

    from tagger.state import SCHEMA_VERSION

    song = make_audio("lib/song.mp3")
    fresh = scan(song.parent, "--model", tiny_model, "--state-dir", tmp_path / "fresh")
    assert fresh.exit_code == 0
    versions = sqlite3.connect(tmp_path / "fresh" / "state.sqlite3").execute("PRAGMA user_version").fetchone()
    assert versions == (SCHEMA_VERSION,)
    newer = tmp_path / "newer" / "state.sqlite3"
    newer.parent.mkdir()
    database = sqlite3.connect(newer)
    database.execute("CREATE TABLE results (layout TEXT)")
    database.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    database.commit()
    database.close()
    before, audio = newer.read_bytes(), digest(song)
    written = scan(song.parent, "--write-tags", "--model", tiny_model, "--state-dir", newer.parent)
    assert written.exit_code == 1 and "Traceback" not in written.output
    assert f"written by a newer genre tagger (state version {SCHEMA_VERSION + 1}" in written.output
    dry = scan(song.parent, "--model", tiny_model, "--state-dir", newer.parent)
    assert dry.exit_code == 0 and "reading it only" in dry.output and "would-tag 1" in dry.output
    assert newer.read_bytes() == before and digest(song) == audio


def test_a_state_database_of_the_first_layout_keeps_its_cached_results(make_audio, tiny_model, tmp_path):
    """Version 1's cache compared a raw-byte ``fingerprint``: its rows are migrated and serve their paths."""
    import sqlite3

    from tagger.state import SCHEMA_VERSION

    song = make_audio("lib/song.mp3")
    assert scan(song.parent, "--model", tiny_model, "--state-dir", tmp_path).exit_code == 0
    database = sqlite3.connect(tmp_path / "state.sqlite3")
    database.execute("ALTER TABLE results RENAME COLUMN content_identity TO fingerprint")
    database.execute("PRAGMA user_version=1")
    database.commit()
    database.close()
    again = scan(song, "--model", tiny_model, "--state-dir", tmp_path, "-v")
    assert again.exit_code == 0 and "from cache" in again.output, again.output
    database = sqlite3.connect(tmp_path / "state.sqlite3")
    assert database.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert "content_identity" in {row[1] for row in database.execute("PRAGMA table_info(results)")}


def test_below_min_confidence_nothing_is_written_and_the_file_is_uncertain(make_audio, tiny_model, state_dir):
    song = make_audio("lib/song.mp3")
    before = digest(song)
    unsure = scan(song, "--write-tags", "--min-confidence", "1.0", "--model", tiny_model, "--state-dir", state_dir,
                  "-v")
    assert unsure.exit_code == 0, unsure.output
    assert "uncertain 1" in unsure.output and "is below --min-confidence 1" in unsure.output
    assert digest(song) == before
    quiet = scan(song, "--min-confidence", "1.0", "--model", tiny_model, "--state-dir", state_dir)
    assert "1 file(s) uncertain" in quiet.output and "-v names each" in quiet.output, quiet.output
    predicted = CliRunner().invoke(main, ["predict", str(song), "--model", str(tiny_model), "--min-confidence", "1"])
    assert re.search(r"uncertain: top genre \S+ at 0\.\d\d is below --min-confidence 1; a scan writes nothing",
                     predicted.output), predicted.output
    sure = scan(song, "--write-tags", "--min-confidence", "0", "--model", tiny_model, "--state-dir", state_dir)
    assert sure.exit_code == 0 and "tagged 1" in sure.output


def test_a_separator_writes_one_joined_value_and_splits_joined_values_when_reading(make_audio, tiny_model,
                                                                                   state_dir):
    from mutagen.flac import FLAC

    mp3, flac = make_audio("lib/song.mp3"), make_audio("lib/song.flac")
    common = ["--write-tags", "--top-k", "2", "--threshold", "0", "--model", tiny_model, "--state-dir", state_dir]
    written = scan(mp3.parent, *common, "--separator", " / ")
    assert written.exit_code == 0 and "tagged 2" in written.output, written.output
    (value,) = ID3(str(mp3))["TCON"].text
    assert value.count(" / ") == 1 and FLAC(str(flac))["genre"] == [value]
    # The joined value is read as two genres: merging the same two changes nothing.
    again = scan(mp3.parent, *common, "--separator", "/", "--mode", "merge", "--force")
    assert again.exit_code == 0 and "unchanged 2" in again.output, again.output


def test_genres_joined_by_semicolons_in_an_id3v23_tag_are_undone_exactly(make_audio, tiny_model, state_dir):
    # ID3v2.3 reads "A; B" back as two genres: the journal must still see what it wrote
    song = make_audio("lib/song.mp3")
    add_id3(song, 3, genre=None)
    before = digest(song)
    written = scan(song, "--write-tags", "--separator", "; ", "--top-k", "2", "--threshold", "0", "--model",
                   tiny_model, "--state-dir", state_dir, "--min-confidence", "0")
    assert "tagged 1" in written.output, written.output
    undone = CliRunner().invoke(main, ["undo", "--state-dir", str(state_dir)])
    assert undone.exit_code == 0, undone.output
    assert digest(song) == before


@pytest.mark.parametrize(("values", "separator", "genres"), [
    (["Rock; Jazz", "Blues"], "; ", ["Rock", "Jazz", "Blues"]),
    (["Rock;Jazz"], "; ", ["Rock", "Jazz"]),
    (["Rock; Jazz"], None, ["Rock; Jazz"]),
    ([" ; Rock ;"], ";", ["Rock"]),
])
def test_tag_values_split_on_the_separator(values, separator, genres):
    from tagger.genres import join_values, split_values

    assert split_values(values, separator) == genres
    assert split_values(join_values(genres, separator), separator) == genres


def test_mistakes_about_the_state_directory_runs_and_report_are_one_line_errors(make_audio, tiny_model, tmp_path):
    song = make_audio("lib/song.mp3")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    unopenable = scan(song, "--write-tags", "--model", tiny_model, "--state-dir", blocked / "state")
    assert unopenable.exit_code == 1 and "cannot open the state directory" in unopenable.output
    assert "Traceback" not in unopenable.output
    nowhere = scan(song, "--model", tiny_model, "--state-dir", tmp_path / "state", "--report",
                   tmp_path / "missing" / "report.json")
    assert nowhere.exit_code == 2 and "no directory" in nowhere.output
    unknown = CliRunner().invoke(main, ["undo", "999", "--state-dir", str(tmp_path / "state")])
    assert unknown.exit_code == 2 and "there is no run 999" in unknown.output


def test_undo_twice_and_undo_of_an_undone_run_answer_alike(make_audio, tiny_model, state_dir):
    song = make_audio("lib/song.mp3")
    undo = ["undo", "--state-dir", str(state_dir)]
    nothing_yet = CliRunner().invoke(main, undo)
    assert nothing_yet.exit_code == 0 and "nothing to undo: no run has changed tags yet" in nothing_yet.output
    assert scan(song, "--model", tiny_model, "--state-dir", state_dir).exit_code == 0  # run 1: a dry run
    assert scan(song, "--write-tags", "--model", tiny_model, "--state-dir", state_dir).exit_code == 0  # run 2
    assert CliRunner().invoke(main, undo).exit_code == 0
    again, named = CliRunner().invoke(main, undo), CliRunner().invoke(main, [*undo, "2"])
    assert again.exit_code == named.exit_code == 0 and again.output == named.output
    assert "nothing to undo: run 2's changes were undone already" in again.output
    dry = CliRunner().invoke(main, [*undo, "1"])
    assert dry.exit_code == 0 and "nothing to undo: run 1 changed no tags" in dry.output


def test_fill_empty_analyses_only_the_files_without_genres(make_audio, tiny_model, tmp_path):
    """The plan comes before any decoding: in a curated library, the files with genres of their own are
    kept without being analysed, in a dry run and with --write-tags; --analyse-all gives their scores too."""
    root = tmp_path / "curated"
    for index in range(6):
        song = make_audio(f"curated/tagged{index}.mp3", seconds=3, seed=index)
        add_id3(song, 4, genre="Shoegaze")
    placeholder = make_audio("curated/placeholder.mp3", seconds=3)
    add_id3(placeholder, 3, genre="Unknown")  # a placeholder is no genre: analysed
    bare = make_audio("curated/bare.mp3", seconds=3)
    report = tmp_path / "report.json"
    for extra in ([], ["--write-tags"]):
        state = tmp_path / f"state{len(extra)}"
        result = scan(root, "--model", tiny_model, "--state-dir", state, "--jobs", "1", "--min-confidence", "0",
                      "--report", report, *extra)
        assert result.exit_code == 0, result.output
        records = {Path(record["path"]).name: record for record in json.loads(report.read_text())}
        assert sorted(name for name, record in records.items() if record["analysed"]) == [bare.name,
                                                                                         placeholder.name]
        assert all(records[f"tagged{index}.mp3"]["status"] == "kept" for index in range(6))
        assert "2 analysed" in result.output and "kept 6" in result.output
    result = scan(root, "--model", tiny_model, "--state-dir", tmp_path / "state-all", "--jobs", "1",
                  "--analyse-all", "--report", report)
    records = json.loads(report.read_text())
    assert all(record["analysed"] and set(record["scores"]) == set(LABELS) for record in records)
    assert "8 analysed" in result.output


def test_scan_help_names_the_formats_exit_statuses_and_where_the_state_is(tmp_path, monkeypatch):
    from tagger.exit_status import ExitStatus
    from tagger.formats import FORMATS

    monkeypatch.setenv("TAGGER_STATE_DIR", str(tmp_path / "my-state"))
    shown = CliRunner().invoke(main, ["scan", "--help"], terminal_width=200)
    assert shown.exit_code == 0
    for audio_format in FORMATS:
        assert all(suffix in shown.output for suffix in audio_format.suffixes), audio_format.name
    for status in ExitStatus:
        assert f"  {int(status)}  " in shown.output and status.meaning in shown.output
    assert str(tmp_path / "my-state") in shown.output and "TAGGER_CONFIG" in shown.output
    assert "Worker processes" in shown.output  # --jobs says what it is


def test_the_readme_table_lists_every_option_of_scan():
    from tagger.cli import scan as scan_command

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    table = readme[readme.index("Options of `tagger scan`:"):readme.index("On a terminal a progress bar")]
    for parameter in scan_command.params:
        if isinstance(parameter, click.Option) and parameter.name != "help":
            assert f"`{parameter.opts[-1]}" in table, parameter.opts
