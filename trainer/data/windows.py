"""Cutting cached waveforms into fixed-length windows on the fly."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from tagger.audio import fit_length
from trainer.data.augment import Augmentation, augment


def grid_starts(length: int, window: int, hop: int) -> list[int]:
    """Starts of all windows with ``hop`` spacing; a clip shorter than a window gives one (padded)."""
    if length <= window:
        return [0]
    return list(range(0, length - window + 1, hop))


def grid_windows(waveform: np.ndarray, window: int, hop: int) -> np.ndarray:
    """The evaluation windows of one waveform [windows, window], float32."""
    return np.stack([fit_length(waveform[start : start + window], window).astype(np.float32, copy=False)
                     for start in grid_starts(len(waveform), window, hop)])


class WindowDataset(Dataset):
    """Items are (waveform window [samples], multi-hot target [classes], track index).

    With ``jitter`` (training) each window start moves by up to half a hop at random, so every epoch
    sees slightly different excerpts; without it (evaluation) windows sit exactly on the hop grid.
    With ``per_track`` (training) each track gives that many excerpts from anywhere in it instead of its
    grid: an epoch costs the same for every track and far less where a network is expensive to train.
    ``augmentation`` (training) changes each excerpt further; its mixing partner is a random excerpt of
    another track with exactly the same labels.
    """

    def __init__(
        self,
        waveforms: list[np.ndarray],
        targets: np.ndarray,
        window: int,
        hop: int,
        jitter: bool = False,
        seed: int = 0,
        augmentation: Augmentation | None = None,
        per_track: int | None = None,
    ) -> None:
        self.waveforms = waveforms
        self.targets = torch.as_tensor(targets, dtype=torch.float32)
        self.window = window
        self.hop = hop
        self.jitter = jitter
        self.rng = np.random.default_rng(seed)
        self.augmentation = augmentation if augmentation is not None and augmentation.active else None
        rows = [tuple(row) for row in np.asarray(targets)]
        self.partners = [[other for other, row in enumerate(rows) if row == own and other != track]
                         for track, own in enumerate(rows)]
        self.index: list[tuple[int, int | None]] = (  # None: a random start, drawn when the item is read
            [(track, None) for track in range(len(waveforms)) for _ in range(per_track)] if per_track
            else [(track, start) for track, waveform in enumerate(waveforms)
                  for start in grid_starts(len(waveform), window, hop)]
        )

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        track, start = self.index[item]
        waveform = self.waveforms[track]
        if start is None:
            start = self._random_start(track)
        elif self.jitter and len(waveform) > self.window:
            shift = int(self.rng.integers(-self.hop // 2, self.hop // 2 + 1))
            start = int(np.clip(start + shift, 0, len(waveform) - self.window))
        excerpt = self._excerpt(track, start)
        if self.augmentation is not None:
            excerpt = augment(excerpt, self._random_partner_excerpt(track), self.augmentation, self.rng)
        return torch.from_numpy(np.ascontiguousarray(excerpt, dtype=np.float32)), self.targets[track], track

    def _excerpt(self, track: int, start: int) -> np.ndarray:
        return fit_length(self.waveforms[track][start : start + self.window], self.window)

    def _random_partner_excerpt(self, track: int) -> np.ndarray | None:
        if not self.partners[track] or self.augmentation is None or self.augmentation.mix_probability == 0:
            return None
        partner = self.partners[track][int(self.rng.integers(len(self.partners[track])))]
        return self._excerpt(partner, self._random_start(partner))

    def _random_start(self, track: int) -> int:
        return int(self.rng.integers(max(len(self.waveforms[track]) - self.window, 0) + 1))

    def track_indices(self) -> np.ndarray:
        return np.array([track for track, _ in self.index])
