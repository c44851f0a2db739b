"""Decoding audio into the mono, resampled windows the model expects.

Only the excerpts that will be analysed are decoded: both decoders (``tagger.decoders``) seek, so three
4-second windows of a 4-minute song cost a fraction of a full decode.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soxr

from tagger import sniff
from tagger.decoders import AudioSource, DecodeError, FFmpegSource, open_audio
from tagger.formats import decoder_for, format_for

if TYPE_CHECKING:  # an object in storage reads like a local file (tagger.remote)
    from tagger.remote import AudioPath

# Below this peak level (about -100 dBFS) a track is treated as digital silence.
SILENCE_PEAK = 1e-5


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


def _open(path: AudioPath) -> AudioSource:
    return open_audio(path, decoder_for(path))


def _to_mono(block: np.ndarray) -> np.ndarray:
    """[frames, channels] -> [frames]; an average keeps the level comparable across channel counts. As a
    product with equal weights: numpy's mean along the short channel axis of a [frames, 2] block is about
    40x slower, and was a third of a scan's decode time."""
    if block.ndim != 2:
        return block
    return block @ np.full(block.shape[1], 1 / block.shape[1], dtype=block.dtype)


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


def read_windows(path: AudioPath, sample_rate: int, window_seconds: float, count: int) -> np.ndarray:
    """Decode ``count`` windows of ``path`` as float32 mono at ``sample_rate``: shape [n, samples].

    The windows are decoded by seeking to each. Where that cannot be (the container does not say how long
    the stream is, or a seek fails: some FLAC, WavPack and Musepack files, AAC in ADTS), FFmpeg decodes the
    file from the start instead. Raises DecodeError for anything that is not decodable audio.
    """
    window_samples = round(window_seconds * sample_rate)
    with native_stderr_silenced():
        try:
            blocks = _windows_by_seeking(path, window_seconds, count)
        except DecodeError as error:
            blocks = _windows_from_the_start(path, window_seconds, count, error)
    source_rate, raw = blocks
    if all(block.size == 0 for block in raw):
        raise DecodeError("no audio frames in file")
    windows = [fit_length(_resample(_to_mono(block), source_rate, sample_rate), window_samples) for block in raw]
    return np.stack(windows).astype(np.float32, copy=False)


Windows = tuple[int, list[np.ndarray]]  # the source's sample rate, and each window's [frames, channels]


class _NotBySeekingError(DecodeError):
    """Seeking cannot place the windows: the container does not say how long its stream is, or says a length
    the stream does not have (the windows read nothing)."""


def _windows_by_seeking(path: AudioPath, window_seconds: float, count: int) -> Windows:
    audio_format = format_for(path)  # by name: only an Ogg file pays for the look at its last page
    if audio_format is not None and audio_format.container == sniff.OGG and sniff.ogg_is_chained(path):
        raise _NotBySeekingError("chained or multiplexed Ogg streams: libsndfile reads the first alone")
    with contextlib.closing(_open(path)) as source:
        if source.frames <= 0:
            raise _NotBySeekingError("the stream's length is unknown")
        source_window = math.ceil(window_seconds * source.samplerate)
        windows = [source.read(start, source_window) for start in window_starts(source.frames, source_window, count)]
        if all(window.size == 0 for window in windows):
            raise _NotBySeekingError("no audio where the stream's length says it is")
        return source.samplerate, windows


def _windows_from_the_start(path: AudioPath, window_seconds: float, count: int, cause: DecodeError) -> Windows:
    """The windows by decoding the whole stream twice, with FFmpeg and no seek: once to learn its length,
    once to keep the windows (never the whole track in memory). ``cause`` stands where FFmpeg fails too."""
    try:
        with contextlib.closing(FFmpegSource(path)) as source:
            total = sum(len(block) for _, block in source.blocks())
            source_window = math.ceil(window_seconds * source.samplerate)
            starts = window_starts(total, source_window, count)
            windows: list[list[np.ndarray]] = [[] for _ in starts]
            for position, block in source.blocks():
                for index, start in enumerate(starts):
                    low, high = max(start, position), min(start + source_window, position + len(block))
                    if low < high:
                        windows[index].append(block[low - position : high - position].copy())
            rate = source.samplerate
    except DecodeError:
        raise (DecodeError("no audio frames in file") if isinstance(cause, _NotBySeekingError) else cause) from None
    channels = max((part[0].shape[1] for part in windows if part), default=1)
    return rate, [np.concatenate(part) if part else np.zeros((0, channels), np.float32) for part in windows]


def load_track(path: Path, sample_rate: int) -> np.ndarray:
    """Decode a whole track as float32 mono at ``sample_rate`` (used to build training caches)."""
    with native_stderr_silenced(), contextlib.closing(_open(path)) as source:
        block = source.read(0, None)
    if block.shape[0] == 0:
        raise DecodeError("no audio frames in file")
    return _resample(_to_mono(block), source.samplerate, sample_rate)


def is_silent(windows: np.ndarray) -> bool:
    """True when every decoded sample is below the silence level (nothing to classify)."""
    return bool(np.max(np.abs(windows), initial=0.0) < SILENCE_PEAK)
