"""The comparison statistics on synthetic predictions with known answers."""

import numpy as np
import pytest

from trainer import stats


def synthetic(n_tracks: int = 60, n_classes: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_classes, n_tracks)
    targets = np.eye(n_classes, dtype=np.int64)[truth]
    return rng, truth, targets


def predictions_with_accuracy(rng, truth, n_classes, accuracy):
    correct = rng.random(len(truth)) < accuracy
    wrong = (truth + rng.integers(1, n_classes, len(truth))) % n_classes
    chosen = np.where(correct, truth, wrong)
    return np.eye(n_classes, dtype=np.int64)[chosen]


def test_identical_models_differ_by_zero_with_a_large_p():
    rng, truth, targets = synthetic()
    decided = predictions_with_accuracy(rng, truth, 4, 0.6)
    samples = stats.bootstrap_indices(np.arange(len(truth)), 500, seed=1)
    a = stats.replicate_scores(stats.weighted_f1, targets, decided, samples)
    differences = a - a
    assert np.all(differences == 0)
    assert stats.paired_bootstrap_p(differences) == 1.0
    assert stats.paired_permutation_p(stats.weighted_f1, targets, decided, decided, 200, seed=0) == 1.0
    assert stats.mcnemar_p(np.ones(5, bool), np.ones(5, bool)) == 1.0
    assert stats.naive_replicate_t_test_p(a, a) == 1.0


def test_a_clearly_better_model_gets_a_small_p():
    rng, truth, targets = synthetic(n_tracks=80)
    good = predictions_with_accuracy(rng, truth, 4, 0.9)
    poor = predictions_with_accuracy(rng, truth, 4, 0.35)
    samples = stats.bootstrap_indices(np.arange(len(truth)), 1000, seed=1)
    differences = (stats.replicate_scores(stats.weighted_f1, targets, good, samples)
                   - stats.replicate_scores(stats.weighted_f1, targets, poor, samples))
    assert stats.interval(differences)[0] > 0
    assert stats.paired_bootstrap_p(differences) < 0.01
    assert stats.paired_permutation_p(stats.weighted_f1, targets, good, poor, 500, seed=0) < 0.01
    good_correct = good.argmax(1) == truth
    poor_correct = poor.argmax(1) == truth
    assert stats.mcnemar_p(good_correct, poor_correct) < 0.001


def test_bootstrap_p_settles_while_the_naive_t_test_shrinks_with_more_replicates():
    rng, truth, targets = synthetic(n_tracks=50, seed=2)  # equally good models
    a = predictions_with_accuracy(rng, truth, 4, 0.6)
    b = predictions_with_accuracy(rng, truth, 4, 0.6)
    results = {}
    for replicates in (200, 5000):
        samples = stats.bootstrap_indices(np.arange(len(truth)), replicates, seed=7)
        first = stats.replicate_scores(stats.weighted_f1, targets, a, samples)
        second = stats.replicate_scores(stats.weighted_f1, targets, b, samples)
        results[replicates] = (stats.paired_bootstrap_p(first - second), stats.naive_replicate_t_test_p(first, second))
    (boot_small, naive_small), (boot_large, naive_large) = results[200], results[5000]
    assert boot_large > 0.3 and abs(boot_large - boot_small) < 0.15  # a property of the distribution
    assert naive_large < naive_small / 100  # the seed's test: more replicates, "more significant"
    assert naive_large < 1e-6


def test_holm_matches_known_values():
    # Worked example: p = (0.01, 0.04, 0.03, 0.005) -> sorted 0.005*4, 0.01*3, 0.03*2, 0.04*1 with monotonicity
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert stats.holm([0.2, 0.01, 0.04]) == pytest.approx([0.2, 0.03, 0.08])
    assert stats.holm([0.2]) == pytest.approx([0.2])


def test_group_bootstrap_draws_whole_groups():
    groups = np.array(["a", "a", "a", "b", "c", "c"])
    for sample in stats.bootstrap_indices(groups, 50, seed=0):
        drawn = groups[sample]
        for group in ("a", "c"):
            assert np.sum(drawn == group) % np.sum(groups == group) == 0
        assert len(np.unique(sample)) <= len(groups)
