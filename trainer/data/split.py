"""Track-level (or artist-level) train/validation/test splits, stratified by primary genre, and
class balancing. Windows are cut only after the split, so no track can be on two sides."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from trainer.data.sources import Track

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    train: list[str]
    val: list[str]
    test: list[str]
    fold: str | None = None  # "k/K" when this is fold k of a K-fold cross-validation

    def to_dict(self) -> dict[str, Any]:
        sides: dict[str, Any] = {"train": self.train, "val": self.val, "test": self.test}
        return {**sides, "fold": self.fold} if self.fold else sides


def group_key(track: Track, group_by: str) -> str:
    """The unit that must stay on one side: the track itself, or its artist when known."""
    if group_by == "artist" and track.artist:
        return f"artist:{track.artist.casefold()}"
    return f"track:{track.id}"


def split_tracks(
    tracks: list[Track], val_fraction: float, test_fraction: float, seed: int, group_by: str = "track"
) -> Split:
    """Assign whole groups to splits, per primary genre, so each genre appears on every side it can.

    Within each genre the groups are shuffled with ``seed`` and the first ``test_fraction`` go to test,
    the next ``val_fraction`` to validation; a genre with at least three groups gets at least one in
    each held-out side.
    """
    groups, by_genre = _groups_by_genre(tracks, group_by)
    rng = random.Random(seed)
    assigned: dict[str, list[str]] = {name: [] for name in SPLITS}
    for genre in sorted(by_genre):
        keys = by_genre[genre]
        rng.shuffle(keys)
        n_test = _held_out_count(len(keys), test_fraction)
        n_val = _held_out_count(len(keys) - n_test, val_fraction / max(1e-9, 1 - test_fraction))
        sides = {"test": keys[:n_test], "val": keys[n_test : n_test + n_val], "train": keys[n_test + n_val :]}
        for side, side_keys in sides.items():
            assigned[side] += [track.id for key in side_keys for track in groups[key]]
    return Split(*_sorted_sides(assigned))


def fold_splits(tracks: list[Track], folds: int, val_fraction: float, seed: int, group_by: str = "track",
                ) -> list[Split]:
    """K-fold cross-validation over whole groups, stratified by primary genre: every track is tested in
    exactly one fold.

    Each genre's groups, shuffled with ``seed``, are dealt to the folds in turn (continuing where the
    previous genre stopped, so fold sizes stay even). In fold k the groups of the other folds are split
    again per genre: ``val_fraction`` of them (at least one where a genre has three) validate, the rest train.
    """
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    groups, by_genre = _groups_by_genre(tracks, group_by)
    if len(groups) < folds:
        raise ValueError(f"{len(groups)} groups of tracks cannot fill {folds} folds")
    rng = random.Random(seed)
    fold_of: dict[str, int] = {}
    dealt = 0
    for genre in sorted(by_genre):
        keys = by_genre[genre]
        rng.shuffle(keys)
        for key in keys:
            fold_of[key] = dealt % folds
            dealt += 1
    splits = []
    for fold in range(folds):
        assigned: dict[str, list[str]] = {name: [] for name in SPLITS}
        fold_rng = random.Random(f"{seed}/{fold}")
        for genre in sorted(by_genre):
            test = [key for key in by_genre[genre] if fold_of[key] == fold]
            rest = sorted(key for key in by_genre[genre] if fold_of[key] != fold)
            fold_rng.shuffle(rest)
            n_val = _held_out_count(len(rest), val_fraction)
            for side, side_keys in (("test", test), ("val", rest[:n_val]), ("train", rest[n_val:])):
                assigned[side] += [track.id for key in side_keys for track in groups[key]]
        splits.append(Split(*_sorted_sides(assigned), fold=f"{fold + 1}/{folds}"))
    return splits


def _sorted_sides(assigned: dict[str, list[str]]) -> tuple[list[str], list[str], list[str]]:
    return sorted(assigned["train"]), sorted(assigned["val"]), sorted(assigned["test"])


def _groups_by_genre(tracks: list[Track], group_by: str) -> tuple[dict[str, list[Track]], dict[str, list[str]]]:
    """The tracks of each group, and each primary genre's group keys (a group counts for its commonest genre)."""
    groups: dict[str, list[Track]] = defaultdict(list)
    for track in tracks:
        groups[group_key(track, group_by)].append(track)
    by_genre: dict[str, list[str]] = defaultdict(list)
    for key, members in sorted(groups.items()):
        genre = Counter(track.primary for track in members).most_common(1)[0][0]
        by_genre[genre].append(key)
    return groups, by_genre


def _held_out_count(groups: int, fraction: float) -> int:
    if groups < 3 or fraction <= 0:
        return 0
    return max(1, round(groups * fraction))


def cap_per_class(tracks: list[Track], max_per_class: int, seed: int) -> list[Track]:
    """Undersample: keep at most ``max_per_class`` tracks per primary genre (a seeded random choice)."""
    rng = random.Random(seed)
    by_genre: dict[str, list[Track]] = defaultdict(list)
    for track in tracks:
        by_genre[track.primary].append(track)
    kept = []
    for genre in sorted(by_genre):
        members = by_genre[genre]
        kept += members if len(members) <= max_per_class else rng.sample(members, max_per_class)
    return sorted(kept, key=lambda track: track.id)


def drop_rare_labels(tracks: list[Track], min_tracks: int) -> tuple[list[Track], list[str]]:
    """Remove genres with fewer than ``min_tracks`` tracks; tracks left with no genre are dropped.

    Returns the remaining tracks and the sorted list of kept genres.
    """
    counts = Counter(label for track in tracks for label in track.labels)
    kept_labels = sorted(label for label, count in counts.items() if count >= min_tracks)
    keep = set(kept_labels)
    remaining = []
    for track in tracks:
        labels = tuple(label for label in track.labels if label in keep)
        if labels:
            remaining.append(Track(track.id, track.path, labels, track.artist))
    return remaining, kept_labels
