"""The beets plugin `audiogenre`, through the real `beet` command on a library of its own: genres on import,
a user's curated genres kept, the command's modes, undo, and a file that cannot be analysed."""

import os
import subprocess
import sys

import pytest
from mutagen.id3 import ID3

from tests.conftest import LABELS
from tests.tagtools import add_id3

pytest.importorskip("beets")

MODEL_GENRES = {label.capitalize() for label in LABELS}  # the tiny model's genre names


@pytest.fixture
def beet(tmp_path, tiny_model):
    """beet(*arguments) -> CompletedProcess, with a configuration and a library under this test's folder."""
    return beet_with(tmp_path, tiny_model)


def beet_with(tmp_path, model):
    """The ``beet`` of a library under ``tmp_path`` whose plugin uses ``model``."""
    config = tmp_path / "beets"
    config.mkdir()
    (config / "config.yaml").write_text(
        f"directory: {tmp_path / 'music'}\n"
        f"library: {tmp_path / 'library.db'}\n"
        "plugins: [audiogenre]\n"
        "threaded: no\n"
        "import: {write: yes, copy: no, move: no, autotag: no, log: null}\n"
        f"audiogenre: {{model: '{model}', min_confidence: 0}}\n"
    )
    environment = {**os.environ, "BEETSDIR": str(config), "HOME": str(tmp_path)}

    def run(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "beets", *arguments], env=environment, capture_output=True,
                              text=True, timeout=120, check=False)

    return run


def library_genres(beet) -> dict[str, tuple[str, str]]:
    """File name -> (genres as beets lists them, the recorded previous genres or '' when none)."""
    listed = beet("ls", "-f", "$path|$genres|%ifdef{audiogenre_previous,$audiogenre_previous,}")
    assert listed.returncode == 0, listed.stderr
    rows = (line.split("|") for line in listed.stdout.splitlines())
    return {os.path.basename(path): (genres, previous) for path, genres, previous in rows}


def file_genres(path) -> list[str]:
    tags = ID3(path)
    return list(tags["TCON"].text) if "TCON" in tags else []


@pytest.fixture
def library(make_audio, beet):
    """Two imported MP3s: one without a genre, one whose owner chose "Shoegaze"."""
    plain = make_audio("in/plain.mp3")
    curated = make_audio("in/curated.mp3", frequencies=(330.0, 660.0))
    add_id3(curated, 4, genre="Shoegaze")
    imported = beet("import", "-q", str(plain.parent))
    assert imported.returncode == 0, imported.stderr
    return plain, curated


def test_imported_items_get_genres_from_their_audio_and_curated_genres_are_kept(library, beet):
    genres = library_genres(beet)
    plain_genres, plain_previous = genres["plain.mp3"]
    assert plain_genres and set(plain_genres.split("; ")) <= MODEL_GENRES
    assert plain_previous == "[]"
    assert genres["curated.mp3"] == ("Shoegaze", "")


def test_the_command_replaces_writes_the_files_and_undo_puts_everything_back(library, beet):
    plain, curated = library
    pretend = beet("audiogenre", "--pretend", "--mode", "replace")
    assert pretend.returncode == 0 and "curated.mp3" in pretend.stderr + pretend.stdout
    assert library_genres(beet)["curated.mp3"] == ("Shoegaze", "")
    assert file_genres(curated) == ["Shoegaze"]

    replaced = beet("audiogenre", "--mode", "replace")
    assert replaced.returncode == 0, replaced.stderr
    genres, previous = library_genres(beet)["curated.mp3"]
    assert set(genres.split("; ")) <= MODEL_GENRES and previous == '["Shoegaze"]'
    assert file_genres(curated) == genres.split("; ")  # import.write: beets wrote the file

    undone = beet("audiogenre", "--undo")
    assert undone.returncode == 0, undone.stderr
    assert library_genres(beet) == {"curated.mp3": ("Shoegaze", ""), "plain.mp3": ("", "")}
    assert file_genres(curated) == ["Shoegaze"] and file_genres(plain) == []


def test_a_file_that_cannot_be_analysed_is_reported_and_the_others_go_on(library, beet):
    plain, _ = library
    beet("audiogenre", "--undo")
    plain.unlink()
    tagged = beet("audiogenre", "--mode", "replace")
    assert tagged.returncode == 0, tagged.stderr
    output = tagged.stdout + tagged.stderr
    assert f"{plain}: cannot read file" in output
    genres = library_genres(beet)
    assert genres["plain.mp3"] == ("", "")
    assert set(genres["curated.mp3"][0].split("; ")) <= MODEL_GENRES


def test_a_model_that_cannot_be_loaded_is_one_line_from_beets_not_a_traceback(library, beet, tmp_path, tiny_model):
    config = tmp_path / "beets" / "config.yaml"
    config.write_text(config.read_text().replace(str(tiny_model), str(tmp_path / "missing.onnx")))
    nothing_to_hear = beet("audiogenre")  # fill-empty, and every item has genres: no model is needed
    assert nothing_to_hear.returncode == 0, nothing_to_hear.stderr
    failed = beet("audiogenre", "--mode", "replace")
    assert failed.returncode != 0
    assert "error: audiogenre: no model file" in failed.stderr and "Traceback" not in failed.stderr
    assert library_genres(beet)["curated.mp3"] == ("Shoegaze", "")


def test_undo_goes_back_to_the_owners_genres_after_two_changes_and_never_over_a_later_edit(library, beet, tmp_path):
    plain, _ = library
    assert beet("audiogenre", "--mode", "replace").returncode == 0
    config = tmp_path / "beets" / "config.yaml"
    renamed = "map: {Blues: Delta Blues, Jazz: Cool Jazz, Rock: Krautrock}"
    config.write_text(config.read_text().replace("min_confidence: 0}", f"min_confidence: 0, {renamed}}}"))
    assert beet("audiogenre", "--mode", "replace").returncode == 0
    genres, previous = library_genres(beet)["curated.mp3"]
    assert set(genres.split("; ")) <= {"Delta Blues", "Cool Jazz", "Krautrock"} and previous == '["Shoegaze"]'
    assert beet("modify", "-y", "genres=Dub", f"path:{plain}").returncode == 0  # the owner's own later choice
    undone = beet("audiogenre", "--undo")
    assert undone.returncode == 0 and "genres changed since audiogenre set them" in undone.stdout + undone.stderr
    assert library_genres(beet) == {"curated.mp3": ("Shoegaze", ""), "plain.mp3": ("Dub", "[]")}
