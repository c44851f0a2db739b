"""Analysing one file: decode the windows the model needs, average its probabilities over them, calibrate.

This is the part of a scan that runs in worker processes, so it depends on nothing of the scan's
orchestration (``tagger.scan``) and returns plain values that cross process boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the scan's main process reads Analysis records; only workers decode (numpy, soundfile, soxr)
    import numpy as np

    from tagger.model import GenreModel
    from tagger.remote import RemoteFile


@dataclass(frozen=True)
class Analysis:
    """What a worker found in one file: probabilities per genre, or why there are none."""

    path: str
    scores: list[float] | None = None
    error: str = ""
    skip_reason: str = ""
    embedding: np.ndarray | None = None  # [windows, width], where the embedding was asked for (`tagger learn`)


def _decoded(path: str, model: GenreModel, windows: int, source: Path | RemoteFile | None = None,
             ) -> np.ndarray | Analysis:
    """The file's windows as the model takes them, or the Analysis that says why there are none; ``source``
    reads it where that is not the local file at ``path`` (an object in storage)."""
    from tagger import audio

    info = model.info
    try:
        samples = audio.read_windows(source or Path(path), info.sample_rate, info.window_seconds, windows)
    except audio.DecodeError as error:
        return Analysis(path, error=str(error))
    except OSError as error:
        return Analysis(path, error=f"cannot read file: {error.strerror or error}")
    if audio.is_silent(samples):
        return Analysis(path, skip_reason="digital silence: nothing to classify")
    return samples


def analyze(path: str, model: GenreModel, windows: int, source: Path | RemoteFile | None = None) -> Analysis:
    """Decode ``windows`` windows of one file, average the model's probabilities over them and calibrate."""
    samples = _decoded(path, model, windows, source)
    if isinstance(samples, Analysis):
        return samples
    probabilities = model.info.calibration.apply(model.predict(samples).mean(axis=0))
    return Analysis(path, scores=[round(float(p), 6) for p in probabilities])


def embed(path: str, model: GenreModel, windows: int) -> Analysis:
    """Decode ``windows`` windows of one file and give the model's embedding of each."""
    samples = _decoded(path, model, windows)
    if isinstance(samples, Analysis):
        return samples
    return Analysis(path, embedding=model.embed(samples))
