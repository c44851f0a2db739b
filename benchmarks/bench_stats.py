"""The comparison statistics of `trainer compare`, before and after: the first formulation called
scikit-learn's ``f1_score`` once per bootstrap replicate and per permutation (kept here as the baseline);
now every replicate's F1 comes from confusion counts as one matrix product (``trainer.stats``). Both must
give the same numbers; the script checks that too.

Usage: python benchmarks/bench_stats.py [--tracks 94 1000] [--replicates 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import record, table
from trainer import stats


def predictions(rng: np.random.Generator, truth: np.ndarray, classes: int, accuracy: float) -> np.ndarray:
    chosen = np.where(rng.random(len(truth)) < accuracy, truth, rng.integers(0, classes, len(truth)))
    return np.eye(classes, dtype=np.int64)[chosen]


def per_call(targets: np.ndarray, first: np.ndarray, second: np.ndarray, replicates: int) -> tuple[float, float]:
    """The baseline: bootstrap replicates and permutations each scored by a call of scikit-learn; returns
    (seconds, the first model's mean replicate F1)."""
    started = time.perf_counter()
    weights = stats.bootstrap_weights(np.arange(len(targets)), replicates, 0)
    scores = []
    for row in weights:
        index = np.repeat(np.arange(len(targets)), row.astype(int))
        scores.append(f1_score(targets[index], first[index], average="weighted", zero_division=0))
        f1_score(targets[index], second[index], average="weighted", zero_division=0)
    rng = np.random.default_rng(0)
    for _ in range(replicates):
        swap = rng.random(len(targets)) < 0.5
        f1_score(targets, np.where(swap[:, None], second, first), average="weighted", zero_division=0)
        f1_score(targets, np.where(swap[:, None], first, second), average="weighted", zero_division=0)
    return time.perf_counter() - started, float(np.mean(scores))


def from_counts(targets: np.ndarray, first: np.ndarray, second: np.ndarray, replicates: int) -> tuple[float, float]:
    """Now: the same replicates and as many permutations from confusion counts."""
    started = time.perf_counter()
    weights = stats.bootstrap_weights(np.arange(len(targets)), replicates, 0)
    a, b = stats.ClassCounts.per_track(targets, first), stats.ClassCounts.per_track(targets, second)
    scores = stats.replicate_scores(stats.weighted_f1_of, a, weights)
    stats.replicate_scores(stats.weighted_f1_of, b, weights)
    stats.paired_permutation_p(stats.weighted_f1_of, a, b, replicates, 0)
    return time.perf_counter() - started, float(np.mean(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, nargs="+", default=[94, 1000])
    parser.add_argument("--replicates", type=int, default=2000)
    arguments = parser.parse_args()
    rows = []
    for tracks in arguments.tracks:
        rng = np.random.default_rng(tracks)
        truth = rng.integers(0, 10, tracks)
        targets = np.eye(10, dtype=np.int64)[truth]
        first, second = predictions(rng, truth, 10, 0.7), predictions(rng, truth, 10, 0.6)
        before, before_mean = per_call(targets, first, second, arguments.replicates)
        after, after_mean = from_counts(targets, first, second, arguments.replicates)
        if abs(before_mean - after_mean) > 1e-9:
            sys.exit(f"the two formulations disagree: {before_mean} against {after_mean}")
        rows.append([tracks, f"{before:.2f}", f"{after:.3f}", f"{before / after:.0f}x"])
    body = (f"One pair of models, 10 genres: {arguments.replicates} bootstrap replicates of both models' weighted F1 "
            f"and {arguments.replicates} paired permutations, as `trainer compare` runs them per pair. The mean "
            "replicate F1 of both formulations agrees to 1e-9.\n\n"
            + table(["test tracks", "per-call scikit-learn (s, before)", "confusion counts (s, now)", "speed-up"],
                    rows))
    print(body)
    record("Comparison statistics: before and after (issue 31)", body)


if __name__ == "__main__":
    main()
