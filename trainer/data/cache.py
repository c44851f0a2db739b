"""The trainer's disk cache: each track decoded once (mono at the model's rate), and a frozen backbone's
outputs per window (``trainer.data.features``), both stored as float16 (half the bytes; far below the
codecs' own noise) under one root that ``trainer cache`` shows and clears."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tagger.audio import DecodeError, load_track
from tagger.xdg import base_directory

WAVEFORMS = "waveforms"
FROZEN_FEATURES = "frozen-features"
STORED = np.float16


def cache_root(configured: str | None) -> Path:
    """``--cache-dir``, else ``$XDG_CACHE_HOME/genre-tagger/trainer`` (``~/.cache/genre-tagger/trainer``)."""
    return Path(configured) if configured else base_directory("XDG_CACHE_HOME", ".cache") / "genre-tagger" / "trainer"


def load_or_compute(entry: Path, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """The float32 array stored at ``entry``, or ``compute()`` stored there first as float16 (written to a
    temporary name and renamed, so a process reading beside it never sees half a file)."""
    if entry.exists():
        return np.load(entry).astype(np.float32)
    array = compute()
    temporary = entry.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(temporary, array.astype(STORED))
    os.replace(temporary, entry)
    return array.astype(STORED).astype(np.float32)  # what a later read returns, so both runs see the same


class WaveformCache:
    """``get(path)`` returns the decoded waveform, decoding only on the first request.

    Entries are keyed by the file's absolute path, size, mtime and the sample rate, so an edited file
    or another rate is decoded anew.
    """

    def __init__(self, root: Path, sample_rate: int) -> None:
        self.directory = root / WAVEFORMS
        self.sample_rate = sample_rate
        self.directory.mkdir(parents=True, exist_ok=True)

    def _entry(self, path: Path) -> Path:
        status = path.stat()
        key = f"{path.resolve()}|{status.st_size}|{status.st_mtime_ns}|{self.sample_rate}"
        return self.directory / (hashlib.sha1(key.encode()).hexdigest() + ".npy")

    def get(self, path: Path) -> np.ndarray:
        return load_or_compute(self._entry(path), lambda: load_track(path, self.sample_rate))


@dataclass(frozen=True)
class CachePart:
    """One part of the cache on disk, as ``trainer cache`` reports it."""

    name: str
    path: Path
    files: int
    size: int

    @classmethod
    def measure(cls, root: Path, name: str) -> CachePart:
        entries = [entry for entry in (root / name).rglob("*") if entry.is_file()] if (root / name).is_dir() else []
        return cls(name, root / name, len(entries), sum(entry.stat().st_size for entry in entries))


def cache_parts(root: Path) -> list[CachePart]:
    return [CachePart.measure(root, name) for name in (WAVEFORMS, FROZEN_FEATURES)]


def clear_cache(root: Path) -> int:
    """Remove the cache's parts (nothing else that may share the folder); returns the bytes freed."""
    freed = 0
    for part in cache_parts(root):
        if part.path.is_dir():
            shutil.rmtree(part.path)
            freed += part.size
    return freed


__all__ = ["DecodeError", "WaveformCache", "cache_root"]
