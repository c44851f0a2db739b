"""Evaluation figures and the decision rule they share with the tagger."""

import numpy as np
import pytest

from tagger.genres import Mode, choose, combine, explain
from trainer.metrics import _best_threshold, decide, evaluate, track_probabilities, tune_thresholds

LABELS = ["a", "b", "c"]


def test_choose_keeps_the_top_genre_and_caps_at_top_k():
    scores = np.array([0.2, 0.9, 0.6])
    assert choose(scores, np.full(3, 0.5), top_k=3) == [1, 2]
    assert choose(scores, np.full(3, 0.5), top_k=1) == [1]
    assert choose(scores, np.full(3, 0.95), top_k=3) == [1]  # nothing passes: the most probable anyway


def test_explain_says_why_each_genre_was_taken_or_left():
    scores = np.array([0.2, 0.9, 0.6, 0.7])
    reasons = explain(scores, np.full(4, 0.5), top_k=2)
    assert reasons[1].startswith("chosen: 0.90 reaches") and reasons[3].startswith("chosen: 0.70 reaches")
    assert "only 2 genre(s) are kept" in reasons[2] and "below its threshold 0.50" in reasons[0]
    (only,) = [reason for reason in explain(scores, np.full(4, 0.95), top_k=2) if reason.startswith("chosen")]
    assert "the most probable genre, though below its threshold 0.95" in only


def test_combine_modes():
    assert combine(["Pop"], ["Rock"], Mode.REPLACE) == ["Rock"]
    assert combine(["Pop"], ["rock", "POP"], Mode.MERGE) == ["Pop", "rock"]
    assert combine(["Pop"], ["Rock"], Mode.FILL_EMPTY) == ["Pop"]
    assert combine([], ["Rock"], Mode.FILL_EMPTY) == ["Rock"]


def test_evaluate_counts_by_hand():
    targets = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]])
    probabilities = np.array([[0.9, 0.6, 0.1], [0.2, 0.8, 0.1], [0.7, 0.1, 0.3], [0.8, 0.1, 0.1]])
    result = evaluate(targets, probabilities, np.full(3, 0.5), LABELS)
    # decisions: {a,b}, {b}, {a}, {a}
    assert decide(probabilities, np.full(3, 0.5)).tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 0], [1, 0, 0]]
    assert result["per_class"]["a"] == {"tp": 2, "fp": 1, "fn": 0, "support": 2}
    assert result["per_class"]["b"] == {"tp": 1, "fp": 1, "fn": 0, "support": 1}
    assert result["per_class"]["c"] == {"tp": 0, "fp": 0, "fn": 1, "support": 1}
    assert result["top1_accuracy"] == pytest.approx(0.75)
    assert result["exact_match_accuracy"] == pytest.approx(0.5)
    assert result["macro"]["precision"] == pytest.approx((2 / 3 + 1 / 2 + 0) / 3)
    assert "classification_report" in result and "samples avg" in result["classification_report"]


def test_track_probabilities_average_windows():
    windows = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    assert track_probabilities(windows, np.array([0, 0, 1]), 2).tolist() == [[0.5, 0.5], [0.5, 0.5]]


def test_thresholds_are_shared_unless_a_class_has_enough_examples():
    rng = np.random.default_rng(0)
    targets = np.eye(3)[[0] * 10 + [1] + [2] * 10]
    probabilities = np.clip(targets * 0.5 + rng.uniform(0, 0.4, targets.shape), 0, 1)
    thresholds = tune_thresholds(targets, probabilities)
    assert thresholds.shape == (3,)
    assert 0.4 <= thresholds[0] <= 0.55 and 0.4 <= thresholds[2] <= 0.55  # between 0.4 and 0.5 separate
    # class b has one positive example: it gets the threshold shared by all classes (micro F1)
    assert thresholds[1] == pytest.approx(_best_threshold(targets, probabilities))
