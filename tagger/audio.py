"""Decoding audio into the mono, resampled windows the model expects.

Only the excerpts that will be analysed are decoded: libsndfile seeks sample-accurately in MP3, FLAC,
Ogg and WAV, so three 4-second windows of a 4-minute song cost a fraction of a full decode.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile
import soxr

# Below this peak level (about -100 dBFS) a track is treated as digital silence.
SILENCE_PEAK = 1e-5


class DecodeError(Exception):
    """The file could not be decoded as audio; the message is one line meant for the user."""


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Silence C-level writes to stderr (file descriptor 2) for the duration.

    libmpg123, inside libsndfile, prints a line to stderr for every MP3 frame it cannot fully decode
    after a seek (the bit reservoir of the frame before is missing). The decode itself is fine, and
    errors reach us as exceptions, so these lines are only noise in a library scan's output.
    """
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _open(path: Path) -> soundfile.SoundFile:
    try:
        if path.stat().st_size == 0:  # libsndfile would only guess "possibly a pipe?"
            raise DecodeError("the file is empty (0 bytes)")
        handle = soundfile.SoundFile(str(path))
    except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
        raise DecodeError(f"cannot decode audio: {_one_line(error)}") from error
    if handle.frames <= 0 or handle.samplerate <= 0:
        handle.close()
        raise DecodeError("no audio frames in file")
    return handle


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[-1] if text else type(error).__name__


def _to_mono(block: np.ndarray) -> np.ndarray:
    """[frames, channels] -> [frames]; an average keeps the level comparable across channel counts."""
    return block.mean(axis=1) if block.ndim == 2 else block


def _resample(mono: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    if source_rate == target_rate:
        return mono.astype(np.float32, copy=False)
    return soxr.resample(mono, source_rate, target_rate, quality="HQ").astype(np.float32, copy=False)


def fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    """Zero-pad or trim the last axis to ``length`` (short clips are padded, never dropped)."""
    if samples.shape[-1] >= length:
        return samples[..., :length]
    padding = [(0, 0)] * (samples.ndim - 1) + [(0, length - samples.shape[-1])]
    return np.pad(samples, padding)


def window_starts(total: int, window: int, count: int) -> list[int]:
    """Start offsets of ``count`` windows spread evenly over a track of ``total`` frames.

    The windows sit at the centres of ``count`` equal segments, away from intros and fade-outs; a
    track shorter than one window yields a single window at 0 (padded later); windows may overlap when
    the track is short.
    """
    if total <= window or count <= 1:
        return [max(0, (total - window) // 2)] if count >= 1 else []
    centres = [(index + 0.5) * total / count for index in range(count)]
    return sorted({int(min(max(centre - window / 2, 0), total - window)) for centre in centres})


def read_windows(path: Path, sample_rate: int, window_seconds: float, count: int) -> np.ndarray:
    """Decode ``count`` windows of ``path`` as float32 mono at ``sample_rate``: shape [n, samples].

    Raises DecodeError for anything that is not decodable audio.
    """
    window_samples = round(window_seconds * sample_rate)
    with native_stderr_silenced(), _open(path) as handle:
        source_rate = handle.samplerate
        source_window = math.ceil(window_seconds * source_rate)
        windows = []
        try:
            for start in window_starts(handle.frames, source_window, count):
                handle.seek(start)
                block = handle.read(source_window, dtype="float32", always_2d=True)
                mono = _resample(_to_mono(block), source_rate, sample_rate)
                windows.append(fit_length(mono, window_samples))
        except (soundfile.LibsndfileError, RuntimeError) as error:
            raise DecodeError(f"audio stream is damaged: {_one_line(error)}") from error
    if not windows or all(window.size == 0 for window in windows):
        raise DecodeError("no audio frames in file")
    return np.stack(windows).astype(np.float32, copy=False)


def load_track(path: Path, sample_rate: int) -> np.ndarray:
    """Decode a whole track as float32 mono at ``sample_rate`` (used to build training caches)."""
    with native_stderr_silenced(), _open(path) as handle:
        try:
            block = handle.read(dtype="float32", always_2d=True)
        except (soundfile.LibsndfileError, RuntimeError) as error:
            raise DecodeError(f"audio stream is damaged: {_one_line(error)}") from error
        source_rate = handle.samplerate
    if block.shape[0] == 0:
        raise DecodeError("no audio frames in file")
    return _resample(_to_mono(block), source_rate, sample_rate)


def is_silent(windows: np.ndarray) -> bool:
    """True when every decoded sample is below the silence level (nothing to classify)."""
    return bool(np.max(np.abs(windows), initial=0.0) < SILENCE_PEAK)
