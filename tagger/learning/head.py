"""The user's genre head: multinomial logistic regression on the backbone's window embeddings (scikit-learn).

A linear head on a frozen pretrained network is what a few dozen examples per genre can retrain well, and
it is the shape of the shipped default. Each window of a track is one example with the track's genres (a
track with two genres counts once for each, at half weight); a track's probabilities are the mean over its
windows, as a scan computes them. The regularisation is chosen by cross-validation within the tracks it is
fitted on, grouped so that one album never sits on both sides; the embeddings are standardised, and the
standardisation is folded into the head's weights so that the model file needs nothing but a Gemm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

C_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)  # inverse regularisation strengths tried (scikit-learn's C)
FOLDS = 5  # outer folds estimating accuracy, and inner folds choosing C; fewer where there are fewer groups
MAX_ITERATIONS = 2000
MIN_SPREAD = 1e-3  # the embedding's units are a batch norm's: about 1
ABSENT_LOGIT = -1e4  # a genre a fold's training tracks lack gets no probability there


@dataclass(frozen=True)
class Examples:
    """Window embeddings with the genres of their tracks: ``embeddings`` [windows, width], ``targets``
    [tracks, genres] multi-hot, ``track_of_window`` [windows], ``groups`` [tracks] (album, artist or track)."""

    embeddings: np.ndarray
    targets: np.ndarray
    track_of_window: np.ndarray
    groups: np.ndarray

    def of_tracks(self, tracks: np.ndarray) -> Examples:
        """The examples of some tracks, renumbered in that order."""
        renumber = np.full(len(self.targets), -1)
        renumber[tracks] = np.arange(len(tracks))
        windows = np.flatnonzero(renumber[self.track_of_window] >= 0)
        return Examples(self.embeddings[windows], self.targets[tracks],
                        renumber[self.track_of_window[windows]], self.groups[tracks])


@dataclass(frozen=True)
class Head:
    """logits = embedding @ weights + bias, softmax: ``weights`` [width, genres] in the embedding's own units."""

    weights: np.ndarray
    bias: np.ndarray
    regularisation: float  # the C chosen

    def window_probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        logits = embeddings @ self.weights + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exponentials = np.exp(logits)
        return exponentials / exponentials.sum(axis=1, keepdims=True)

    def track_probabilities(self, examples: Examples) -> np.ndarray:
        """The mean of each track's window probabilities: [tracks, genres]."""
        from trainer.metrics import track_probabilities

        return track_probabilities(self.window_probabilities(examples.embeddings), examples.track_of_window,
                                   len(examples.targets))


def _rows(examples: Examples) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row per window and genre of its track: (embeddings, genre index, weight 1/genres of the track)."""
    track_rows, genres = np.nonzero(examples.targets[examples.track_of_window])
    weights = 1.0 / examples.targets.sum(axis=1)[examples.track_of_window[track_rows]]
    return examples.embeddings[track_rows], genres, weights


def _fitted(examples: Examples, regularisation: float, n_genres: int) -> Head:
    from sklearn.linear_model import LogisticRegression

    inputs, genres, weights = _rows(examples)
    weights_out = np.zeros((inputs.shape[1], n_genres))
    bias = np.full(n_genres, ABSENT_LOGIT)
    present = np.unique(genres)
    if len(present) == 1:  # a fold whose training tracks hold one genre: it is all the head can say
        bias[present] = 0.0
        return Head(weights_out, bias, regularisation)
    mean, spread = inputs.mean(axis=0), inputs.std(axis=0)
    # A feature (nearly) constant over these tracks is left unscaled: dividing by its tiny spread would
    # blow rounding noise up into a feature that the head could fit.
    scale = np.where(spread < MIN_SPREAD, 1.0, spread)
    model = LogisticRegression(C=regularisation, max_iter=MAX_ITERATIONS)
    model.fit((inputs - mean) / scale, genres, sample_weight=weights)
    if len(present) == 2:  # scikit-learn keeps one row for two classes: the second's logit against the first's
        coefficients = np.vstack([-model.coef_[0] / 2, model.coef_[0] / 2])
        intercepts = np.array([-model.intercept_[0] / 2, model.intercept_[0] / 2])
    else:
        coefficients, intercepts = model.coef_, model.intercept_
    weights_out[:, present] = (coefficients / scale).T
    bias[present] = intercepts - (coefficients * (mean / scale)).sum(axis=1)
    return Head(weights_out, bias, regularisation)


def group_folds(examples: Examples, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(training tracks, held-out tracks) per fold: whole groups held out, genres balanced across folds
    as far as the groups allow (scikit-learn's StratifiedGroupKFold on each track's first genre)."""
    from sklearn.model_selection import StratifiedGroupKFold

    primary = examples.targets.argmax(axis=1)
    # No more folds than the rarest genre has tracks: every fold can then hold each genre out once.
    count = min(folds, len(np.unique(examples.groups)), int(np.unique(primary, return_counts=True)[1].min()))
    if count < 2:
        return []
    splitter = StratifiedGroupKFold(n_splits=count, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(primary)), primary, examples.groups))


def _held_out_log_loss(examples: Examples, regularisation: float, folds: list, n_genres: int) -> float:
    losses = []
    for training, held_out in folds:
        test = examples.of_tracks(held_out)
        probabilities = _fitted(examples.of_tracks(training), regularisation, n_genres).track_probabilities(test)
        truth = test.targets / test.targets.sum(axis=1, keepdims=True)
        losses.append(-np.sum(truth * np.log(np.clip(probabilities, 1e-7, 1))) / len(test.targets))
    return float(np.mean(losses))


def fit_head(examples: Examples, seed: int = 0) -> Head:
    """The head with the C of the least held-out log loss of track probabilities (inner grouped folds)."""
    n_genres = examples.targets.shape[1]
    folds = group_folds(examples, FOLDS, seed)
    if not folds:
        return _fitted(examples, 1.0, n_genres)
    best = min(C_GRID, key=lambda c: _held_out_log_loss(examples, c, folds, n_genres))
    return _fitted(examples, best, n_genres)


@dataclass(frozen=True)
class CrossValidation:
    """Every track's probabilities from a head that never saw its group, and which fold held it out."""

    probabilities: np.ndarray  # [tracks, genres]
    fold_of_track: np.ndarray
    folds: int


def cross_validate(examples: Examples, seed: int = 0) -> CrossValidation:
    """Outer grouped folds around ``fit_head`` (which chooses C inside each fold's training tracks), so the
    figures are of heads whose every choice was made without the tracks they are measured on."""
    folds = group_folds(examples, FOLDS, seed)
    probabilities = np.zeros(examples.targets.shape)
    fold_of_track = np.zeros(len(examples.targets), dtype=np.int64)
    for index, (training, held_out) in enumerate(folds):
        probabilities[held_out] = fit_head(examples.of_tracks(training), seed).track_probabilities(
            examples.of_tracks(held_out))
        fold_of_track[held_out] = index
    return CrossValidation(probabilities, fold_of_track, len(folds))
