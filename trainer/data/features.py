"""Outputs of a network's frozen part, computed once per window and kept on disk.

A frozen pretrained backbone maps each window to the same features in every epoch, every configuration
that shares it and every fold of a cross-validation; computing them once turns hours of backbone passes
into minutes. The price: waveform augmentation cannot reach cached windows (the trainer says so).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from trainer.data.cache import load_or_compute
from trainer.data.windows import grid_windows
from trainer.model import GenreModel

BATCH = 16


def frozen_signature(model: GenreModel) -> str:
    """Identifies what the frozen part computes: its architecture, input settings and weights."""
    digest = hashlib.sha256()
    config = model.config
    digest.update(json.dumps([config.backbone, config.tuning, config.attention, model.audio.to_dict()]).encode())
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            digest.update(name.encode())
            digest.update(parameter.detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:20]


class FrozenFeatureCache:
    """``windows(waveform)``: the frozen part's outputs for the waveform's evaluation-grid windows
    [windows, ...], keyed by the waveform's content and ``frozen_signature``."""

    def __init__(self, directory: Path, model: GenreModel) -> None:
        self.directory = directory / frozen_signature(model)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.model = model

    def windows(self, waveform: np.ndarray) -> np.ndarray:
        entry = self.directory / (hashlib.sha256(np.ascontiguousarray(waveform).tobytes()).hexdigest()[:32] + ".npy")
        return load_or_compute(entry, lambda: self._compute(waveform))

    @torch.no_grad()
    def _compute(self, waveform: np.ndarray) -> np.ndarray:
        audio = self.model.audio
        windows = torch.from_numpy(grid_windows(waveform, audio.window_samples, audio.hop_samples))
        device = next(self.model.parameters()).device  # the GPU, when training runs there
        self.model.eval()
        return torch.cat([self.model.frozen_part(batch.to(device)).cpu() for batch in windows.split(BATCH)]).numpy()


class FeatureWindows(Dataset):
    """Items are (cached features of one window, multi-hot target, track index), the shape of
    ``WindowDataset``'s items, so training and evaluation loops take either."""

    def __init__(self, per_track: list[np.ndarray], targets: np.ndarray) -> None:
        self.features = torch.from_numpy(np.concatenate(per_track))
        self.tracks = np.concatenate([np.full(len(windows), track) for track, windows in enumerate(per_track)])
        self.targets = torch.as_tensor(targets, dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.tracks)

    def __getitem__(self, item: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        track = int(self.tracks[item])
        return self.features[item], self.targets[track], track

    def track_indices(self) -> np.ndarray:
        return self.tracks
