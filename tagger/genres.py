"""Deciding which genres to write: from probabilities to a list, and combined with existing tags."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from tagger.vocabulary import without_duplicates

if TYPE_CHECKING:  # numpy is not imported at run time here: `tagger --help` and settings need none of it
    import numpy as np


class Mode(str, Enum):
    """How predicted genres combine with the genres a file already has."""

    REPLACE = "replace"  # write the predicted genres, dropping the old ones
    MERGE = "merge"  # keep the old genres and add predicted ones that are missing
    FILL_EMPTY = "fill-empty"  # write only to files that have no genre yet (placeholders count as none)


DEFAULT_MODE = Mode.FILL_EMPTY  # a user's own genres are theirs: changing them takes --mode replace or merge

# What taggers and rippers write when they know no genre. Numeric ID3v1 references: 12 is "Other", 255 "none".
PLACEHOLDERS = frozenset({"", "other", "unknown", "genre", "none", "(12)", "12", "(255)", "255"})


def is_placeholder(genre: str) -> bool:
    """Whether a genre value says nothing (blank, "Other", "Unknown", "(12)", ...)."""
    return " ".join(genre.split()).casefold() in PLACEHOLDERS


def own_genres(existing: list[str]) -> list[str]:
    """The genres a file really has: its values without placeholders."""
    return [genre for genre in existing if not is_placeholder(genre)]


DEFAULT_TOP_K = 1  # genres written per file at most: the second was right 2 times in 16 (scripts/tagging_rule.py)


def choose(probabilities: np.ndarray, thresholds: np.ndarray, top_k: int) -> list[int]:
    """Indices of the chosen genres, most probable first.

    A genre is chosen when its probability reaches its threshold; at most ``top_k`` are kept, and the
    most probable genre is always chosen, so every analysed track gets a genre.
    """
    order = sorted(range(len(probabilities)), key=lambda index: -float(probabilities[index]))  # stable
    chosen = [index for index in order if probabilities[index] >= thresholds[index]]
    return (chosen or order[:1])[: max(1, top_k)]


def below_confidence(probabilities: np.ndarray, min_confidence: float | None) -> bool:
    """Whether the model is too unsure to write anything: its top genre's probability is below the minimum."""
    return min_confidence is not None and float(max(probabilities)) < min_confidence


def explain(probabilities: np.ndarray, thresholds: np.ndarray, top_k: int) -> list[str]:
    """Why ``choose`` took or left each genre, in output order: the rule spelled out for a person."""
    chosen = choose(probabilities, thresholds, top_k)
    reasons = []
    for index, (score, threshold) in enumerate(zip(probabilities, thresholds, strict=True)):
        if index in chosen:
            reasons.append(f"chosen: {score:.2f} reaches its threshold {threshold:.2f}" if score >= threshold
                           else f"chosen: the most probable genre, though below its threshold {threshold:.2f}")
        elif score >= threshold:
            reasons.append(f"left out: reaches its threshold {threshold:.2f}, but only {top_k} genre(s) are kept")
        else:
            reasons.append(f"left out: below its threshold {threshold:.2f}")
    return reasons


def combine(existing: list[str], predicted: list[str], mode: Mode) -> list[str]:
    """The genre list a file should carry after tagging. Merging keeps the file's own spelling of a genre
    and never adds a second spelling of it (``tagger.vocabulary``: "hiphop" and "Hip-Hop" are one)."""
    if mode is Mode.REPLACE:
        return list(predicted)
    own = own_genres(existing)
    if mode is Mode.FILL_EMPTY:
        return list(existing) if own else list(predicted)
    return without_duplicates(own + list(predicted))


def split_values(values: list[str], separator: str | None) -> list[str]:
    """The genres in a file's tag values, where a value may hold several joined by ``separator`` (``--separator``;
    spaces around it do not matter). Without one, each value is one genre."""
    if not separator:
        return list(values)
    mark = separator.strip() or separator
    return [part.strip() for value in values for part in value.split(mark) if part.strip()]


def join_values(genres: list[str], separator: str | None) -> list[str]:
    """The tag values to write: one per genre, or all in one joined by ``separator`` for players that show
    only a field's first value."""
    return [separator.join(genres)] if separator and genres else list(genres)
