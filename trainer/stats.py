"""Honest comparisons of models evaluated on the same test tracks.

Everything resamples or permutes TRACKS (or artist groups): the windows of one track are not independent
observations. Every model is scored on the same resampled indices (a paired design), so the interval of
a difference reflects how the models differ on the same songs, not the luck of two separate draws.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from sklearn.metrics import f1_score

from trainer.metrics import decide

Metric = Callable[[np.ndarray, np.ndarray], float]  # (targets, predictions) over a subset of tracks


def weighted_f1(targets: np.ndarray, predictions: np.ndarray) -> float:
    return float(f1_score(targets, predictions, average="weighted", zero_division=0))


def macro_f1(targets: np.ndarray, predictions: np.ndarray) -> float:
    return float(f1_score(targets, predictions, average="macro", zero_division=0))


@dataclass(frozen=True)
class Predictions:
    """One model's decisions on the test tracks: multi-hot [tracks, classes] and top-1 indices."""

    decided: np.ndarray
    top1: np.ndarray

    @classmethod
    def from_probabilities(cls, probabilities: np.ndarray, thresholds: np.ndarray) -> Predictions:
        return cls(decide(probabilities, thresholds), probabilities.argmax(axis=1))


def top1_correct(targets: np.ndarray, predictions: Predictions) -> np.ndarray:
    return targets[np.arange(len(targets)), predictions.top1] == 1


def bootstrap_indices(groups: np.ndarray, replicates: int, seed: int) -> list[np.ndarray]:
    """Track indices of ``replicates`` resamples that draw whole groups with replacement."""
    rng = np.random.default_rng(seed)
    unique = np.unique(groups)
    members = {group: np.flatnonzero(groups == group) for group in unique}
    draws = rng.integers(0, len(unique), size=(replicates, len(unique)))
    return [np.concatenate([members[unique[i]] for i in row]) for row in draws]


def replicate_scores(metric: Metric, targets: np.ndarray, decided: np.ndarray, samples: list[np.ndarray]) -> np.ndarray:
    return np.array([metric(targets[index], decided[index]) for index in samples])


def interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def mean_interval(values: np.ndarray, samples: list[np.ndarray], level: float = 0.95) -> tuple[float, float]:
    """Bootstrap interval of the mean of per-track ``values`` (hits, differences) over ``samples``."""
    return interval(np.array([values[index].mean() for index in samples]), level)


def with_interval(value: float, bounds: Sequence[float], spec: str = ".3f") -> str:
    """``value [low, high]``: how every estimate is printed in tables, so none is quoted without its interval."""
    low, high = bounds
    return f"{value:{spec}} [{low:{spec}}, {high:{spec}}]"


def paired_bootstrap_p(differences: np.ndarray) -> float:
    """Two-sided p-value of 'no difference' from the bootstrap distribution of a paired difference.

    It is twice the smaller tail mass beyond zero: a property of the distribution, so it settles to a
    fixed value as replicates grow instead of shrinking toward zero.
    """
    n = len(differences)
    below = (np.sum(differences <= 0) + 1) / (n + 1)
    above = (np.sum(differences >= 0) + 1) / (n + 1)
    return float(min(1.0, 2 * min(below, above)))


def paired_permutation_p(
    metric: Metric, targets: np.ndarray, first: np.ndarray, second: np.ndarray, permutations: int, seed: int
) -> float:
    """Two-sided paired permutation test: swap the two models' predictions on random tracks."""
    observed = abs(metric(targets, first) - metric(targets, second))
    rng = np.random.default_rng(seed)
    extreme = 0
    for _ in range(permutations):
        swap = rng.random(len(targets)) < 0.5
        a = np.where(swap[:, None], second, first)
        b = np.where(swap[:, None], first, second)
        extreme += abs(metric(targets, a) - metric(targets, b)) >= observed - 1e-12
    return (extreme + 1) / (permutations + 1)


def mcnemar_p(first_correct: np.ndarray, second_correct: np.ndarray) -> float:
    """Exact McNemar test on top-1 correctness: only tracks where the models disagree count."""
    only_first = int(np.sum(first_correct & ~second_correct))
    only_second = int(np.sum(~first_correct & second_correct))
    if only_first + only_second == 0:
        return 1.0
    return float(stats.binomtest(only_first, only_first + only_second, 0.5).pvalue)


def naive_replicate_t_test_p(first: np.ndarray, second: np.ndarray) -> float:
    """The seed's method, kept only to show its flaw: a paired t-test treating bootstrap replicates as
    independent samples. Its p-value shrinks toward 0 as replicates grow, whatever the true difference."""
    differences = first - second
    if np.allclose(differences, 0):
        return 1.0
    return float(stats.ttest_rel(first, second).pvalue)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1), in the input order."""
    order = np.argsort(p_values)
    m = len(p_values)
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, (m - rank) * p_values[index])
        adjusted[index] = min(1.0, running)
    return adjusted.tolist()
