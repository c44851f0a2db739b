"""One dataclass carries every training option from the CLI to the code (and into config.json), and one
the architecture's knobs (into every checkpoint). Plain dataclasses: importing this loads no torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from trainer.data.augment import Augmentation

SCHEDULES = ("plateau", "cosine", "onecycle")
BACKBONES = ("scratch", "musicnn-msd")  # the seed's CNN trained from nothing | musicnn's MSD network
TUNINGS = ("frozen", "partial", "full")  # how much of a pretrained backbone learns (see trainer/transfer.py)
# What musicnn's linear head sees of each window (trainer/transfer.py): its 200-d penultimate embedding, its 50
# Last.fm tag probabilities (the "taggram"), or both side by side.
HEAD_FEATURES = ("embedding", "tags", "embedding+tags")
# How musicnn's linear head on a frozen backbone is fitted: by the training loop (sigmoid outputs, BCE, AdamW,
# early stopping), or as tagger learn fits a user's head (softmax outputs, scikit-learn's multinomial logistic
# regression on the standardised window embeddings, its regularisation chosen by CV within the training tracks).
HEAD_FITS = ("gradient", "logistic")


@dataclass(frozen=True)
class ModelConfig:
    """The architecture's knobs, saved in checkpoints so a model can be rebuilt exactly.

    No defaults here: the training recipe's values live in ``TrainConfig`` (``TrainConfig.model_config``).
    """

    n_classes: int
    channels: tuple[int, int, int]
    hidden: int
    dropout: float
    attention: bool
    frequency_channel: bool
    backbone: str
    tuning: str
    attention_reduction: int = 8
    head_features: str = "embedding"  # one of HEAD_FEATURES; checkpoints older than the option had the embedding
    probabilities: str = "sigmoid"  # "sigmoid" (independent genres) or "softmax" (one of them); older: sigmoid

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        return cls(**{**values, "channels": tuple(values["channels"])})


@dataclass
class TrainConfig:
    """Defaults are the recipe that won the ablation study (scripts/ablate.py, runs/ablations/ablations.md):
    one-cycle schedule, label smoothing, gain/noise/same-genre-mixing augmentation, 32-64-128 channels."""

    data: str
    out: str
    labels_from_tags: bool = False
    backbone: str = "scratch"  # one of BACKBONES
    tuning: str = "frozen"  # pretrained backbones only: one of TUNINGS
    backbone_lr_scale: float = 0.1  # the pretrained layers' learning rate, relative to --lr, when they learn
    probe_epochs: int = 0  # partial/full tuning: first train the head alone on the frozen backbone (LP-FT)
    feature_cache: bool = True  # compute a frozen backbone's outputs once per window (no waveform augmentation)
    attention: bool = True  # scratch: CBAM in every block; pretrained: an attention head on its frame features
    head_features: str = "embedding"  # musicnn's linear head: one of HEAD_FEATURES
    head_fit: str = "gradient"  # musicnn's frozen linear head: one of HEAD_FITS
    loss: str = "bce"  # bce | focal
    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 3e-3
    weight_decay: float = 1e-2
    patience: int = 15  # early stopping: epochs without a better validation score
    select_by: str = "f1"  # f1 | loss: what "better" means for early stopping and the kept checkpoint
    lr_schedule: str = "onecycle"  # plateau (ReduceLROnPlateau on validation loss) | cosine | onecycle
    lr_patience: int = 3  # ReduceLROnPlateau patience
    seed: int = 0  # weights, batch order, augmentation
    split_seed: int = 0  # the train/val/test split; fixed separately so configurations share it
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    group_by: str = "track"  # track | artist
    max_per_class: int | None = None  # undersample training tracks to this many per genre
    min_tracks: int = 3  # genres with fewer tracks are dropped
    channels: tuple[int, int, int] = (32, 64, 128)
    hidden: int = 128
    dropout: float = 0.1
    frequency_channel: bool = True
    label_smoothing: float = 0.1  # targets become y (1 - s) + s / 2 in the training loss
    time_shift: bool = False  # move each training window by up to half a hop at random
    windows_per_track: int | None = None  # training excerpts per track and epoch, from anywhere; None: its grid
    gain_db: float = 6.0
    noise_probability: float = 0.5
    mix_probability: float = 0.5
    device: str = "auto"  # auto (CUDA when available) | cpu | cuda
    cache_dir: str | None = None
    threads: int | None = None

    def augmentation(self) -> Augmentation:
        return Augmentation(gain_db=self.gain_db, noise_probability=self.noise_probability,
                            mix_probability=self.mix_probability)

    def model_config(self, n_classes: int) -> ModelConfig:
        """The architecture this configuration trains (a network from scratch learns everything: "full")."""
        tuning = "full" if self.backbone == "scratch" else self.tuning
        if self.head_fit not in HEAD_FITS:
            raise ValueError(f"unknown head fit {self.head_fit!r}: one of {', '.join(HEAD_FITS)}")
        if self.head_fit == "logistic" and (self.backbone, tuning, self.attention, self.head_features) != (
                "musicnn-msd", "frozen", False, "embedding"):
            raise ValueError("a logistic head is fitted on the embedding of a frozen musicnn-msd backbone: use "
                             "--backbone musicnn-msd --tuning frozen --no-attention --head-features embedding")
        return ModelConfig(n_classes, self.channels, self.hidden, self.dropout, self.attention,
                           self.frequency_channel, self.backbone, tuning, head_features=self.head_features,
                           probabilities="softmax" if self.head_fit == "logistic" else "sigmoid")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        config = cls(**{key: value for key, value in values.items() if key in known})
        first, second, third = config.channels  # JSON gives a list
        config.channels = (first, second, third)
        return config
