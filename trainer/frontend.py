"""The log-mel front end as a torch module, so it is part of the model and of the exported ONNX graph.

It reproduces ``librosa.power_to_db(librosa.feature.melspectrogram(y, sr, n_fft, hop_length, n_mels),
top_db=80)`` for each window (tests hold it to that), so features are computed the same way in
training and in the tagger by construction.
"""

from __future__ import annotations

import warnings

import librosa
import torch
from torch import nn

from trainer.audio_params import AudioParams

AMIN = 1e-10  # librosa's floor before the logarithm


class LogMel(nn.Module):
    """[batch, samples] waveform -> [batch, n_mels, frames] log-mel power in dB."""

    def __init__(self, params: AudioParams) -> None:
        super().__init__()
        self.n_fft = params.n_fft
        self.hop_length = params.hop_length
        self.top_db = params.top_db
        mel = librosa.filters.mel(sr=params.sample_rate, n_fft=params.n_fft, n_mels=params.n_mels)
        self.register_buffer("window", torch.hann_window(params.n_fft, periodic=True), persistent=False)
        self.register_buffer("mel_basis", torch.from_numpy(mel).float(), persistent=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        # Centre frames like librosa (zero padding, its default since 0.10), padding by hand so the
        # ONNX export needs no reflect/centre logic inside STFT.
        half = self.n_fft // 2
        padded = nn.functional.pad(waveform.unsqueeze(1), (half, half)).squeeze(1)
        with warnings.catch_warnings():
            # The real-valued form is deprecated, but ONNX's STFT export does not take complex tensors.
            warnings.filterwarnings("ignore", message="stft with return_complex=False")
            spectrum = torch.stft(
                padded, self.n_fft, self.hop_length, window=self.window, center=False, return_complex=False
            )
        power = spectrum.pow(2).sum(-1)  # [batch, bins, frames]
        mel = torch.matmul(self.mel_basis, power)
        decibels = 10.0 * torch.log10(torch.clamp(mel, min=AMIN))
        peak = decibels.amax(dim=(1, 2), keepdim=True)
        return torch.maximum(decibels, peak - self.top_db)
