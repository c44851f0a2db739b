"""`tagger learn`: the user's own genres from their tags, learned on the default model's embedding without torch,
written as a model file that `tagger scan`, `predict` and `info` take like any other."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mutagen
import numpy as np
import pytest
from click.testing import CliRunner

from tagger import tags
from tagger.cli import main
from tagger.formats import handler_for
from tagger.learning import embeddings
from tagger.learning.head import Examples, cross_validate, group_folds
from tagger.learning.labels import choose_labels, read_tagged
from tagger.model import EMBEDDING_OUTPUT, GenreModel
from tagger.state import StateStore
from tagger.tags import credits
from tagger.vocabulary import GenreVocabulary
from tests.conftest import write_audio

pytest.importorskip("sklearn")
pytest.importorskip("onnx")

RATE = 22_050
SUFFIXES = (".mp3", ".flac", ".ogg", ".m4a")
ALBUM_FIELD = {".mp3": None, ".flac": "album", ".ogg": "album", ".m4a": "\xa9alb"}


def drone(seed: int, seconds: float = 7.0) -> np.ndarray:
    """Low sustained partials: one made-up genre."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    base = rng.uniform(90, 160)
    return (0.3 * np.sin(2 * np.pi * base * t) + 0.2 * np.sin(2 * np.pi * 2 * base * t)).astype(np.float32)


def clatter(seed: int, seconds: float = 7.0) -> np.ndarray:
    """Bursts of noise on a fast beat: another."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    beat = (np.arange(n) % int(RATE / rng.uniform(3, 5))) < RATE // 40
    return (0.5 * rng.standard_normal(n) * beat).astype(np.float32)


def tagged_file(path: Path, samples: np.ndarray, genres: list[str], album: str = "", artist: str = "") -> Path:
    """An encoded file with genre tags written by the tagger's own handlers, and album and artist tags."""
    write_audio(path, samples, RATE)
    tags.write_genres(path, handler_for(path), genres)
    if album or artist:
        audio = mutagen.File(str(path), easy=path.suffix == ".mp3")
        if path.suffix == ".mp3":
            audio["album"], audio["artist"] = album, artist
        else:
            audio[ALBUM_FIELD[path.suffix]] = album
            audio["\xa9ART" if path.suffix == ".m4a" else "artist"] = artist
        audio.save()
    return path


def make_library(root: Path) -> list[Path]:
    """Eight tracks of "Drone" (one spelt "drone"), eight of "Noise Rock" (one spelt "noise-rock") on four
    albums each, in four formats, and three of "Polka": too few to learn."""
    files = []
    for index in range(8):
        suffix = SUFFIXES[index % len(SUFFIXES)]
        files.append(tagged_file(root / f"drone{index}{suffix}", drone(index), ["drone" if index == 3 else "Drone"],
                                 album=f"Hum {index // 2}", artist="The Hummers"))
        files.append(tagged_file(root / f"clatter{index}{suffix}", clatter(index),
                                 ["noise-rock" if index == 5 else "Noise Rock"], album=f"Bang {index // 2}",
                                 artist="Bangers"))
    files += [tagged_file(root / f"polka{index}.mp3", drone(50 + index), ["Polka"]) for index in range(3)]
    return files


def learn(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["learn", *arguments])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    """A library, the model learned from it with the default model's embedding, and the run's output."""
    root = tmp_path_factory.mktemp("learn")
    make_library(root / "library")
    code, output = learn(str(root / "library"), "--out", str(root / "mine.onnx"), "--windows", "2", "--jobs", "2",
                         "--state-dir", str(root / "state"))
    assert code == 0, output
    return root, output


def test_genres_are_read_as_the_scan_reads_them(tmp_path):
    samples = drone(0, seconds=1.0)
    files = [tagged_file(tmp_path / "a.mp3", samples, ["Hip Hop"]),
             tagged_file(tmp_path / "b.flac", samples, ["hip-hop"]),
             tagged_file(tmp_path / "c.ogg", samples, ["Hip Hop; Trip-Hop"]),
             tagged_file(tmp_path / "d.m4a", samples, ["Other"]),  # a placeholder is no genre
             tagged_file(tmp_path / "e.mp3", samples, ["Rhythm and Blues"])]  # an alias of R&B
    write_audio(tmp_path / "f.wav", samples, RATE)  # no genre tag at all

    reading = read_tagged([*files, tmp_path / "f.wav"], GenreVocabulary({"Hip-Hop": "Rap"}), "; ", "track")
    labels = choose_labels(reading.tagged, min_tracks=2)

    assert reading.untagged == 2 and not reading.errors
    assert [file.genres for file in reading.tagged] == [("Rap",), ("Rap",), ("Rap", "Trip-Hop"), ("Rhythm and Blues",)]
    assert labels.names == ["Rap"] and labels.dropped == {"Rhythm and Blues": 1, "Trip-Hop": 1}
    assert [file.genres for file in labels.tracks] == [("Rap",)] * 3


