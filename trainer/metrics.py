"""Evaluation: multi-label metrics at window and track level, threshold tuning, confusion matrix."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix, f1_score, precision_recall_fscore_support

from tagger.genres import below_confidence, choose
from tagger.model import DEFAULT_THRESHOLD

AVERAGES = ("macro", "weighted", "samples")
THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)


def decide(probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Multi-hot predictions by the tagger's own rule (threshold per genre, top genre always chosen).

    ``thresholds``: one per genre [classes], or a row per prediction [rows, classes] (tracks pooled from
    the folds of a cross-validation, each decided by its own fold's thresholds)."""
    return written_genres(probabilities, probabilities, thresholds, probabilities.shape[1], None)


def track_probabilities(window_probabilities: np.ndarray, track_of_window: np.ndarray, n_tracks: int) -> np.ndarray:
    """Average the windows of each track: [windows, classes] -> [tracks, classes]."""
    sums = np.zeros((n_tracks, window_probabilities.shape[1]))
    np.add.at(sums, track_of_window, window_probabilities)
    counts = np.bincount(track_of_window, minlength=n_tracks)[:, None]
    return sums / np.maximum(counts, 1)


MIN_POSITIVES_PER_CLASS = 3


def _best_threshold(targets: np.ndarray, probabilities: np.ndarray) -> float:
    """The F1-maximising threshold; of several equally good ones, the middle one (the widest margin)."""
    scores = np.array([f1_score(targets.ravel(), (probabilities >= t).ravel(), zero_division=0)
                       for t in THRESHOLD_GRID])
    best = np.flatnonzero(scores == scores.max())
    return float(THRESHOLD_GRID[best[len(best) // 2]])


def tune_thresholds(targets: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Decision thresholds from validation data: one shared threshold maximising micro F1, replaced by a
    class's own F1-maximising threshold only where the class has at least MIN_POSITIVES_PER_CLASS
    positive examples (a threshold tuned on one or two examples just memorises them)."""
    shared = _best_threshold(targets, probabilities)
    thresholds = np.full(targets.shape[1], shared)
    for column in range(targets.shape[1]):
        if targets[:, column].sum() >= MIN_POSITIVES_PER_CLASS:
            thresholds[column] = _best_threshold(targets[:, column], probabilities[:, column])
    return thresholds


def top1_hits(targets: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Per row: is the most probable genre one of the true ones?"""
    return targets[np.arange(len(targets)), probabilities.argmax(axis=1)] == 1


def evaluate(targets: np.ndarray, probabilities: np.ndarray, thresholds: np.ndarray, labels: list[str]) -> dict:
    """Every figure the project reports for one set of predictions (JSON-serialisable)."""
    targets = targets.astype(np.int64)
    predictions = decide(probabilities, thresholds)
    result: dict = {"n": len(targets)}
    for average in AVERAGES:
        precision, recall, f1, _ = precision_recall_fscore_support(
            targets, predictions, average=average, zero_division=0
        )
        result[average] = {"precision": float(precision), "recall": float(recall), "f1": float(f1)}
    result["exact_match_accuracy"] = float(np.mean(np.all(targets == predictions, axis=1)))
    result["top1_accuracy"] = float(np.mean(top1_hits(targets, probabilities)))
    result["per_class"] = {
        label: {
            "tp": int(np.sum((predictions[:, i] == 1) & (targets[:, i] == 1))),
            "fp": int(np.sum((predictions[:, i] == 1) & (targets[:, i] == 0))),
            "fn": int(np.sum((predictions[:, i] == 0) & (targets[:, i] == 1))),
            "support": int(targets[:, i].sum()),
        }
        for i, label in enumerate(labels)
    }
    result["classification_report"] = classification_report(
        targets, predictions, target_names=labels, zero_division=0, digits=3
    )
    return result


def top1_confusion(targets: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Confusion of the primary (first positive) true genre against the top-1 prediction."""
    n_classes = targets.shape[1]
    return confusion_matrix(targets.argmax(axis=1), probabilities.argmax(axis=1), labels=range(n_classes))


def quick_scores(targets: np.ndarray, probabilities: np.ndarray) -> tuple[float, float]:
    """(macro F1 at the untuned threshold with the top-1 rule, top-1 accuracy): the per-epoch curves."""
    predictions = decide(probabilities, np.full(targets.shape[1], DEFAULT_THRESHOLD))
    f1 = f1_score(targets.astype(np.int64), predictions, average="macro", zero_division=0)
    return float(f1), float(np.mean(top1_hits(targets, probabilities)))


def written_genres(probabilities: np.ndarray, confidence: np.ndarray, thresholds: np.ndarray, top_k: int,
                   min_confidence: float | None) -> np.ndarray:
    """What a scan writes on each track, multi-hot [tracks, classes]: the tagger's choice (thresholds, one per
    genre or a row per track, and ``top_k``) from ``probabilities``, and nothing where the calibrated top
    probability (``confidence`` [tracks, classes]) is below ``min_confidence`` (the track is then
    ``uncertain``)."""
    written = np.zeros_like(probabilities, dtype=np.int64)
    limits = np.broadcast_to(thresholds, probabilities.shape)
    for row, scores in enumerate(probabilities):
        if not below_confidence(confidence[row], min_confidence):
            written[row, choose(scores, limits[row], top_k)] = 1
    return written


def tagging_figures(targets: np.ndarray, probabilities: np.ndarray, written: np.ndarray) -> dict[str, np.ndarray]:
    """Per track, what a person meets in their library: whether anything was written (coverage), how many
    genres were written and how many of them are right (precision of the written genres), and, where a
    second genre was written, whether it is right."""
    truth = targets.astype(bool)
    masked = np.where(written == 1, probabilities, -np.inf)
    second = np.argsort(-masked, axis=1, kind="stable")[:, 1]
    has_second = written.sum(axis=1) >= 2
    return {"covered": written.any(axis=1).astype(np.float64), "written": written.sum(axis=1).astype(np.float64),
            "right": (written.astype(bool) & truth).sum(axis=1).astype(np.float64),
            "seconds": has_second.astype(np.float64),
            "second_right": (has_second & truth[np.arange(len(truth)), second]).astype(np.float64)}
