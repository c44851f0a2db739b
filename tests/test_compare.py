"""`trainer compare --runs` over runs with known test predictions: tables, JSON, plot and the verdict."""

import json

import numpy as np
from click.testing import CliRunner

from trainer.cli import main as trainer_main

LABELS = ["a", "b", "c"]


def fake_run(directory, accuracy: float, attention: bool, seed: int, n_tracks: int = 60):
    """A run directory whose metrics.json holds test-track probabilities of a given top-1 accuracy."""
    rng = np.random.default_rng(seed)
    truth = np.arange(n_tracks) % 3
    correct = rng.random(n_tracks) < accuracy
    predicted = np.where(correct, truth, (truth + 1 + rng.integers(0, 2, n_tracks)) % 3)
    probabilities = np.full((n_tracks, 3), 0.1)
    probabilities[np.arange(n_tracks), predicted] = 0.9
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps({"attention": attention}))
    (directory / "metrics.json").write_text(json.dumps({
        "labels": LABELS,
        "thresholds": dict.fromkeys(LABELS, 0.5),
        "test_tracks": [f"track{i}" for i in range(n_tracks)],
        "test_track_probabilities": probabilities.tolist(),
        "test_targets": np.eye(3, dtype=int)[truth].tolist(),
        "test": {"track": {"weighted": {"f1": 0.0}}},
    }))
    return directory


def compare_runs(runs, out):
    arguments = ["compare", "--out", str(out), "--bootstrap", "300", "--permutations", "300"]
    for run in runs:
        arguments += ["--runs", str(run)]
    return CliRunner().invoke(trainer_main, arguments, catch_exceptions=False)


def test_compare_existing_runs(tmp_path):
    strong = fake_run(tmp_path / "strong", 0.95, attention=True, seed=1)
    weak = fake_run(tmp_path / "weak", 0.40, attention=False, seed=2)
    out = tmp_path / "cmp"
    result = compare_runs([strong, weak], out)
    assert result.exit_code == 0, result.output
    comparison = json.loads((out / "comparison.json").read_text())
    assert comparison["winner"]["name"] == "strong"
    assert comparison["winner"]["checkpoint"].endswith("strong/checkpoint.pt")
    (pair,) = comparison["pairs"]
    assert pair["difference"] > 0.4 and pair["difference_interval"][0] > 0
    assert pair["permutation_p_holm"] < 0.01 and pair["mcnemar_p"] < 0.01
    assert "significantly better than every other" in comparison["winner"]["verdict"][0]
    assert (out / "bootstrap.png").stat().st_size > 0
    assert "| strong |" in (out / "comparison.md").read_text()


def test_a_tie_with_a_simpler_model_is_said_plainly(tmp_path):
    fancy = fake_run(tmp_path / "fancy", 0.70, attention=True, seed=5)
    simple = fake_run(tmp_path / "simple", 0.68, attention=False, seed=6)
    out = tmp_path / "cmp"
    assert compare_runs([fancy, simple], out).exit_code == 0
    winner = json.loads((out / "comparison.json").read_text())["winner"]
    assert winner["not_significantly_better_than"]
    assert any("NOT significantly better than the simpler" in line or "may be luck" in line
               for line in winner["verdict"])


def test_runs_of_different_splits_are_refused(tmp_path):
    first = fake_run(tmp_path / "one", 0.8, True, 1, n_tracks=30)
    second = fake_run(tmp_path / "two", 0.8, True, 2, n_tracks=33)
    result = CliRunner().invoke(trainer_main, ["compare", "--runs", str(first), "--runs", str(second),
                                               "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 1 and "other test tracks" in result.output
