"""Audio and feature constants, named once and derived from each other."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class AudioParams:
    """How waveforms become model inputs; saved in every checkpoint and exported into the ONNX file."""

    sample_rate: int = 22_050
    window_seconds: float = 4.0
    hop_seconds: float = 2.0
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    top_db: float = 80.0

    @property
    def window_samples(self) -> int:
        return round(self.window_seconds * self.sample_rate)

    @property
    def hop_samples(self) -> int:
        return round(self.hop_seconds * self.sample_rate)

    @property
    def frames(self) -> int:
        """Spectrogram frames per window (centred STFT)."""
        return 1 + self.window_samples // self.hop_length

    def to_dict(self) -> dict:
        return asdict(self)
