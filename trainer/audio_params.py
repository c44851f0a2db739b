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


# musicnn's own input (trainer/backbones/musicnn.py): 16 kHz, n_fft 512, hop 256, 96 mel bands, patches of
# 187 frames (186 hops: 2.976 s, "3 s" in its papers), cut next to each other as its extractor does.
_MUSICNN_PATCH_SECONDS = 186 * 256 / 16_000
MUSICNN_AUDIO = AudioParams(sample_rate=16_000, window_seconds=_MUSICNN_PATCH_SECONDS,
                            hop_seconds=_MUSICNN_PATCH_SECONDS, n_fft=512, hop_length=256, n_mels=96)


def audio_for(backbone: str) -> AudioParams:
    """The input a backbone was built for: a pretrained network keeps its own rate and mel settings."""
    return MUSICNN_AUDIO if backbone == "musicnn-msd" else AudioParams()
