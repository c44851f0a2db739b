"""Calibration: the fitted temperature, the --min-confidence default, and how the tagger applies both."""

import json

import numpy as np
import onnx
import pytest
from click.testing import CliRunner

from tagger.calibration import Calibration, temperature_scale
from tagger.cli import main
from tagger.model import GenreModel, MetadataKeys, ModelError, parse_metadata
from tests.conftest import LABELS
from tests.tagtools import digest
from trainer.calibrate import (
    calibrate,
    cross_fitted,
    expected_calibration_error,
    fit_temperature,
    precision_coverage,
    reliability,
    suggest_min_confidence,
    top_confidence,
)


def overconfident(temperature: float, tracks: int = 2000, genres: int = 4, seed: int = 0):
    """Tracks whose top genre is right with probability q, reported as sigmoid(logit(q) * temperature): a
    model ``temperature`` times too sure of itself. Returns (targets, probabilities) [tracks, genres]."""
    rng = np.random.default_rng(seed)
    right = rng.uniform(0.15, 0.97, tracks)
    reported = 1 / (1 + np.exp(-np.log(right / (1 - right)) * temperature))
    probabilities = np.outer(reported, np.linspace(1, 0.2, genres))  # genre 0 on top
    targets = np.zeros((tracks, genres))
    targets[np.arange(tracks), np.where(rng.random(tracks) < right, 0, rng.integers(1, genres, tracks))] = 1
    return targets, probabilities


def test_temperature_scaling_is_monotone_keeps_the_order_and_one_is_identity():
    p = np.array([0.01, 0.2, 0.5, 0.7, 0.99])
    assert np.allclose(temperature_scale(p, 1.0), p)
    softened = temperature_scale(p, 3.0)
    assert np.all(np.diff(softened) > 0) and softened[2] == pytest.approx(0.5)
    assert np.all(np.abs(softened - 0.5) < np.abs(p - 0.5) + 1e-12)


@pytest.mark.parametrize("truth", [0.4, 1.0, 3.0])
def test_the_fitted_temperature_undoes_a_known_miscalibration(truth):
    targets, probabilities = overconfident(truth)
    assert fit_temperature(targets, probabilities) == pytest.approx(truth, rel=0.15)


def test_calibration_lowers_the_calibration_error_and_records_what_it_was_fitted_on():
    targets, probabilities = overconfident(3.0)
    calibration = calibrate(targets, probabilities, "2000 synthetic tracks")
    error = calibration.expected_calibration_error
    assert error is not None and error["after"] < error["before"] / 2
    assert calibration.fitted_on == "2000 synthetic tracks"
    assert Calibration.from_dict(json.loads(json.dumps(calibration.to_dict()))) == calibration


def test_reliability_bins_count_every_track_once():
    confidence, hits = np.array([0.05, 0.15, 0.16, 0.95, 1.0]), np.array([False, True, False, True, True])
    bins = reliability(confidence, hits)
    assert sum(row["tracks"] for row in bins) == 5
    assert [row["accuracy"] for row in bins] == [0.0, 0.5, 1.0]
    assert expected_calibration_error(confidence, hits) == pytest.approx(
        (0.05 + 2 * abs(0.5 - 0.155) + 2 * abs(1 - 0.975)) / 5)


def test_the_min_confidence_default_abstains_where_more_tags_would_be_wrong_than_right():
    # Below 0.5 the top genre is right once in five; from 0.5 up, three times in four.
    confidence = np.array([0.1, 0.2, 0.3, 0.35, 0.45, 0.5, 0.6, 0.7, 0.8])
    hits = np.array([False, False, True, False, False, True, True, False, True])
    assert suggest_min_confidence(confidence, hits) == pytest.approx(0.5)
    curve = {row["min_confidence"]: row for row in precision_coverage(confidence, hits)}
    assert curve[0.5]["coverage"] == pytest.approx(4 / 9) and curve[0.5]["precision"] == 0.75
    assert curve[0.0]["net_correct"] == -1 and curve[0.5]["net_correct"] == 2
    assert suggest_min_confidence(confidence, np.ones(9, bool)) is None  # never wrong: never abstain


