"""What every genre network offers the trainer and exporter (``GenreModel``), and the seed's network trained
from scratch: SpectrogramCNN, three convolution blocks with optional channel and spatial attention (CBAM-style)."""

from __future__ import annotations

import torch
from torch import nn

from trainer.audio_params import AudioParams
from trainer.config import ModelConfig
from trainer.frontend import LogMel


class ChannelAttention(nn.Module):
    """Reweights channels from their average- and max-pooled responses through a shared MLP."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.sigmoid(self.mlp(x.mean(dim=(2, 3))) + self.mlp(x.amax(dim=(2, 3))))
        return x * weights[:, :, None, None]


class SpatialAttention(nn.Module):
    """Reweights time-frequency positions from the channel-wise mean and max maps."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(maps))


class ConvBlock(nn.Module):
    """Conv2d -> BatchNorm -> ReLU -> MaxPool -> Dropout, then optional channel and spatial attention.

    Attending after the pooling (at a quarter of the positions) costs a fraction of attending before
    it; on CPU the full-resolution spatial attention made training several times slower."""

    def __init__(self, in_channels: int, out_channels: int, config: ModelConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        ]
        layers += [nn.MaxPool2d(2), nn.Dropout(config.dropout)]
        if config.attention:
            layers += [ChannelAttention(out_channels, config.attention_reduction), SpatialAttention()]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class GenreModel(nn.Module):
    """Waveform windows [batch, samples] at ``audio.sample_rate`` -> genre logits [batch, n_classes].

    A network may hold a frozen part: pretrained layers that do not learn. ``frozen_part`` computes it and
    ``trainable_part`` the rest, so the trainer can compute a frozen part's outputs once per window and
    cache them; the exported graph is always the whole ``forward``.
    """

    config: ModelConfig
    audio: AudioParams

    def frozen_part(self, waveform: torch.Tensor) -> torch.Tensor:
        return waveform

    def trainable_part(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.trainable_part(self.frozen_part(waveform))

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Genre probabilities from logits [batch, n_classes]: independent sigmoids, or a softmax over the
        genres for a head fitted as one choice among them (``ModelConfig.probabilities``)."""
        return torch.softmax(logits, dim=1) if self.config.probabilities == "softmax" else torch.sigmoid(logits)

    def has_frozen_weights(self) -> bool:
        return any(not parameter.requires_grad for parameter in self.parameters())

    def trainable_parameters(self) -> int:
        return sum(parameter.numel() for parameter in self.parameters() if parameter.requires_grad)

    def licenses(self) -> dict[str, str]:
        """Licence notices of pretrained weights inside (part -> notice): they travel into the ONNX file."""
        return {}

    def parameter_groups(self, learning_rate: float, pretrained_scale: float) -> list[dict]:
        """AdamW's parameter groups; a network without pretrained layers learns everything at one rate."""
        return [{"params": [p for p in self.parameters() if p.requires_grad], "lr": learning_rate}]

    def head_probe(self) -> GenreModel | None:
        """A twin with every pretrained layer frozen, whose head is trained first and then handed back with
        ``adopt_head`` (LP-FT); None where no pretrained layer learns."""
        return None

    def adopt_head(self, twin: GenreModel) -> None:
        """Take the head that ``head_probe``'s twin learned."""
        raise NotImplementedError(f"{type(self).__name__} has no head to probe")


class SpectrogramCNN(GenreModel):
    """Waveform windows [batch, samples] -> genre logits [batch, n_classes].

    The log-mel front end is the first layer, and a BatchNorm over the input channel learns the level
    normalisation of the decibel values, so the model needs no external feature statistics.

    With ``frequency_channel`` a second input channel holds each row's mel-band position (0 at the
    lowest band, 1 at the highest), as in the frequency-aware CNNs of Koutini et al. (2021): global
    average pooling otherwise leaves the network unable to tell where in the spectrum a pattern sits,
    and the spectral envelope is much of what tells genres apart.
    """

    band_position: torch.Tensor  # a buffer, registered in __init__

    def __init__(self, config: ModelConfig, audio: AudioParams) -> None:
        super().__init__()
        self.config = config
        self.audio = audio
        self.frontend = LogMel(audio)
        self.input_norm = nn.BatchNorm2d(1)
        inputs = 2 if config.frequency_channel else 1
        self.register_buffer(
            "band_position", torch.linspace(0.0, 1.0, audio.n_mels).view(1, 1, audio.n_mels, 1), persistent=False
        )
        widths = (inputs, *config.channels)
        self.blocks = nn.Sequential(*(ConvBlock(widths[i], widths[i + 1], config) for i in range(3)))
        self.head = nn.Sequential(
            nn.Linear(config.channels[-1], config.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.n_classes),
        )

    def features(self, waveform: torch.Tensor) -> torch.Tensor:
        """Log-mel input of the CNN: [batch, 1, n_mels, frames]."""
        return self.frontend(waveform).unsqueeze(1)

    def trainable_part(self, waveform: torch.Tensor) -> torch.Tensor:
        x = self.input_norm(self.features(waveform))
        if self.config.frequency_channel:
            x = torch.cat([x, self.band_position.expand(x.shape[0], 1, x.shape[2], x.shape[3])], dim=1)
        x = self.blocks(x)
        return self.head(x.mean(dim=(2, 3)))  # global average pooling
