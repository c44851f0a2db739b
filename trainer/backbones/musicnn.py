"""musicnn's MSD network (Pons & Serra, Music Technology Group, UPF, 2019; ISC licence) in PyTorch.

Trained on the Million Song Dataset's 50 most frequent Last.fm tags. The weights come from the PyPI
package musicnn 0.1.0, converted by ``scripts/convert_musicnn.py`` into ``musicnn_msd.npz`` under their
TensorFlow names; ``musicnn_msd.LICENSE`` holds the notice that must go wherever the weights go.

Input: log-compressed mel patches [batch, frames, 96] (16 kHz, n_fft 512, hop 256, log10(10000 x + 1));
trained on 187 frames (3 s), but every layer works on any number of frames. Layer by layer, as in the
package's ``models.py``:
- front end: input batch norm; two "timbral" convolutions (7 frames x 38 and x 67 mel bands, 204 filters)
  and three "temporal" ones (128, 64, 32 frames x 1 band, 51 filters, TensorFlow "same" padding, which
  puts the odd extra frame of an even kernel at the end); each is ReLU, then batch norm (after the ReLU),
  then a max over frequency; concatenated to 561 features per frame;
- mid end: three 7-frame 1-d convolutions of 64 filters (ReLU, batch norm), the last two residual; the
  front end's and the three outputs are concatenated to 753 features per frame;
- back end: max and mean over time, interleaved per feature (max0, mean0, max1, ...), batch norm, dense
  200 + ReLU + batch norm (the 200-d "penultimate" embedding), dense 50 tag logits.
TensorFlow's batch norm epsilon is 1e-3; kernels are stored HWIO.
"""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import torch
from torch import nn

from trainer.audio_params import MUSICNN_AUDIO, AudioParams
from trainer.frontend import FactorisedPowerSpectrum

WEIGHTS = Path(__file__).with_name("musicnn_msd.npz")
LICENSE = Path(__file__).with_name("musicnn_msd.LICENSE")
TF_EPSILON = 1e-3
MSD_TAGS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock",
    "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow",
    "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock",
    "ambient", "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
    "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb",
    "indie pop", "sad", "House", "happy",
)


