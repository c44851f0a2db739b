"""The settings file: its values become the defaults, flags override them, the user's genre names and
allow-list decide what is written, exclude patterns keep paths out, and a bad file is a clear usage error."""

import json

from click.testing import CliRunner
from mutagen.id3 import ID3

from tagger.cli import main
from tests.conftest import LABELS
from tests.tagtools import add_id3


def write_settings(path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def scan(*arguments):
    return CliRunner().invoke(main, ["scan", *map(str, arguments)], catch_exceptions=False)


def test_settings_are_defaults_and_flags_override_them(no_user_settings, make_audio, tiny_model, state_dir):
    write_settings(no_user_settings, 'mode = "merge"\ntop_k = 1\n')
    song = make_audio("lib/song.mp3")
    add_id3(song, 4, genre="Shoegaze")
    merged = scan(song, "--write-tags", "--model", tiny_model, "--state-dir", state_dir)
    assert merged.exit_code == 0, merged.output
    text = ID3(str(song))["TCON"].text
    assert text[0] == "Shoegaze" and len(text) == 2  # merge, one predicted genre: from the file
    replaced = scan(song, "--write-tags", "--mode", "replace", "--model", tiny_model, "--state-dir", state_dir)
    assert replaced.exit_code == 0 and len(ID3(str(song))["TCON"].text) == 1  # the flag wins


def test_the_users_genre_names_and_allow_list_decide_what_is_written(no_user_settings, make_audio, tiny_model,
                                                                    state_dir):
    renamed = {label.title(): f"My {label}" for label in LABELS}
    write_settings(no_user_settings, "[genres]\nmap = " + "{ " + ", ".join(
        f'"{model}" = "{mine}"' for model, mine in renamed.items()) + " }\n")
    song = make_audio("lib/song.flac")
    result = scan(song.parent, "--model", tiny_model, "--state-dir", state_dir, "--report", "-")
    assert result.exit_code == 0, result.output
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["genres"] and set(record["genres"]) <= set(renamed.values())

    write_settings(no_user_settings, '[genres]\nallow = ["Polka"]\n')
    dropped = scan(song.parent, "--model", tiny_model, "--state-dir", state_dir, "-v")
    assert dropped.exit_code == 0 and "skipped 1" in dropped.output
    assert "your settings (genres.map, genres.allow) drop every genre chosen" in dropped.output
    predicted = CliRunner().invoke(main, ["predict", str(song), "--model", str(tiny_model), "--json"])
    assert json.loads(predicted.output)[0]["would_write"] == []


def test_exclude_patterns_keep_paths_out(no_user_settings, make_audio, tiny_model, state_dir):
    make_audio("lib/music/song.mp3")
    make_audio("lib/Podcasts/episode.mp3")
    write_settings(no_user_settings, 'exclude = ["*/Podcasts/*"]\n')
    result = scan(state_dir.parent / "lib", "--model", tiny_model, "--state-dir", state_dir)
    assert result.exit_code == 0 and "scanned 1 file in" in result.output
    flagged = scan(state_dir.parent / "lib", "--model", tiny_model, "--state-dir", state_dir, "--exclude", "*.mp3")
    assert "no audio files found" in flagged.output  # the flag replaces the file's patterns


def test_a_bad_settings_file_is_a_usage_error_naming_it(no_user_settings, tiny_model):
    for text, message in (('mode = "sideways"\n', "mode must be one of"), ("colour = 3\n", "unknown setting 'colour'"),
                          ("top_k = true\n", "top_k must be a whole number from 1"), ("mode = [\n", "cannot read")):
        write_settings(no_user_settings, text)
        result = CliRunner().invoke(main, ["info", "--model", str(tiny_model)])
        assert result.exit_code == 2 and message in result.output and str(no_user_settings) in result.output


def test_config_shows_each_setting_and_where_it_came_from(no_user_settings):
    absent = CliRunner().invoke(main, ["config"])
    assert absent.exit_code == 0 and "not found: built-in defaults apply" in absent.output
    assert "fill-empty" in absent.output and "(settings file)" not in absent.output
    write_settings(no_user_settings, 'top_k = 3\n[genres]\nmap = { "Hip-Hop" = "Rap" }\nallow = ["Rap", "Rock"]\n')
    shown = CliRunner().invoke(main, ["config"]).output
    rows = {line.split()[0]: line.split(maxsplit=1)[1] for line in shown.splitlines()[1:]}
    assert rows["top_k"].split() == ["3", "(settings", "file)"]
    assert rows["mode"].split() == ["fill-empty", "(default)"]
    assert rows["min_confidence"].startswith("the model's")  # a model records its own default
    assert "Hip-Hop -> Rap" in shown and "Rap, Rock" in shown
