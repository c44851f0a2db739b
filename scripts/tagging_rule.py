"""What the tagging rule itself gives on out-of-fold tracks: coverage, precision of the written genres and
of second genres by --top-k, and how often the top genre is right at each calibrated confidence, all with
95 % bootstrap (or exact binomial) intervals. The figures a user meets, not top-1 alone.

  python scripts/tagging_rule.py CV_UNIT [--model default] [--top-k 1 2 3] [--replicates 2000]

CV_UNIT: one configuration's folder of a `trainer compare --folds K` run (e.g. cv/musicnn-frozen-linear-seed0).
Every track is scored by the fold that held it out, with that fold's thresholds; its confidence is
calibrated by a temperature fitted on the other folds (cross-fitted), so no track chose its own figures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tagger.model import GenreModel, resolve_model
from trainer import calibrate, compare, metrics, stats


def ratio_with_interval(numerator: np.ndarray, denominator: np.ndarray, weights: np.ndarray) -> str:
    """sum(numerator) / sum(denominator) over tracks, with the bootstrap interval over resampled tracks."""
    return stats.with_optional_interval(stats.ratio(numerator, denominator),
                                        stats.ratio_interval(numerator, denominator, weights))


def rule_table(pooled: dict, calibrated: np.ndarray, ks: list[int], minimums: list[float | None],
               weights: np.ndarray) -> str:
    rows = ["| --top-k | --min-confidence | tracks tagged | written genres right | second genres right | "
            "genres per tagged track |", "| --- | --- | --- | --- | --- | --- |"]
    for minimum in minimums:
        for k in ks:
            written = metrics.written_genres(pooled["probabilities"], calibrated, pooled["thresholds"], k, minimum)
            figures = metrics.tagging_figures(pooled["targets"], pooled["probabilities"], written)
            ones = np.ones(len(written))
            per_tagged = figures["written"].sum() / max(figures["covered"].sum(), 1)
            rows.append(f"| {k} | {minimum if minimum is not None else 'none'} "
                        f"| {ratio_with_interval(figures['covered'], ones, weights)} "
                        f"| {ratio_with_interval(figures['right'], figures['written'], weights)} "
                        f"| {ratio_with_interval(figures['second_right'], figures['seconds'], weights)} "
                        f"| {per_tagged:.2f} |")
    return "\n".join(rows)


def reliability_table(targets: np.ndarray, calibrated: np.ndarray) -> str:
    confidence, hits = calibrate.top_confidence(targets, calibrated)
    rows = ["| calibrated top probability | tracks | top genre right | 95 % interval (exact) |",
            "| --- | --- | --- | --- |"]
    for row in calibrate.reliability(confidence, hits):
        right = round(row["accuracy"] * row["tracks"])
        low, high = binomtest(right, row["tracks"]).proportion_ci(0.95)
        rows.append(f"| {row['low']:.1f}-{row['high']:.1f} | {row['tracks']} | {right} ({row['accuracy']:.2f}) "
                    f"| [{low:.2f}, {high:.2f}] |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("unit", type=Path)
    parser.add_argument("--model", default="default", help="whose --min-confidence default to apply")
    parser.add_argument("--top-k", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--replicates", type=int, default=2000)
    arguments = parser.parse_args()
    pooled = compare.load_pooled(arguments.unit)
    calibrated = calibrate.cross_fitted(pooled["targets"], pooled["probabilities"], pooled["fold_of_track"])
    default_minimum = GenreModel(resolve_model(arguments.model)).info.min_confidence()
    weights = stats.bootstrap_weights(pooled["groups"], arguments.replicates, 0)
    print(f"{len(pooled['tracks'])} tracks, each held out by one of {pooled['folds']} folds ({arguments.unit}); "
          f"--min-confidence of `{arguments.model}`: {default_minimum}\n")
    print(rule_table(pooled, calibrated, arguments.top_k, [None, default_minimum], weights))
    print()
    print(reliability_table(pooled["targets"], calibrated))


if __name__ == "__main__":
    main()