def test_the_trainer_reads_tags_as_learn_does(tmp_path):
    from trainer.data.sources import from_tags

    samples = drone(0, seconds=1.0)
    for index, genres in enumerate([["Hip Hop"], ["hip-hop"], ["Hip Hop", "Jazz"], ["Other"]]):
        tagged_file(tmp_path / f"{index}.flac", samples, genres)
    dataset = from_tags(tmp_path)
    assert sorted(track.labels for track in dataset.tracks) == [("hip hop",), ("hip hop",), ("hip hop", "jazz")]


def test_the_most_frequent_spelling_names_a_genre(tmp_path):
    samples = drone(0, seconds=1.0)
    files = [tagged_file(tmp_path / f"{index}.mp3", samples, [name])
             for index, name in enumerate(["post rock", "Post-Rock", "Post-Rock", "POST ROCK"])]
    assert choose_labels(read_tagged(files, GenreVocabulary(), None, "track").tagged, 2).names == ["Post-Rock"]


def test_an_album_is_one_group_in_every_format_and_folds_keep_it_on_one_side(tmp_path):
    samples = drone(0, seconds=1.0)
    files = [tagged_file(tmp_path / f"{index}{suffix}", samples, ["Drone"], album="Same Album", artist="Someone")
             for index, suffix in enumerate(SUFFIXES)]
    assert len({credits.album_group(path) for path in files}) == 1
    assert credits.album_group(write_audio(tmp_path / "bare.flac", samples, RATE)) == ""

    groups = np.array([f"album:{index // 3}" for index in range(30)])
    targets = np.eye(3)[np.arange(30) % 3]
    examples = Examples(np.zeros((30, 4)), targets, np.arange(30), groups)
    folds = group_folds(examples, 5, seed=0)
    assert len(folds) == 5
    held_out = np.concatenate([test for _, test in folds])
    assert sorted(held_out) == list(range(30))  # every track held out once
    for training, test in folds:
        assert not set(groups[training]) & set(groups[test])


def test_a_genre_on_one_album_is_held_out_whole_and_the_folds_still_fit():
    rng = np.random.default_rng(0)
    genre = np.repeat([0, 1, 2], 8)
    embeddings = rng.standard_normal((24, 6)) + 3 * np.eye(6)[genre]  # [tracks, width]: one window a track
    groups = np.array(["album:only"] * 8 + [f"album:{index // 2}" for index in range(16)])
    examples = Examples(embeddings, np.eye(3)[genre], np.arange(24), groups)
    validation = cross_validate(examples)
    assert validation.folds == 5 and np.allclose(validation.probabilities.sum(axis=1), 1)
    assert (validation.probabilities[:8].argmax(axis=1) != 0).all()  # never heard: never its genre
    assert (validation.probabilities[8:].argmax(axis=1) == genre[8:]).mean() > 0.8


