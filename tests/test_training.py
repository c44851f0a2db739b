"""A small model learns a synthetic three-genre task from encoded audio files, end to end.

Everything is seeded explicitly (the audio by genre and index, torch by --seed, one torch thread), so the
run and its accuracy are the same every time on a given machine; the task is easy enough that the
accuracy bar holds with a wide margin."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from tests.conftest import write_audio
from trainer.cli import main as trainer_main

RATE = 22_050


GENRES = ("low", "high", "noise")


def synthetic_genre(genre: str, seed: int, seconds: float = 8.0) -> np.ndarray:
    """'low': bass tones; 'high': bright tones; 'noise': broadband noise. Pitches vary per track."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    if genre == "noise":
        return (0.2 * rng.standard_normal(len(t))).astype(np.float32)
    base = rng.uniform(80, 200) if genre == "low" else rng.uniform(2500, 4000)
    signal = sum(np.sin(2 * np.pi * base * k * t) / k for k in (1, 2, 3))
    return (0.2 * signal + 0.005 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def synthetic_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    for genre_index, genre in enumerate(GENRES):
        for index in range(8):
            suffix = ".mp3" if index % 2 else ".flac"
            write_audio(root / genre / f"{genre}{index}{suffix}", synthetic_genre(genre, 100 * genre_index + index))
    return root


@pytest.mark.slow
def test_train_evaluate_export(synthetic_dataset, tmp_path):
    run = tmp_path / "run"
    runner = CliRunner()
    arguments = [
        "train", "--data", str(synthetic_dataset), "--out", str(run), "--epochs", "10", "--batch-size", "8",
        "--lr", "3e-3", "--cache-dir", str(tmp_path / "cache"), "--threads", "1", "--patience", "10",
        "--val-fraction", "0.25", "--test-fraction", "0.25", "--channels", "16,32,32", "--hidden", "32",
        "--seed", "0", "--split-seed", "0",
    ]
    result = runner.invoke(trainer_main, arguments, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for name in ("config.json", "split.json", "metrics.json", "history.json", "curves.png", "confusion.png",
                 "checkpoint.pt"):
        assert (run / name).is_file(), name

    split = json.loads((run / "split.json").read_text())
    sides = [set(split[name]) for name in ("train", "val", "test")]
    assert sum(map(len, sides)) == 24 and len(set().union(*sides)) == 24

    metrics = json.loads((run / "metrics.json").read_text())
    track = metrics["test"]["track"]
    assert track["n"] == len(split["test"]) == 6
    assert track["top1_accuracy"] >= 2 / 3  # chance is 1/3; this seeded run gets 6 of 6
    assert {"macro", "weighted", "samples", "per_class", "classification_report"} <= set(track)
    assert set(metrics["thresholds"]) == {"high", "low", "noise"}
    history = json.loads((run / "history.json").read_text())
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    epoch_lines = [line for line in result.output.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == len(history) and all("train loss" in line and "val loss" in line
                                                    for line in epoch_lines)

    cached = tmp_path / "cache" / "waveforms"
    assert len(list(cached.glob("*.npy"))) == 24 and np.load(next(cached.glob("*.npy"))).dtype == np.float16
    shown = runner.invoke(trainer_main, ["cache", "--cache-dir", str(tmp_path / "cache")])
    assert shown.exit_code == 0 and "waveforms" in shown.output and "    24 files" in shown.output, shown.output

    evaluated = runner.invoke(trainer_main, ["evaluate", str(run), "--json"], catch_exceptions=False)
    assert evaluated.exit_code == 0
    again = json.loads(evaluated.output[evaluated.output.index("{"):])
    assert again["track"]["top1_accuracy"] == pytest.approx(track["top1_accuracy"])

    exported = runner.invoke(trainer_main, ["export", str(run), "--out", str(tmp_path / "m.onnx"),
                                            "--quantize", "int8"], catch_exceptions=False)
    assert exported.exit_code == 0, exported.output
    assert "real test windows" in exported.output and "onnx.checker passed" in exported.output

    cleared = runner.invoke(trainer_main, ["cache", "--cache-dir", str(tmp_path / "cache"), "--clear"])
    assert cleared.exit_code == 0 and "MiB freed" in cleared.output and not cached.exists()
    assert (tmp_path / "m.onnx").is_file() and (tmp_path / "m.int8.onnx").is_file()
