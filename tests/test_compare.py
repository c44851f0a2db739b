"""`trainer compare --runs` over runs (single splits and cross-validations) with known test predictions: tables,
JSON, plot, pooling over folds and the verdict."""

import json

import numpy as np
from click.testing import CliRunner

from trainer.cli import main as trainer_main

LABELS = ["a", "b", "c"]


def fake_run(directory, accuracy: float, parameters: int, seed: int, n_tracks: int = 60, tracks: range | None = None,
             wrong_confidence: float = 0.9, calibration: dict | None = None):
    """A run directory whose metrics.json holds test-track probabilities of a given top-1 accuracy (a wrong
    top genre at ``wrong_confidence``), and the calibration fitted on its validation tracks, if any."""
    tracks = tracks if tracks is not None else range(n_tracks)
    rng = np.random.default_rng(seed)
    truth = np.array(tracks) % 3
    correct = rng.random(len(tracks)) < accuracy
    predicted = np.where(correct, truth, (truth + 1 + rng.integers(0, 2, len(tracks))) % 3)
    probabilities = np.full((len(tracks), 3), 0.1)
    probabilities[np.arange(len(tracks)), predicted] = np.where(correct, 0.9, wrong_confidence)
    directory.mkdir(parents=True)
    (directory / "metrics.json").write_text(json.dumps({
        "labels": LABELS,
        "thresholds": dict.fromkeys(LABELS, 0.5),
        "test_tracks": [f"track{i:03d}" for i in tracks],
        "test_groups": [f"track{i:03d}" for i in tracks],  # a track-level split: each track its own group
        "test_track_probabilities": probabilities.tolist(),
        "test_targets": np.eye(3, dtype=int)[truth].tolist(),
        "trainable_parameters": parameters,
        **({"calibration": calibration} if calibration else {}),
    }))
    return directory, correct


def fake_cross_validation(directory, accuracy: float, seed: int, fold_tracks: list[range]):
    """A cross-validation's folder: one fake run per fold, each testing its own tracks."""
    for number, tracks in enumerate(fold_tracks, 1):
        fake_run(directory / f"fold{number}", accuracy, 1000, seed + number, tracks=tracks)[0]
    return directory


def compare_runs(runs, out):
    arguments = ["compare", "--out", str(out), "--bootstrap", "300", "--permutations", "300"]
    for run in runs:
        arguments += ["--runs", str(run)]
    return CliRunner().invoke(trainer_main, arguments, catch_exceptions=False)


def test_compare_existing_runs(tmp_path):
    strong = fake_run(tmp_path / "strong", 0.95, parameters=1000, seed=1)[0]
    weak = fake_run(tmp_path / "weak", 0.40, parameters=100, seed=2)[0]
    out = tmp_path / "cmp"
    result = compare_runs([strong, weak], out)
    assert result.exit_code == 0, result.output
    comparison = json.loads((out / "comparison.json").read_text())
    assert comparison["winner"]["name"] == "strong"
    assert comparison["winner"]["runs"] == [str(strong)]
    assert comparison["folds"] is None
    (pair,) = comparison["pairs"]
    assert pair["difference"] > 0.4 and pair["difference_interval"][0] > 0
    assert pair["permutation_p_holm"] < 0.01 and pair["mcnemar_p"] < 0.01
    assert "significantly better than every other" in comparison["winner"]["verdict"][0]
    assert (out / "bootstrap.png").stat().st_size > 0
    assert "| strong |" in (out / "comparison.md").read_text()


def test_a_tie_with_a_simpler_model_is_said_plainly(tmp_path):
    fancy = fake_run(tmp_path / "fancy", 0.70, parameters=1000, seed=5)[0]
    simple = fake_run(tmp_path / "simple", 0.68, parameters=100, seed=6)[0]
    out = tmp_path / "cmp"
    assert compare_runs([fancy, simple], out).exit_code == 0
    winner = json.loads((out / "comparison.json").read_text())["winner"]
    assert winner["not_significantly_better_than"]
    assert any("NOT significantly better than the simpler" in line or "may be luck" in line
               for line in winner["verdict"])