class MusicnnLogMel(nn.Module):
    """[batch, samples] 16 kHz waveform -> [batch, frames, 96] log10(10000 * librosa power mel + 1)."""

    mel_basis: torch.Tensor  # a buffer, registered in __init__

    def __init__(self, audio: AudioParams = MUSICNN_AUDIO) -> None:
        super().__init__()
        self.power = FactorisedPowerSpectrum(audio.n_fft, audio.hop_length)
        mel = librosa.filters.mel(sr=audio.sample_rate, n_fft=audio.n_fft, n_mels=audio.n_mels)
        self.register_buffer("mel_basis", torch.from_numpy(mel).float(), persistent=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        mel = torch.matmul(self.mel_basis, self.power(waveform))
        return torch.log10(10_000.0 * mel + 1.0).transpose(1, 2)


def _batch_norm(features: int, dimensions: int) -> nn.Module:
    kind = nn.BatchNorm1d if dimensions == 1 else nn.BatchNorm2d
    return kind(features, eps=TF_EPSILON)


class _ConvReluNorm(nn.Module):
    """A convolution, ReLU, then batch norm: musicnn's order (batch norm after the activation)."""

    def __init__(self, convolution: nn.Module, channels: int, dimensions: int) -> None:
        super().__init__()
        self.convolution = convolution
        self.norm = _batch_norm(channels, dimensions)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(torch.relu(self.convolution(x)))


class _FrequencyMaxBranch(nn.Module):
    """[batch, 1, frames, 96] -> [batch, filters, frames]: a 2-d convolution block, then max over bands."""

    def __init__(self, frames: int, bands: int, filters: int, same_padding: bool) -> None:
        super().__init__()
        # TensorFlow "same" pads (k - 1) // 2 before and the rest after; the timbral branches are padded
        # by 3 frames on both sides and convolved "valid", which is the same thing for their 7 frames.
        before = (frames - 1) // 2 if same_padding else 3
        self.time_padding = (before, frames - 1 - before)
        self.block = _ConvReluNorm(nn.Conv2d(1, filters, (frames, bands)), filters, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.pad(x, (0, 0, *self.time_padding))
        return self.block(x).amax(dim=3)


class MusicnnMSD(nn.Module):
    """Log-mel patches [batch, frames, 96] -> (tag logits [batch, 50], penultimate [batch, 200],
    pooled [batch, 1506], frame features [batch, 753, frames])."""

    TIMBRAL = ((38, 204), (67, 204))  # (mel bands, filters) of the 7-frame timbral convolutions
    TEMPORAL = ((128, 51), (64, 51), (32, 51))  # (frames, filters) of the 1-band temporal convolutions
    MIDEND = 64
    EMBEDDING = 200

    def __init__(self) -> None:
        super().__init__()
        self.input_norm = _batch_norm(1, 2)
        self.front = nn.ModuleList(
            [_FrequencyMaxBranch(7, bands, filters, same_padding=False) for bands, filters in self.TIMBRAL]
            + [_FrequencyMaxBranch(frames, 1, filters, same_padding=True) for frames, filters in self.TEMPORAL]
        )
        front_width = sum(filters for _, filters in self.TIMBRAL + self.TEMPORAL)
        self.mid = nn.ModuleList([
            _ConvReluNorm(nn.Conv1d(width, self.MIDEND, 7, padding=3), self.MIDEND, 1)
            for width in (front_width, self.MIDEND, self.MIDEND)
        ])
        self.features_width = front_width + 3 * self.MIDEND
        self.pool_norm = _batch_norm(2 * self.features_width, 1)
        self.dense = nn.Linear(2 * self.features_width, self.EMBEDDING)
        self.dense_norm = _batch_norm(self.EMBEDDING, 1)
        self.dropout = nn.Dropout(0.5)
        self.tags = nn.Linear(self.EMBEDDING, len(MSD_TAGS))

    def front_features(self, log_mel: torch.Tensor) -> torch.Tensor:
        """[batch, frames, 96] -> [batch, 561, frames]: the timbral and temporal branches."""
        x = self.input_norm(log_mel.unsqueeze(1))
        return torch.cat([branch(x) for branch in self.front], dim=1)

    def mid_features(self, front: torch.Tensor) -> torch.Tensor:
        """[batch, 561, frames] -> [batch, 753, frames]: the mid end, densely connected to the front."""
        outputs = [front]
        mid = self.mid[0](front)
        outputs.append(mid)
        for layer in self.mid[1:]:
            mid = layer(mid) + mid
            outputs.append(mid)
        return torch.cat(outputs, dim=1)

    def frame_features(self, log_mel: torch.Tensor) -> torch.Tensor:
        """[batch, frames, 96] -> [batch, 753, frames]: the front and mid end."""
        return self.mid_features(self.front_features(log_mel))

    def embedding(self, features: torch.Tensor) -> torch.Tensor:
        """[batch, 753, frames] -> [batch, 200]: the back end's "penultimate" layer."""
        return self.dense_norm(torch.relu(self.dense(self.dropout(self.pool_norm(self.pool(features))))))

    @staticmethod
    def pool(features: torch.Tensor) -> torch.Tensor:
        """[batch, 753, frames] -> [batch, 1506]: max and mean over time, interleaved per feature."""
        return torch.stack([features.amax(dim=2), features.mean(dim=2)], dim=2).flatten(1)

    def forward(self, log_mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        features = self.frame_features(log_mel)
        penultimate = self.embedding(features)
        return self.tags(self.dropout(penultimate)), penultimate, self.pool(features), features

    def load_pretrained(self, path: Path = WEIGHTS) -> MusicnnMSD:
        """Load the converted TensorFlow variables.

        TensorFlow named its layers by creation order (conv2d, conv2d_1, ...; batch_normalization, ...;
        dense, dense_1), and this module registers its layers in that same order, so the n-th layer of
        each kind here is the n-th there.
        """
        with np.load(path) as stored:
            variables = {name: torch.from_numpy(stored[name]) for name in stored.files}
        state: dict[str, torch.Tensor] = {}
        counts = {"batch_normalization": 0, "conv2d": 0, "dense": 0}
        for name, layer in self.named_modules():
            kind = ("batch_normalization" if isinstance(layer, nn.BatchNorm1d | nn.BatchNorm2d)
                    else "conv2d" if isinstance(layer, nn.Conv1d | nn.Conv2d)
                    else "dense" if isinstance(layer, nn.Linear) else None)
            if kind is None:
                continue
            prefix = f"{kind}{_suffix(counts[kind])}/"
            counts[kind] += 1
            if kind == "batch_normalization":
                state[f"{name}.weight"] = variables.pop(prefix + "gamma")
                state[f"{name}.bias"] = variables.pop(prefix + "beta")
                state[f"{name}.running_mean"] = variables.pop(prefix + "moving_mean")
                state[f"{name}.running_var"] = variables.pop(prefix + "moving_variance")
                continue
            kernel = variables.pop(prefix + "kernel")
            if kind == "dense":
                kernel = kernel.T
            elif isinstance(layer, nn.Conv1d):  # mid end: [frames, features, 1, out] -> [out, features, frames]
                kernel = kernel[:, :, 0, :].permute(2, 1, 0)
            else:  # [height, width, in, out] -> [out, in, height, width]
                kernel = kernel.permute(3, 2, 0, 1)
            state[f"{name}.weight"] = kernel
            state[f"{name}.bias"] = variables.pop(prefix + "bias")
        if variables:
            raise ValueError(f"{path} holds variables this network has no place for: {', '.join(variables)}")
        missing, _ = self.load_state_dict(state, strict=False)
        if [key for key in missing if not key.endswith("num_batches_tracked")]:
            raise ValueError(f"{path} lacks {', '.join(missing)}")
        return self


def _suffix(index: int) -> str:
    """TensorFlow's layer naming: conv2d, conv2d_1, conv2d_2, ..."""
    return f"_{index}" if index else ""