def test_cross_fitted_probabilities_use_a_temperature_fitted_without_their_own_fold():
    targets, probabilities = overconfident(2.0, tracks=400)
    folds = np.arange(400) % 4
    calibrated = cross_fitted(targets, probabilities, folds)
    inside = folds == 1
    expected = temperature_scale(probabilities[inside], fit_temperature(targets[~inside], probabilities[~inside]))
    assert np.allclose(calibrated[inside], expected)
    assert np.array_equal(top_confidence(targets, calibrated)[1], top_confidence(targets, probabilities)[1])


def test_model_metadata_calibration_moves_thresholds_and_sets_the_default_minimum():
    base = {MetadataKeys.LABELS: json.dumps(["a", "b"]), MetadataKeys.SAMPLE_RATE: "16000",
            MetadataKeys.WINDOW_SECONDS: "3", MetadataKeys.THRESHOLDS: json.dumps({"a": 0.8, "b": 0.5})}
    plain = parse_metadata(base, "x")
    assert plain.calibration == Calibration() and plain.min_confidence() is None
    calibrated = parse_metadata({**base, MetadataKeys.CALIBRATION: json.dumps(
        {"temperature": 2.0, "min_confidence": 0.3, "fitted_on": "t"})}, "x")
    assert np.allclose(calibrated.threshold_array(), temperature_scale(np.array([0.8, 0.5]), 2.0))
    assert np.allclose(calibrated.threshold_array(0.6), [0.6, 0.6])  # --threshold is already calibrated
    assert calibrated.min_confidence() == 0.3 and calibrated.min_confidence(0.5) == 0.5
    assert calibrated.min_confidence(0.0) is None  # --min-confidence 0: always write
    with pytest.raises(ModelError, match="temperature"):
        parse_metadata({**base, MetadataKeys.CALIBRATION: json.dumps({"temperature": 0})}, "x")


@pytest.fixture
def sure_only_model(tiny_model, tmp_path):
    """The tiny model, recording a calibration whose default minimum no track of it reaches."""
    graph = onnx.load(str(tiny_model))
    (entry,) = [prop for prop in graph.metadata_props if prop.key == MetadataKeys.CALIBRATION]
    assert Calibration.from_dict(json.loads(entry.value)) == Calibration()  # the exporter's: uncalibrated
    entry.value = json.dumps({"temperature": 0.5, "min_confidence": 0.999, "fitted_on": "test"})
    path = tmp_path / "sure-only.onnx"
    onnx.save(graph, str(path))
    return path


def test_scan_abstains_by_the_models_own_default_and_the_flag_overrides_it(make_audio, sure_only_model, tiny_model,
                                                                           tmp_path):
    song = make_audio("lib/song.mp3")
    before = digest(song)
    runner = CliRunner()
    common = ["--write-tags", "--model", str(sure_only_model), "--state-dir", str(tmp_path / "state")]
    unsure = runner.invoke(main, ["scan", str(song), *common])
    assert unsure.exit_code == 0, unsure.output
    assert "uncertain 1" in unsure.output and digest(song) == before
    written = runner.invoke(main, ["scan", str(song), *common, "--min-confidence", "0"])
    assert written.exit_code == 0 and "tagged 1" in written.output, written.output
    shown = runner.invoke(main, ["info", "--model", str(sure_only_model)]).output
    assert "temperature 0.5, fitted on test" in shown and "min confidence: 0.999" in shown
    # Scores are calibrated: the same windows through the plain model, sharpened by T = 0.5.
    raw = json.loads(runner.invoke(main, ["predict", str(song), "--model", str(tiny_model), "--json"]).output)
    sharp = json.loads(runner.invoke(main, ["predict", str(song), "--model", str(sure_only_model), "--json"]).output)
    for name, score in raw[0]["scores"].items():
        assert sharp[0]["scores"][name] == pytest.approx(float(temperature_scale(np.array(score), 0.5)), abs=1e-5)
    assert GenreModel(sure_only_model).info.labels == LABELS