def test_a_winner_that_beats_some_configurations_but_not_others_says_which(tmp_path):
    best = fake_run(tmp_path / "best", 0.90, parameters=100, seed=7)[0]
    close = fake_run(tmp_path / "close", 0.88, parameters=1000, seed=8)[0]
    weak = fake_run(tmp_path / "weak", 0.35, parameters=1000, seed=9)[0]
    out = tmp_path / "cmp"
    assert compare_runs([best, close, weak], out).exit_code == 0
    winner = json.loads((out / "comparison.json").read_text())["winner"]
    assert winner["name"] == "best" and winner["not_significantly_better_than"] == ["close"]
    assert winner["verdict"][0].startswith("best is significantly better than weak, but not than close")


def test_runs_of_different_splits_are_refused(tmp_path):
    first = fake_run(tmp_path / "one", 0.8, 100, 1, n_tracks=30)[0]
    second = fake_run(tmp_path / "two", 0.8, 100, 2, n_tracks=33)[0]
    result = CliRunner().invoke(trainer_main, ["compare", "--runs", str(first), "--runs", str(second),
                                               "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 1 and "other test tracks" in result.output


def test_cross_validations_are_compared_over_all_pooled_tracks(tmp_path):
    """Folds test disjoint tracks; the statistics run over their union, lined up by track id across units
    whatever order the folds listed them in."""
    folds = [range(40), range(40, 80), range(80, 120)]
    strong = fake_cross_validation(tmp_path / "strong", 0.9, 10, folds)
    weak = fake_cross_validation(tmp_path / "weak", 0.5, 20, [folds[2], folds[0], folds[1]])
    out = tmp_path / "cmp"
    result = compare_runs([strong, weak], out)
    assert result.exit_code == 0, result.output
    comparison = json.loads((out / "comparison.json").read_text())
    assert comparison["test_tracks"] == 120 and comparison["folds"] == 3
    assert comparison["winner"]["name"] == "strong"
    assert comparison["configurations"]["strong"]["top1_accuracy"] > 0.8
    assert set(comparison["configurations"]["weak"]["per_genre_f1"]) == set(LABELS)
    assert "pooled over 3 cross-validation folds" in (out / "comparison.md").read_text()


def test_a_track_tested_in_two_folds_is_refused(tmp_path):
    overlapping = fake_cross_validation(tmp_path / "bad", 0.9, 1, [range(30), range(20, 50)])
    result = CliRunner().invoke(trainer_main, ["compare", "--runs", str(overlapping), "--out", str(tmp_path / "c")])
    assert result.exit_code == 1 and "more than one fold" in result.output


def test_the_tagging_rule_gives_the_precision_of_written_genres_and_the_coverage(tmp_path):
    """Each run's own calibration and --min-confidence decide what a scan would write: a model that is unsure
    exactly where it is wrong abstains there, so what it writes is right, on fewer tracks."""
    abstaining, correct = fake_run(tmp_path / "abstaining", 0.7, 1000, seed=3, wrong_confidence=0.5,
                                   calibration={"temperature": 1.0, "min_confidence": 0.6})
    writing, hits = fake_run(tmp_path / "writing", 0.7, 1000, seed=3, wrong_confidence=0.5)
    out = tmp_path / "cmp"
    assert compare_runs([abstaining, writing], out).exit_code == 0
    configurations = json.loads((out / "comparison.json").read_text())["configurations"]
    careful, eager = configurations["abstaining"], configurations["writing"]
    assert careful["coverage"] == correct.mean() and careful["written_precision"] == 1.0
    assert careful["min_confidences"] == [0.6] and eager["min_confidences"] == [None]
    assert eager["coverage"] == 1.0 and eager["written_precision"] == hits.mean() == eager["top1_accuracy"]
    low, high = eager["written_precision_interval"]
    assert low < eager["written_precision"] < high
    table = (out / "comparison.md").read_text()
    assert "written genres right [95 % CI]" in table and "| 0.6 |" in table and "| none |" in table
