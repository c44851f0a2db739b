"""Transfer from musicnn's MSD network: its own log-mel front end, its pretrained layers, and a genre head.

How much of the backbone learns (``ModelConfig.tuning``):
- ``frozen``: nothing; only the head learns. Its input (the 200-d penultimate embedding for the linear
  head, the 753 frame features for the attention head) is a fixed function of the window, so the trainer
  computes it once per window and caches it;
- ``partial``: the mid and back end learn, the front end's convolutions (most of the computation) stay
  as pretrained and their outputs are cached;
- ``full``: every layer learns, the pretrained ones at a lower learning rate.

The head: without attention, dropout and one linear layer (the "simple head" of transfer studies) on the
penultimate embedding, on the network's own 50 Last.fm tag probabilities computed from it (its "taggram":
genre-like tags a catalogue of 200,000 tracks taught it), or on both (``ModelConfig.head_features``). The
tags come from the embedding through the backbone's own tag layer inside the head, so a frozen backbone's
cached embedding serves all three; with attention, the seed's channel and spatial attention on the backbone's
frame features, then max and mean over time and two dense layers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from torch import nn

from trainer.audio_params import AudioParams
from trainer.backbones.musicnn import LICENSE, MusicnnLogMel, MusicnnMSD
from trainer.config import HEAD_FEATURES, ModelConfig
from trainer.model import ChannelAttention, GenreModel, SpatialAttention, SpectrogramCNN


class AttentionHead(nn.Module):
    """Frame features [batch, channels, frames] -> logits [batch, n_classes]."""

    def __init__(self, channels: int, config: ModelConfig) -> None:
        super().__init__()
        self.channel_attention = ChannelAttention(channels, config.attention_reduction)
        self.spatial_attention = SpatialAttention()
        self.dense = nn.Sequential(
            nn.Linear(2 * channels, config.hidden), nn.ReLU(inplace=True), nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.n_classes),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        maps = self.spatial_attention(self.channel_attention(features.unsqueeze(2))).squeeze(2)
        return self.dense(MusicnnMSD.pool(maps))


class LinearHead(nn.Module):
    """Penultimate embedding [batch, 200] -> logits [batch, n_classes], through the features it names."""

    def __init__(self, tags: nn.Linear, config: ModelConfig) -> None:
        super().__init__()
        if config.head_features not in HEAD_FEATURES:
            raise ValueError(f"unknown head features {config.head_features!r}: one of {', '.join(HEAD_FEATURES)}")
        self.parts = tuple(config.head_features.split("+"))  # side by side, in this order
        self.tags = tags if "tags" in self.parts else None
        width = sum({"embedding": MusicnnMSD.EMBEDDING, "tags": tags.out_features}[part] for part in self.parts)
        self.dropout = nn.Dropout(config.dropout)
        self.linear = nn.Linear(width, config.n_classes)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any) -> None:
        """Checkpoints from before ``head_features`` stored this head as ``Sequential(dropout, linear)``."""
        for name in ("weight", "bias"):
            if f"{prefix}1.{name}" in state_dict:
                state_dict[f"{prefix}linear.{name}"] = state_dict.pop(f"{prefix}1.{name}")
        super()._load_from_state_dict(state_dict, prefix, *args)

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        parts = {"embedding": embedding}
        if self.tags is not None:
            parts["tags"] = torch.sigmoid(self.tags(embedding))
        return self.linear(self.dropout(torch.cat([parts[part] for part in self.parts], dim=1)))


class MusicnnTransfer(GenreModel):
    """musicnn's MSD network with a genre head; see the module's docstring for what learns."""

    def __init__(self, config: ModelConfig, audio: AudioParams, pretrained: bool = False) -> None:
        """``pretrained`` loads the converted weights (training); a checkpoint brings its own (export)."""
        super().__init__()
        self.config = config
        self.audio = audio
        self.frontend = MusicnnLogMel(audio)
        self.backbone = MusicnnMSD()
        if pretrained:
            self.backbone.load_pretrained()
        self.head: nn.Module = (
            AttentionHead(self.backbone.features_width, config) if config.attention
            else LinearHead(self.backbone.tags, config)
        )
        for module in self._frozen_modules():
            module.requires_grad_(False)

    def _frozen_modules(self) -> list[nn.Module]:
        if self.config.tuning == "frozen":
            return [self.backbone]
        if self.config.tuning == "partial":
            return [self.backbone.input_norm, self.backbone.front]
        return []

    def train(self, mode: bool = True) -> MusicnnTransfer:
        """Frozen layers stay in evaluation mode: their batch norms keep the pretrained statistics."""
        super().train(mode)
        for module in self._frozen_modules():
            module.eval()
        return self

    def frozen_part(self, waveform: torch.Tensor) -> torch.Tensor:
        log_mel = self.frontend(waveform)
        if self.config.tuning == "full":
            return log_mel
        with torch.no_grad():
            if self.config.tuning == "partial":
                return self.backbone.front_features(log_mel)
            features = self.backbone.frame_features(log_mel)
            return features if self.config.attention else self.backbone.embedding(features)

    def trainable_part(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.tuning == "frozen":
            return self.head(x)
        features = self.backbone.mid_features(x if self.config.tuning == "partial"
                                              else self.backbone.front_features(x))
        return self.head(features if self.config.attention else self.backbone.embedding(features))

    def head_probe(self) -> MusicnnTransfer | None:
        if self.config.tuning == "frozen":
            return None
        twin = MusicnnTransfer(replace(self.config, tuning="frozen"), self.audio)
        twin.backbone.load_state_dict(self.backbone.state_dict())
        return twin

    def adopt_head(self, twin: GenreModel) -> None:
        if not isinstance(twin, MusicnnTransfer):
            raise TypeError(f"a {type(twin).__name__} has no musicnn head")
        self.head.load_state_dict(twin.head.state_dict())

    def licenses(self) -> dict[str, str]:
        return {"musicnn MSD weights (Pons & Serra, UPF)": LICENSE.read_text()}

    def parameter_groups(self, learning_rate: float, pretrained_scale: float) -> list[dict]:
        """The head at ``learning_rate``; the backbone's learning layers at ``pretrained_scale`` times it, so
        fine-tuning adjusts what the catalogue taught instead of overwriting it."""
        pretrained = {id(parameter) for parameter in self.backbone.parameters()}  # the tag layer a head may share
        groups = [{"params": [parameter for parameter in self.head.parameters() if id(parameter) not in pretrained],
                   "lr": learning_rate}]
        backbone = [parameter for parameter in self.backbone.parameters() if parameter.requires_grad]
        if backbone:
            groups.append({"params": backbone, "lr": learning_rate * pretrained_scale})
        return groups


def build_model(config: ModelConfig, audio: AudioParams, pretrained: bool = False) -> GenreModel:
    """The network a model configuration names; ``pretrained`` loads a backbone's published weights."""
    if config.backbone == "scratch":
        return SpectrogramCNN(config, audio)
    if config.backbone == "musicnn-msd":
        return MusicnnTransfer(config, audio, pretrained)
    raise ValueError(f"unknown backbone {config.backbone!r}")
