"""Decode each track once: mono float32 waveforms at the model's rate, cached as .npy files."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tagger.audio import DecodeError, load_track


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "genre-tagger" / "waveforms"


def load_or_compute(entry: Path, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """The array stored at ``entry``, or ``compute()`` stored there first (written to a temporary name and
    renamed, so a process reading beside it never sees half a file)."""
    if entry.exists():
        return np.load(entry)
    array = compute()
    temporary = entry.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(temporary, array)
    os.replace(temporary, entry)
    return array


class WaveformCache:
    """``get(path)`` returns the decoded waveform, decoding only on the first request.

    Entries are keyed by the file's absolute path, size, mtime and the sample rate, so an edited file
    or another rate is decoded anew.
    """

    def __init__(self, directory: Path, sample_rate: int) -> None:
        self.directory = directory
        self.sample_rate = sample_rate
        directory.mkdir(parents=True, exist_ok=True)

    def _entry(self, path: Path) -> Path:
        status = path.stat()
        key = f"{path.resolve()}|{status.st_size}|{status.st_mtime_ns}|{self.sample_rate}"
        return self.directory / (hashlib.sha1(key.encode()).hexdigest() + ".npy")

    def get(self, path: Path) -> np.ndarray:
        return load_or_compute(self._entry(path), lambda: load_track(path, self.sample_rate))


__all__ = ["DecodeError", "WaveformCache", "default_cache_dir"]
