"""`tagger learn`, start to end: read the library's own genres, embed its tracks with the base model's
backbone, estimate by grouped cross-validation what a head will do, then fit the head on every track,
calibrate it on the cross-validated probabilities and write it as one model file.

Every figure printed comes from heads that never saw the tracks they are measured on; what the file
records (thresholds, temperature, --min-confidence) is chosen on the same out-of-fold probabilities, as
the shipped default's are.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger.embedding_cache import EmbeddingCache
from tagger.learning import MIN_TRACKS
from tagger.learning.embeddings import embed_files
from tagger.learning.head import Examples, cross_validate, fit_head
from tagger.learning.labels import Labels, choose_labels, read_tagged
from tagger.learning.model_file import metadata, write_model
from tagger.learning.report import CrossValidatedFigures, figures
from tagger.model import GenreModel
from tagger.scan import discover
from tagger.vocabulary import GenreVocabulary

Say = Callable[[str], None]


class LearnError(Exception):
    """Too little to learn from, said in one line."""


@dataclass(frozen=True)
class LearnOptions:
    out: Path
    windows: int | None = None  # None: the base model's windows per track
    min_tracks: int = MIN_TRACKS
    grouping: str = "album"
    jobs: int = 1
    separator: str | None = None
    exclude: tuple[str, ...] = ()
    vocabulary: GenreVocabulary = field(default_factory=GenreVocabulary)
    seed: int = 0


@dataclass(frozen=True)
class Learned:
    model: GenreModel
    figures: CrossValidatedFigures
    labels: Labels


def _library_files(paths: Iterable[Path], exclude: tuple[str, ...], say: Say) -> list[Path]:
    files = []
    for found in discover(paths, exclude=exclude):
        if isinstance(found, Path):
            files.append(found)
        else:
            say(f"error: {found.path}: {found.error}")
    return files


def _labels(paths: Iterable[Path], options: LearnOptions, say: Say) -> Labels:
    files = _library_files(paths, options.exclude, say)
    reading = read_tagged(files, options.vocabulary, options.separator, options.grouping)
    for path, reason in reading.errors:
        say(f"error: {path}: cannot read its genres: {reason}")
    labels = choose_labels(reading.tagged, options.min_tracks)
    say(f"{len(files)} audio files: {len(reading.tagged)} carry genres of their own, {reading.untagged} none")
    if labels.dropped:
        say(f"not learned (fewer than {options.min_tracks} tracks each): "
            + ", ".join(f"{name} ({count})" for name, count in labels.dropped.items()))
    if len(labels.names) < 2:
        raise LearnError(f"{len(labels.names)} genre(s) with at least {options.min_tracks} tracks: tag at least two "
                         "genres on that many tracks each (or lower --min-tracks)")
    return labels


def _examples(labels: Labels, embedded: dict[Path, np.ndarray]) -> Examples:
    """The examples of the tracks that were embedded."""
    kept = [index for index, track in enumerate(labels.tracks) if track.path in embedded]
    column = {name: index for index, name in enumerate(labels.names)}
    targets = np.zeros((len(kept), len(labels.names)))
    for row, index in enumerate(kept):
        targets[row, [column[genre] for genre in labels.tracks[index].genres]] = 1
    windows = [embedded[labels.tracks[index].path] for index in kept]
    return Examples(np.concatenate(windows), targets,
                    np.repeat(np.arange(len(kept)), [len(window) for window in windows]),
                    np.array([labels.tracks[index].group for index in kept]))


def _say_single_group_genres(examples: Examples, names: list[str], grouping: str, say: Say) -> None:
    """Name the genres whose tracks all share one album (or artist): cross-validation holds that group out
    whole, so their figures say how the head does on other albums, from none of them."""
    for index, name in enumerate(names):
        groups = set(examples.groups[examples.targets[:, index] == 1])
        if len(groups) == 1:
            say(f"note: every track of {name} is on one {grouping}: its figures below are for music it never "
                "heard an example of; tag tracks of other albums for a truer figure")


def learn(paths: Iterable[Path], base: GenreModel, cache: EmbeddingCache, options: LearnOptions, say: Say) -> Learned:
    """Learn the genres of the files under ``paths`` and write the model to ``options.out``."""
    from trainer.calibrate import calibrate
    from trainer.metrics import tune_thresholds

    if not base.has_embedding:
        raise LearnError(f"the model {base.path} gives no embedding to learn from; the shipped default does "
                         "(leave out --model)")
    labels = _labels(paths, options, say)
    windows = base.info.windows_per_track(options.windows)
    say("learning " + ", ".join(f"{name} ({sum(name in t.genres for t in labels.tracks)})" for name in labels.names))
    embedded, from_cache = embed_files([track.path for track in labels.tracks], base, windows, options.jobs,
                                       cache, lambda path, reason: say(f"error: {path}: {reason}"))
    say(f"embedded {len(embedded) - from_cache} tracks ({from_cache} found in the cache)")
    examples = _examples(labels, embedded)
    if len({int(np.argmax(row)) for row in examples.targets}) < 2 or len(np.unique(examples.groups)) < 2:
        raise LearnError("too few tracks could be embedded to learn from (see the errors above)")
    _say_single_group_genres(examples, labels.names, options.grouping, say)
    validation = cross_validate(examples, options.seed)
    thresholds = tune_thresholds(examples.targets, validation.probabilities)
    calibration = calibrate(examples.targets, validation.probabilities,
                            f"out-of-fold probabilities of {len(examples.targets)} tracks ({validation.folds} folds "
                            f"grouped by {options.grouping})")
    result = figures(examples.targets, validation.probabilities, calibration.apply(validation.probabilities),
                     labels.names, validation.folds, options.grouping, calibration.apply(thresholds),
                     calibration.min_confidence)
    for line in result.lines():
        say(line)
    head = fit_head(examples, options.seed)
    today = datetime.date.today().isoformat()
    counts = ", ".join(f"{genre.name} {genre.tracks}" for genre in result.genres)
    values = metadata(base, labels.names, thresholds, windows, calibration, result.as_metadata(),
                      f"{len(examples.targets)} tracks of the user's library, by their own genre tags ({counts}); "
                      f"a head learned by `tagger learn` on {today} on the embedding of {base.info.model_version}",
                      f"learned-{today}-on-{base.info.model_version}")
    model = write_model(base, head, values, options.out)
    return Learned(model, result, labels)
