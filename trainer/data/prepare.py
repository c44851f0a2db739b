"""From a dataset path to decoded, split, label-encoded tracks ready for training and evaluation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tagger.progress import tracked
from trainer.config import TrainConfig
from trainer.data.cache import DecodeError, WaveformCache, cache_root
from trainer.data.sources import Dataset, Track, load_dataset
from trainer.data.split import SPLITS, Split, cap_per_class, drop_rare_labels, fold_splits, split_tracks

Log = Callable[[str], None]


@dataclass
class SplitData:
    """The tracks of one side of the split, decoded, with their multi-hot targets [tracks, classes]."""

    tracks: list[Track]
    waveforms: list[np.ndarray]
    targets: np.ndarray


@dataclass
class PreparedData:
    labels: list[str]
    split: Split
    sides: dict[str, SplitData]
    description: str


def encode(tracks: list[Track], labels: list[str]) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    targets = np.zeros((len(tracks), len(labels)), dtype=np.float32)
    for row, track in enumerate(tracks):
        for label in track.labels:
            if label in index:
                targets[row, index[label]] = 1.0
    return targets


def decode_tracks(tracks: list[Track], cache: WaveformCache, log: Log, side: str,
                  ) -> tuple[list[Track], list[np.ndarray]]:
    """Decode through the cache, with a bar on a terminal; a track that cannot be decoded is reported and
    left out."""
    decoded = [(track, _decoded(track, cache, log)) for track in tracked(tracks, len(tracks), f"decoding {side}",
                                                                         "track")]
    kept = [(track, waveform) for track, waveform in decoded if waveform is not None]
    return [track for track, _ in kept], [waveform for _, waveform in kept]


def _decoded(track: Track, cache: WaveformCache, log: Log) -> np.ndarray | None:
    try:
        return cache.get(track.path)
    except (DecodeError, OSError) as error:
        log(f"skipping {track.id}: {error}")
        return None


def usable_tracks(config: TrainConfig, log: Log | None) -> tuple[Dataset, list[Track], list[str]]:
    """The dataset, its tracks without genres rarer than ``min_tracks``, and the genres kept; the dropped
    genres are named in ``log`` (where the split is made: once a run, not once a fold)."""
    dataset = load_dataset(Path(config.data), config.labels_from_tags)
    tracks, kept_labels = drop_rare_labels(dataset.tracks, config.min_tracks)
    counts = Counter(label for track in dataset.tracks for label in track.labels)
    dropped = sorted(set(counts) - set(kept_labels))
    if dropped and log is not None:
        log(f"dropped {len(dropped)} genres with fewer than {config.min_tracks} tracks (--min-tracks): "
            + ", ".join(f"{label} ({counts[label]})" for label in dropped))
    return dataset, tracks, kept_labels


def prepare(config: TrainConfig, sample_rate: int, log: Log, split: Split | None = None,
            labels: list[str] | None = None) -> PreparedData:
    """Load, filter, split (unless ``split`` is given, e.g. from a run's split.json) and decode."""
    dataset, tracks, kept_labels = usable_tracks(config, log if split is None else None)
    labels = labels or kept_labels
    if split is None:
        split = split_tracks(tracks, config.val_fraction, config.test_fraction, config.split_seed, config.group_by)
    by_id = {track.id: track for track in tracks}
    if config.max_per_class:  # a no-op on a split that was capped before (a run's split.json)
        capped = cap_per_class([by_id[i] for i in split.train if i in by_id], config.max_per_class, config.split_seed)
        split = replace(split, train=[track.id for track in capped])
    cache = WaveformCache(cache_root(config.cache_dir), sample_rate)
    sides = {}
    for name in SPLITS:
        side_tracks = [by_id[i] for i in getattr(split, name) if i in by_id]
        side_tracks, waveforms = decode_tracks(side_tracks, cache, log, name)
        sides[name] = SplitData(side_tracks, waveforms, encode(side_tracks, labels))
        log(f"{name}: {len(side_tracks)} tracks")
    return PreparedData(labels, split, sides, dataset.description)


def cross_validation_splits(config: TrainConfig, folds: int, log: Log) -> list[Split]:
    """The K folds of the dataset's tracks (after rare genres are dropped, as ``prepare`` drops them)."""
    _, tracks, _ = usable_tracks(config, log)
    splits = fold_splits(tracks, folds, config.val_fraction, config.split_seed, config.group_by)
    log(f"{folds}-fold cross-validation by {config.group_by}: test folds of "
        f"{', '.join(str(len(split.test)) for split in splits)} tracks")
    return splits
