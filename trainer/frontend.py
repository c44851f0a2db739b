"""The log-mel front end as a torch module, so it is part of the model and of the exported ONNX graph.

It reproduces ``librosa.power_to_db(librosa.feature.melspectrogram(y, sr, n_fft, hop_length, n_mels),
top_db=80)`` for each window (tests hold it to that), so features are computed the same way in
training and in the tagger by construction.

The spectrum is computed by a two-stage (Cooley-Tukey) DFT written as matrix products instead of
``torch.stft``: exported, ONNX's STFT operator costs onnxruntime about 8 ms per 4 s window on one thread,
while these products run on its optimised matrix kernels in well under half that, with the same result
to single precision.
"""

from __future__ import annotations

import math

import librosa
import torch
from torch import nn

from trainer.audio_params import AudioParams

AMIN = 1e-10  # librosa's floor before the logarithm


class FactorisedPowerSpectrum(nn.Module):
    """[batch, samples] -> one-sided power spectrum [batch, n_fft // 2 + 1, frames] of Hann-windowed,
    centred (zero-padded) frames, like ``librosa.stft`` with its defaults.

    With n_fft = N1 * N2 and sample index n = N2 * n1 + n2, the DFT splits into a size-N1 DFT over n1,
    a twiddle factor, and a size-N2 DFT over n2: O(N (N1 + N2)) work in dense products instead of the
    O(N^2) of one DFT matrix.
    """

    # Constant tensors, registered as buffers in __init__ (declared here for the type checker).
    window: torch.Tensor
    cos1: torch.Tensor
    sin1: torch.Tensor
    twiddle_re: torch.Tensor
    twiddle_im: torch.Tensor
    cos2: torch.Tensor
    sin2: torch.Tensor

    def __init__(self, n_fft: int, hop_length: int) -> None:
        super().__init__()
        if n_fft % hop_length or n_fft & (n_fft - 1):
            raise ValueError("n_fft must be a power of two and a multiple of hop_length")
        self.n_fft, self.hop_length = n_fft, hop_length
        self.n1 = 2 ** (int(math.log2(n_fft)) // 2)
        self.n2 = n_fft // self.n1
        bins = n_fft // 2 + 1
        k2_count = math.ceil(bins / self.n1)
        index1 = torch.arange(self.n1, dtype=torch.float64)
        index2 = torch.arange(self.n2, dtype=torch.float64)
        stage1 = 2 * math.pi * torch.outer(index1, index1) / self.n1  # [k1, n1]
        twiddle = 2 * math.pi * torch.outer(index1, index2) / n_fft  # [k1, n2]
        stage2 = 2 * math.pi * torch.outer(index2, torch.arange(k2_count, dtype=torch.float64)) / self.n2
        buffers = {
            "window": torch.hann_window(n_fft, periodic=True, dtype=torch.float64).view(self.n1, self.n2),
            "cos1": torch.cos(stage1), "sin1": torch.sin(stage1),
            "twiddle_re": torch.cos(twiddle), "twiddle_im": -torch.sin(twiddle),
            "cos2": torch.cos(stage2), "sin2": torch.sin(stage2),
        }
        for name, value in buffers.items():
            self.register_buffer(name, value.float(), persistent=False)

    def frames(self, waveform: torch.Tensor) -> torch.Tensor:
        """Centred frames [batch, frames, n_fft], cut with slices (no unfold, so the export is plain)."""
        half = self.n_fft // 2
        padded = nn.functional.pad(waveform.unsqueeze(1), (half, half)).squeeze(1)
        count = 1 + waveform.shape[-1] // self.hop_length
        per_frame = self.n_fft // self.hop_length
        blocks = padded[:, : (count + per_frame - 1) * self.hop_length].reshape(waveform.shape[0], -1, self.hop_length)
        return torch.cat([blocks[:, i : i + count] for i in range(per_frame)], dim=-1)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        frames = self.frames(waveform)
        batch, count = frames.shape[0], frames.shape[1]
        x = frames.reshape(batch, count, self.n1, self.n2) * self.window
        real, imag = torch.matmul(self.cos1, x), -torch.matmul(self.sin1, x)  # DFT over n1: [k1, n2]
        real, imag = (real * self.twiddle_re - imag * self.twiddle_im,
                      real * self.twiddle_im + imag * self.twiddle_re)
        spectrum_re = torch.matmul(real, self.cos2) + torch.matmul(imag, self.sin2)  # DFT over n2: [k1, k2]
        spectrum_im = torch.matmul(imag, self.cos2) - torch.matmul(real, self.sin2)
        power = spectrum_re.square() + spectrum_im.square()
        bins = self.n_fft // 2 + 1
        return power.transpose(2, 3).reshape(batch, count, -1)[:, :, :bins].transpose(1, 2)  # k = k1 + N1 k2


class LogMel(nn.Module):
    """[batch, samples] waveform -> [batch, n_mels, frames] log-mel power in dB."""

    mel_basis: torch.Tensor  # a buffer, registered in __init__

    def __init__(self, params: AudioParams) -> None:
        super().__init__()
        self.top_db = params.top_db
        self.power = FactorisedPowerSpectrum(params.n_fft, params.hop_length)
        mel = librosa.filters.mel(sr=params.sample_rate, n_fft=params.n_fft, n_mels=params.n_mels)
        # Rounded to half precision (a feature moves by about 0.002 dB), so the exporter can store this
        # filter bank, half of the file in single precision, as float16 without changing what it computes.
        self.register_buffer("mel_basis", torch.from_numpy(mel).half().float(), persistent=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        mel = torch.matmul(self.mel_basis, self.power(waveform))
        decibels = 10.0 * torch.log10(torch.clamp(mel, min=AMIN))
        peak = decibels.amax(dim=(1, 2), keepdim=True)
        return torch.maximum(decibels, peak - self.top_db)
