"""Decode each track once: mono float32 waveforms at the model's rate, cached as .npy files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from tagger.audio import DecodeError, load_track


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "genre-tagger" / "waveforms"


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
        entry = self._entry(path)
        if entry.exists():
            return np.load(entry)
        waveform = load_track(path, self.sample_rate)
        temporary = entry.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(temporary, waveform)
        os.replace(temporary, entry)
        return waveform


__all__ = ["DecodeError", "WaveformCache", "default_cache_dir"]
