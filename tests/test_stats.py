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


def counts(targets, decided):
    return stats.ClassCounts.per_track(targets, decided)


def test_f1_from_counts_is_scikit_learns_on_multi_label_data_with_empty_classes():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(3)
    for trial in range(20):
        targets = (rng.random((40, 6)) < 0.3).astype(np.int64)
        decided = (rng.random((40, 6)) < 0.3).astype(np.int64)
        targets[:, trial % 6] = 0  # a class nobody has
        decided[:, (trial + 1) % 6] = 0  # a class nobody predicts
        for average, ours in (("weighted", stats.weighted_f1), ("macro", stats.macro_f1)):
            assert ours(targets, decided) == pytest.approx(f1_score(targets, decided, average=average,
                                                                    zero_division=0), abs=1e-12)
        per_class = f1_score(targets, decided, average=None, zero_division=0)
        assert counts(targets, decided).total().per_class_f1() == pytest.approx(per_class, abs=1e-12)
    assert stats.weighted_f1(np.zeros((3, 2)), np.zeros((3, 2))) == 0.0


def test_replicates_are_the_metric_on_each_resample_of_the_tracks():
    rng, truth, targets = synthetic(n_tracks=30)
    decided = predictions_with_accuracy(rng, truth, 4, 0.6)
    groups = np.repeat(np.arange(10), 3)
    weights = stats.bootstrap_weights(groups, 50, seed=4)
    replicates = stats.replicate_scores(stats.weighted_f1_of, counts(targets, decided), weights)
    for row, score in zip(weights, replicates, strict=True):
        drawn = np.repeat(np.arange(len(row)), row.astype(int))
        assert score == pytest.approx(stats.weighted_f1(targets[drawn], decided[drawn]), abs=1e-12)
    hits = decided.argmax(1) == truth
    low, high = stats.mean_interval(hits, weights)
    assert low <= hits.mean() <= high


def test_identical_models_differ_by_zero_with_a_large_p():
    rng, truth, targets = synthetic()
    decided = predictions_with_accuracy(rng, truth, 4, 0.6)
    weights = stats.bootstrap_weights(np.arange(len(truth)), 500, seed=1)
    a = stats.replicate_scores(stats.weighted_f1_of, counts(targets, decided), weights)
    differences = a - a
    assert np.all(differences == 0)
    assert stats.paired_bootstrap_p(differences) == 1.0
    same = counts(targets, decided)
    assert stats.paired_permutation_p(stats.weighted_f1_of, same, same, 2500, seed=0) == 1.0
    assert stats.mcnemar_p(np.ones(5, bool), np.ones(5, bool)) == 1.0
    assert stats.naive_replicate_t_test_p(a, a) == 1.0


def test_a_clearly_better_model_gets_a_small_p():
    rng, truth, targets = synthetic(n_tracks=80)
    good = predictions_with_accuracy(rng, truth, 4, 0.9)
    poor = predictions_with_accuracy(rng, truth, 4, 0.35)
    weights = stats.bootstrap_weights(np.arange(len(truth)), 1000, seed=1)
    differences = (stats.replicate_scores(stats.weighted_f1_of, counts(targets, good), weights)
                   - stats.replicate_scores(stats.weighted_f1_of, counts(targets, poor), weights))
    assert stats.interval(differences)[0] > 0
    assert stats.paired_bootstrap_p(differences) < 0.01
    assert stats.paired_permutation_p(stats.weighted_f1_of, counts(targets, good), counts(targets, poor), 500,
                                      seed=0) < 0.01
    good_correct = good.argmax(1) == truth
    poor_correct = poor.argmax(1) == truth
    assert stats.mcnemar_p(good_correct, poor_correct) < 0.001


def test_bootstrap_p_settles_while_the_naive_t_test_shrinks_with_more_replicates():
    rng, truth, targets = synthetic(n_tracks=50, seed=2)  # equally good models
    a = predictions_with_accuracy(rng, truth, 4, 0.6)
    b = predictions_with_accuracy(rng, truth, 4, 0.6)
    results = {}
    for replicates in (200, 5000):
        weights = stats.bootstrap_weights(np.arange(len(truth)), replicates, seed=7)
        first = stats.replicate_scores(stats.weighted_f1_of, counts(targets, a), weights)
        second = stats.replicate_scores(stats.weighted_f1_of, counts(targets, b), weights)
        results[replicates] = (stats.paired_bootstrap_p(first - second), stats.naive_replicate_t_test_p(first, second))
    (boot_small, naive_small), (boot_large, naive_large) = results[200], results[5000]
    assert boot_large > 0.3 and abs(boot_large - boot_small) < 0.15  # a property of the distribution
    assert naive_large < naive_small / 100  # the naive test: more replicates, "more significant"
    assert naive_large < 1e-6


def test_holm_matches_known_values():
    # Worked example: p = (0.01, 0.04, 0.03, 0.005) -> sorted 0.005*4, 0.01*3, 0.03*2, 0.04*1 with monotonicity
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert stats.holm([0.2, 0.01, 0.04]) == pytest.approx([0.2, 0.03, 0.08])
    assert stats.holm([0.2]) == pytest.approx([0.2])


def test_group_bootstrap_draws_whole_groups():
    groups = np.array(["a", "a", "a", "b", "c", "c"])
    weights = stats.bootstrap_weights(groups, 50, seed=0)
    assert weights.shape == (50, 6)
    for row in weights:
        for group in ("a", "b", "c"):
            assert len(set(row[groups == group])) == 1  # a group is drawn whole, each of its tracks as often
    assert weights[:, [0, 3, 4]].sum(axis=1).tolist() == [3.0] * 50  # three groups drawn three times in all
