"""Training-time augmentation of waveform windows: gain, noise, and mixing with a track of the same genres.

Each one is a guess about what a library throws at the tagger that 60-odd training clips do not show:
other mastering levels (gain), hiss and lossy-codec noise (noise), and other instances of a genre
(mixing two excerpts that carry the same labels keeps the labels true). Whether a guess helps is for the
ablation study to say (``scripts/ablate.py``), not for this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Augmentation:
    """Strengths of each augmentation; zero switches one off."""

    gain_db: float = 0.0  # level change drawn uniformly from [-gain_db, +gain_db]
    noise_probability: float = 0.0  # chance that white noise is added to a window
    noise_snr_db: tuple[float, float] = (10.0, 30.0)  # signal-to-noise range of that noise
    mix_probability: float = 0.0  # chance that a window is mixed with one of another track of the same genres
    mix_weight: float = 0.5  # the other excerpt's share is drawn from [0, mix_weight]

    @property
    def active(self) -> bool:
        return self.gain_db > 0 or self.noise_probability > 0 or self.mix_probability > 0


def mix(excerpt: np.ndarray, partner: np.ndarray, weight: float) -> np.ndarray:
    """Weighted sum that keeps the excerpt's RMS level, so mixing does not also act as a gain change."""
    mixed = (1.0 - weight) * excerpt + weight * partner
    before, after = np.sqrt(np.mean(excerpt**2)), np.sqrt(np.mean(mixed**2))
    return mixed * (before / after) if after > 1e-8 else mixed


def add_noise(excerpt: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    power = float(np.mean(excerpt**2))
    if power < 1e-12:
        return excerpt
    noise = rng.standard_normal(len(excerpt)).astype(np.float32)
    return excerpt + noise * np.sqrt(power / 10 ** (snr_db / 10))


def apply_gain(excerpt: np.ndarray, gain_db: float) -> np.ndarray:
    return excerpt * np.float32(10 ** (gain_db / 20))


def augment(excerpt: np.ndarray, partner: np.ndarray | None, settings: Augmentation,
            rng: np.random.Generator) -> np.ndarray:
    """One augmented copy of ``excerpt``; ``partner`` is an excerpt of a same-genre track (or None)."""
    if partner is not None and rng.random() < settings.mix_probability:
        excerpt = mix(excerpt, partner, rng.uniform(0.0, settings.mix_weight))
    if settings.noise_probability > 0 and rng.random() < settings.noise_probability:
        excerpt = add_noise(excerpt, rng.uniform(*settings.noise_snr_db), rng)
    if settings.gain_db > 0:
        excerpt = apply_gain(excerpt, rng.uniform(-settings.gain_db, settings.gain_db))
    return np.clip(excerpt, -1.0, 1.0).astype(np.float32)