def test_learn_prints_what_to_expect_then_writes_a_model_the_tagger_takes(learned, tmp_path):
    root, output = learned
    assert "not learned (fewer than 8 tracks each): Polka (3)" in output
    assert "learning Drone (8), Noise Rock (8)" in output
    assert output.index("precision") < output.index("wrote")  # the figures come before the model is written
    model = GenreModel(root / "mine.onnx")  # the contract validates on loading
    info = model.info
    assert info.genre_names == ["Drone", "Noise Rock"] and info.inference_windows == 2
    assert info.metrics["cross_validated_tracks"] == 16 and info.metrics["grouped_by"] == "album"
    assert set(info.metrics["per_genre"]) == {"Drone", "Noise Rock"}
    assert info.metrics["top1_accuracy"] >= 0.9  # two genres a child could tell apart
    assert "musicnn" in " ".join(info.licenses) and info.calibration.fitted_on.startswith("out-of-fold")
    assert EMBEDDING_OUTPUT in {output.name for output in model.session.get_outputs()}

    fresh = [write_audio(tmp_path / "new" / "hum.flac", drone(99), RATE),
             write_audio(tmp_path / "new" / "bang.mp3", clatter(99), RATE)]
    predicted = CliRunner().invoke(main, ["predict", "--model", str(root / "mine.onnx"), "--json",
                                          "--min-confidence", "0", *map(str, fresh)])
    assert predicted.exit_code == 0, predicted.output
    assert [record["chosen"] for record in json.loads(predicted.output)] == [["Drone"], ["Noise Rock"]]
    scanned = CliRunner().invoke(main, ["scan", str(tmp_path / "new"), "--model", str(root / "mine.onnx"),
                                        "--state-dir", str(tmp_path / "state"), "-v"])
    assert scanned.exit_code == 0, scanned.output
    assert "would-tag 2" in scanned.output or "uncertain" in scanned.output
    shown = CliRunner().invoke(main, ["info", "--model", str(root / "mine.onnx")])
    assert shown.exit_code == 0 and "tagger learn" in shown.output and "Noise Rock" in shown.output


def test_a_second_run_embeds_only_the_new_files(learned):
    root, _ = learned
    tagged_file(root / "library" / "later.ogg", drone(77), ["Drone"], album="Hum 9", artist="The Hummers")
    code, output = learn(str(root / "library"), "--out", str(root / "mine2.onnx"), "--windows", "2", "--jobs", "1",
                         "--state-dir", str(root / "state"))
    assert code == 0, output
    assert "embedded 1 tracks (16 found in the cache)" in output


def test_an_interrupted_embedding_keeps_what_it_finished(tmp_path, monkeypatch):
    files = [write_audio(tmp_path / f"{index}.flac", drone(index, seconds=4.0), RATE) for index in range(4)]
    model = GenreModel()

    def interrupted(items, *_):
        for done, item in enumerate(items):
            if done == 2:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(embeddings, "tracked", interrupted)
    store = StateStore(tmp_path / "state")
    with pytest.raises(KeyboardInterrupt):
        embeddings.embed_files(files, model, 2, 1, store.embeddings, lambda path, reason: None)
    store.close()
    monkeypatch.undo()
    store = StateStore(tmp_path / "state")
    found, from_cache = embeddings.embed_files(files, model, 2, 1, store.embeddings, lambda path, reason: None)
    store.close()
    assert from_cache == 2 and len(found) == 4
    assert all(embedding.shape == (2, 200) for embedding in found.values())


def test_too_little_to_learn_is_one_line_and_writes_nothing(tmp_path):
    for index in range(8):
        tagged_file(tmp_path / "library" / f"{index}.flac", drone(index, seconds=3.0), ["Drone"])
    tagged_file(tmp_path / "library" / "odd.flac", clatter(0, seconds=3.0), ["Noise"])
    (tmp_path / "library" / "broken.mp3").write_bytes(b"ID3 not really")
    code, output = learn(str(tmp_path / "library"), "--out", str(tmp_path / "mine.onnx"),
                         "--state-dir", str(tmp_path / "state"))
    assert code == 1
    assert "Error: 1 genre(s) with at least 8 tracks" in output and "Noise (1)" in output
    assert not (tmp_path / "mine.onnx").exists()
    code, output = learn(str(tmp_path / "library"), "--out", str(tmp_path / "mine.txt"))
    assert code == 2 and "not a .onnx file name" in output


def test_learning_loads_no_torch():
    code = ("import sys, tagger.learning.learn, tagger.graph_edit\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stderr


def test_the_beets_plugin_takes_a_learned_model_unchanged(learned, tmp_path):
    pytest.importorskip("beets")
    from tests.test_beets_plugin import beet_with

    root, _ = learned
    beet = beet_with(tmp_path, root / "mine.onnx")
    write_audio(tmp_path / "in" / "hum.mp3", drone(98), RATE)
    imported = beet("import", "-q", str(tmp_path / "in"))
    assert imported.returncode == 0, imported.stderr
    listed = beet("ls", "-f", "$genres")
    assert listed.returncode == 0 and listed.stdout.strip() == "Drone", listed.stdout + listed.stderr
