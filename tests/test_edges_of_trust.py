"""The edges where trust broke: a report path that names a file of the user's, text from files that
reaches the terminal, special files, names near the length limit, a closed pipe, no home directory, Ctrl-C
while the library is being walked, and settings values no option could take."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from mutagen.apev2 import BINARY, EXTERNAL, APEv2, APEValue
from mutagen.id3 import ID3, TCON

from tagger import scan_session
from tagger.cli import main
from tagger.printable import printable
from tests.conftest import tone, write_audio
from tests.tagtools import add_id3, digest

ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202e"


def scan(*arguments, env=None):
    return CliRunner().invoke(main, ["scan", *map(str, arguments)], env=env)


def _common(tiny_model, state):
    return ["--model", tiny_model, "--state-dir", state, "--min-confidence", "0", "--jobs", "1"]


def no_raw_controls(text: str) -> bool:
    return not any(character in text for character in "\x1b\x07\x9b\u202e")


# Reports ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["report.json", "report.csv"])
def test_a_report_path_that_holds_an_audio_file_or_other_data_is_refused_and_left_alone(make_audio, tiny_model,
                                                                                       tmp_path, name):
    song = make_audio("lib/song.mp3")
    taken = tmp_path / name
    taken.write_bytes(song.read_bytes())  # an audio file under a report's name
    link = tmp_path / f"link-{name}"
    link.symlink_to(song)  # a report path that points at a song of the library
    data = tmp_path / f"data-{name}"
    data.write_text('[{"a": 1}]\n' if name.endswith(".json") else "title,artist\nx,y\n")
    for target in (taken, link, data):
        before = digest(target.resolve())
        result = scan(song.parent, *_common(tiny_model, tmp_path / "state"), "--report", target)
        assert result.exit_code == 2, result.output
        assert "--report" in result.output
        assert "left alone" in result.output or "is not a regular file" in result.output
        assert digest(target.resolve()) == before
    assert link.is_symlink() and digest(song) == digest(taken)


@pytest.mark.parametrize("name", ["report.json", "report.csv"])
def test_a_report_of_ours_is_replaced_whole(make_audio, tiny_model, tmp_path, name):
    song = make_audio("lib/song.mp3")
    report = tmp_path / name
    assert scan(song.parent, *_common(tiny_model, tmp_path / "state"), "--report", report).exit_code == 0
    make_audio("lib/other.mp3")
    result = scan(song.parent, *_common(tiny_model, tmp_path / "state"), "--report", report)
    assert result.exit_code == 0, result.output
    text = report.read_text()
    assert "other.mp3" in text and "song.mp3" in text
    if name.endswith(".json"):
        assert len(json.loads(text)) == 2
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_file()) == [name]  # no copy left


def test_outputs_inside_the_scanned_folder_are_announced(make_audio, tiny_model):
    song = make_audio("lib/song.mp3")
    report, state = song.parent / "report.json", song.parent / ".state"
    result = scan(song.parent, *_common(tiny_model, state), "--report", report)
    assert result.exit_code == 0, result.output
    assert "note: the report" in result.output and "inside the scanned folder" in result.output
    assert "note: the state directory" in result.output


# Text from files on the terminal ---------------------------------------------------------------------


def test_printable_escapes_controls_line_breaks_bidi_overrides_and_undecodable_bytes():
    assert printable("a\x1b[2Jb\nc\td\x7f\x9b\u202e") == "a\\x1b[2Jb\\x0ac\\x09d\\x7f\\x9b\\u202e"
    assert printable(os.fsdecode(b"caf\xe9.mp3")) == "caf\\xe9.mp3"
    assert printable("Ørjan — Señor 東京") == "Ørjan — Señor 東京"


def test_escape_sequences_in_names_and_tags_never_reach_the_terminal(make_audio, tiny_model, tmp_path):
    song = make_audio(f"lib/evil{ESCAPES}.mp3")
    tagged = make_audio("lib/tagged.mp3")
    tags = ID3()
    tags.add(TCON(encoding=3, text=[f"Rock{ESCAPES}"]))
    tags.save(str(tagged))
    state = tmp_path / "state"
    outputs = [scan(song.parent, *_common(tiny_model, state), "--mode", "merge", "-v", "--write-tags")]
    outputs.append(CliRunner().invoke(main, ["undo", "--list", "--state-dir", str(state)]))
    song.write_bytes(tagged.read_bytes())  # other audio now: undo refuses it, naming the file
    outputs.append(CliRunner().invoke(main, ["undo", "--state-dir", str(state)]))
    outputs.append(CliRunner().invoke(main, ["predict", str(song), "--model", str(tiny_model)]))
    for result in outputs:
        assert no_raw_controls(result.output), repr(result.output)
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202e.mp3" in outputs[0].output
    assert "Rock\\x1b]0;pwned" in outputs[0].output
    assert "\\x1b" in outputs[2].output and "\\x1b" in outputs[3].output


def test_the_settings_shown_by_config_are_escaped(no_user_settings):
    no_user_settings.parent.mkdir(parents=True, exist_ok=True)
    no_user_settings.write_text('[genres]\nmap = { "Hip-Hop" = "Rap\\u001b[2J" }\n')
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0, result.output
    assert no_raw_controls(result.output) and "Rap\\x1b[2J" in result.output


# Special files and long names --------------------------------------------------------------------------


def test_fifos_sockets_and_devices_are_reported_and_never_opened(make_audio, tiny_model, tmp_path):
    song = make_audio("lib/song.mp3")
    os.mkfifo(song.parent / "pipe.mp3")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(song.parent / "socket.flac"))
    (song.parent / "device.ogg").symlink_to("/dev/zero")
    command = [sys.executable, "-m", "tagger", "scan", str(song.parent), str(song.parent / "pipe.mp3"),
               *map(str, _common(tiny_model, tmp_path / "state"))]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    finally:
        server.close()
    assert result.returncode == 1, result.stderr
    assert "pipe.mp3: not a regular file but a named pipe (FIFO); not opened" in result.stderr
    assert "socket.flac: not a regular file but a socket" in result.stderr
    assert "device.ogg: not a regular file but a character device" in result.stderr
    assert "would-tag 1" in result.stderr and "failed 3" in result.stderr  # the FIFO named twice is once


def test_a_path_on_the_command_line_that_is_not_audio_says_what_it_is(tiny_model, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    result = scan(notes, *_common(tiny_model, tmp_path / "state"))
    assert "notes.txt: not an audio file this tagger knows (by its suffix .txt)" in result.output
    assert result.exit_code == 1, result.output


def test_a_name_at_the_length_limit_is_tagged_and_undone(make_audio, tiny_model, tmp_path):
    stem = "é" * 124 + "x"  # 249 bytes in UTF-8, 253 with the suffix: the copy's name must be shorter
    song = make_audio(f"lib/{stem}.mp3")
    add_id3(song, 4)
    before = digest(song)
    state = tmp_path / "state"
    result = scan(song.parent, *_common(tiny_model, state), "--mode", "replace", "--write-tags")
    assert result.exit_code == 0 and "tagged 1" in result.output, result.output
    assert CliRunner().invoke(main, ["undo", "--state-dir", str(state)]).exit_code == 0
    assert digest(song) == before


# How a run ends ------------------------------------------------------------------------------------


def test_a_closed_pipe_ends_the_run_quietly_with_the_summary_on_standard_error(make_audio, tiny_model, tmp_path):
    for index in range(4):
        make_audio(f"lib/song{index}.mp3", seconds=3)
    command = [sys.executable, "-m", "tagger", "scan", str(tmp_path / "lib"), *map(str, _common(tiny_model,
                                                                                             tmp_path / "state"))]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()  # read one line, then go away, as `head -1` does
    process.stdout.close()
    errors = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141, errors
    assert first.startswith(b"would-tag:")
    assert "Traceback" not in errors and "BrokenPipeError" not in errors
    assert "scanned " in errors and "standard output was closed" in errors


def test_no_home_directory_is_one_line(make_audio, tiny_model, monkeypatch):
    song = make_audio("lib/song.mp3")

    def no_home(cls=None):
        raise RuntimeError("Could not determine home directory.")

    for variable in ("HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "TAGGER_STATE_DIR", "TAGGER_CONFIG"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(Path, "home", classmethod(no_home))
    result = CliRunner().invoke(main, ["scan", str(song.parent), "--model", str(tiny_model)])
    assert result.exit_code == 1 and not isinstance(result.exception, RuntimeError), result.output
    assert "no home directory" in result.output and "--state-dir" in result.output
    config = CliRunner().invoke(main, ["config"])
    assert config.exit_code == 0 and "not found" in config.output, config.output


def test_ctrl_c_while_the_library_is_walked_is_one_line(make_audio, tiny_model, tmp_path, monkeypatch):
    song = make_audio("lib/song.mp3")

    def interrupted_walk(*arguments, **options):
        yield song
        raise KeyboardInterrupt

    monkeypatch.setattr(scan_session, "discover", interrupted_walk)
    result = scan(song.parent, *_common(tiny_model, tmp_path / "state"))
    assert result.exit_code == 130, result.output
    assert "interrupted while looking for audio files" in result.output
    assert not isinstance(result.exception, KeyboardInterrupt)


@pytest.mark.parametrize(("setting", "message"), [
    ("jobs = 9223372036854775807", "jobs must be a whole number from 1 to 256"),
    ("windows = 0", "windows must be a whole number from 1 to 2000"),
    ("threshold = nan", "threshold must be a number from 0 to 1"),
    ("min_confidence = inf", "min_confidence must be a number from 0 to 1"),
    ("top_k = 0", "top_k must be a whole number from 1"),
    ("exclude = 3", "exclude must be a list of glob patterns"),
    ("mode = \"sideways\"", "mode must be one of replace, merge, fill-empty"),
    ("model = 3", "model must be a model's name or an ONNX file"),
])
def test_settings_no_option_could_take_are_one_line(make_audio, tiny_model, tmp_path, no_user_settings, setting,
                                                      message):
    song = make_audio("lib/song.mp3")
    no_user_settings.parent.mkdir(parents=True, exist_ok=True)
    no_user_settings.write_text(setting + "\n")
    result = scan(song.parent, "--model", tiny_model, "--state-dir", tmp_path / "state")
    assert result.exit_code == 2, result.output
    assert message in result.output and str(no_user_settings) in result.output  # checked as the file is read
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("kind", ["binary", "external"])
def test_an_apev2_genre_item_that_holds_no_text_is_skipped_with_its_reason(tmp_path, tiny_model, kind):
    song = write_audio(tmp_path / "lib" / "song.wv", tone(6), 22_050)
    tags = APEv2()
    tags["Genre"] = APEValue(b"\x00\x01data", BINARY) if kind == "binary" else APEValue("http://x/genre", EXTERNAL)
    tags["Title"] = "A title"
    tags.save(str(song))
    before = digest(song)
    for mode in ("fill-empty", "replace"):
        result = scan(song.parent, *_common(tiny_model, tmp_path / "state"), "--mode", mode, "--write-tags")
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        assert "skipped 1" in result.output and "not text" in result.output, result.output
    assert digest(song) == before
