"""musicnn's preprocessing as its authors specified it, in numpy and librosa (no torch): the reference
that ``scripts/convert_musicnn.py`` fed the original TensorFlow network and that the tests feed the port.

Deliberately not the package's extractor.py, which casts the mel spectrogram to float16 before the
logarithm (overflowing to inf on loud clips).
"""

from __future__ import annotations

import librosa
import numpy as np

from trainer.audio_params import MUSICNN_AUDIO, AudioParams


def reference_log_mel(waveform: np.ndarray, audio: AudioParams = MUSICNN_AUDIO) -> np.ndarray:
    """[frames, n_mels] log10(10000 * librosa power mel + 1) of a waveform at ``audio.sample_rate``."""
    mel = librosa.feature.melspectrogram(y=waveform, sr=audio.sample_rate, n_fft=audio.n_fft,
                                         hop_length=audio.hop_length, n_mels=audio.n_mels)
    return np.log10(10_000 * mel.T + 1).astype(np.float32)


def leading_patches(log_mel: np.ndarray, count: int, audio: AudioParams = MUSICNN_AUDIO) -> np.ndarray:
    """[count, frames per patch, n_mels]: the first ``count`` patches, next to each other."""
    frames = audio.frames
    return np.stack([log_mel[index * frames:(index + 1) * frames] for index in range(count)])
