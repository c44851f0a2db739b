"""Fitting what a model file records as its calibration (``tagger.calibration.Calibration``).

From held-out track probabilities (a run's validation tracks, or every track's out-of-fold probability
after a cross-validation): one temperature, fitted so that the top genre's probability says how often the
top genre is right, and the ``--min-confidence`` default read off the precision-against-coverage curve of the
calibrated top-genre probabilities. Also the figures the model card shows: the reliability table and the
curve, computed on probabilities calibrated without their own tracks (cross-fitted), so they are honest.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from tagger.calibration import Calibration, temperature_scale
from trainer.metrics import top1_hits

TEMPERATURE_RANGE = (0.05, 20.0)
CONFIDENCE_GRID = np.round(np.arange(0.0, 0.96, 0.05), 2)  # candidate --min-confidence values (0: off)
RELIABILITY_BINS = 10


def binary_cross_entropy(targets: np.ndarray, probabilities: np.ndarray) -> float:
    p = np.clip(probabilities, 1e-7, 1 - 1e-7)
    return float(-np.mean(targets * np.log(p) + (1 - targets) * np.log(1 - p)))


def fit_temperature(targets: np.ndarray, probabilities: np.ndarray) -> float:
    """The temperature under which the top genre's probability best predicts whether the top genre is right.

    That probability is what ``--min-confidence`` compares and what a person reads, so it is what gets
    calibrated (on the GTZAN folds, fitting all genres' probabilities at once made the top genre's worse).
    One parameter for all genres cannot memorise a few dozen tracks, and it never changes the ranking."""
    confidence, hits = top_confidence(targets, probabilities)
    low, high = np.log(TEMPERATURE_RANGE)
    best = minimize_scalar(lambda log_t: binary_cross_entropy(hits, temperature_scale(confidence, np.exp(log_t))),
                           bounds=(low, high), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(best.x))


def top_confidence(targets: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per track: the top genre's probability, and whether that genre is right."""
    return probabilities.max(axis=1), top1_hits(targets, probabilities)


def reliability(confidence: np.ndarray, hits: np.ndarray, bins: int = RELIABILITY_BINS) -> list[dict]:
    """Tracks binned by top-genre probability: each non-empty bin's count, mean probability and accuracy."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    return [{"low": float(edges[b]), "high": float(edges[b + 1]), "tracks": int((which == b).sum()),
             "confidence": float(confidence[which == b].mean()), "accuracy": float(hits[which == b].mean())}
            for b in range(bins) if (which == b).any()]


def expected_calibration_error(confidence: np.ndarray, hits: np.ndarray) -> float:
    """Mean |accuracy - confidence| over the reliability bins, weighted by their tracks."""
    return float(sum(row["tracks"] * abs(row["accuracy"] - row["confidence"])
                     for row in reliability(confidence, hits)) / max(len(confidence), 1))


def precision_coverage(confidence: np.ndarray, hits: np.ndarray) -> list[dict]:
    """For each candidate minimum: the share of tracks a scan would tag, how often their top genre is right,
    and the tags it writes right minus wrong (abstaining below the minimum)."""
    rows = []
    for minimum in CONFIDENCE_GRID:
        covered = confidence >= minimum
        rows.append({"min_confidence": float(minimum), "coverage": float(covered.mean()),
                     "precision": float(hits[covered].mean()) if covered.any() else float("nan"),
                     "net_correct": int(2 * hits[covered].sum() - covered.sum())})
    return rows


def suggest_min_confidence(confidence: np.ndarray, hits: np.ndarray) -> float | None:
    """The minimum with the most right-minus-wrong tags (a wrong genre costs as much as a missing one); of
    equally good ones the lowest, so a scan abstains no more than the evidence asks. None: never abstain."""
    curve = precision_coverage(confidence, hits)
    best = max(row["net_correct"] for row in curve)
    chosen = next(row["min_confidence"] for row in curve if row["net_correct"] == best)
    return chosen or None


def calibrate(targets: np.ndarray, probabilities: np.ndarray, fitted_on: str) -> Calibration:
    """The temperature and the --min-confidence default, both fitted on the held-out ``probabilities``."""
    temperature = fit_temperature(targets, probabilities)
    calibrated = temperature_scale(probabilities, temperature)
    before, after = top_confidence(targets, probabilities), top_confidence(targets, calibrated)
    return Calibration(
        temperature=round(temperature, 4),
        min_confidence=suggest_min_confidence(*after),
        fitted_on=fitted_on,
        expected_calibration_error={"before": round(expected_calibration_error(*before), 4),
                                    "after": round(expected_calibration_error(*after), 4)},
    )


def cross_fitted(targets: np.ndarray, probabilities: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each group's probabilities scaled by a temperature fitted on the other groups (folds): calibrated
    probabilities none of whose tracks chose their own temperature, for figures that do not flatter."""
    calibrated = np.empty_like(probabilities, dtype=np.float64)
    for group in np.unique(groups):
        inside = groups == group
        calibrated[inside] = temperature_scale(probabilities[inside],
                                               fit_temperature(targets[~inside], probabilities[~inside]))
    return calibrated
