"""Multi-label losses: class-weighted BCE, and asymmetric focal loss (Ridnik et al., ICCV 2021)."""

from __future__ import annotations

import torch
from torch import nn


def positive_weights(targets: torch.Tensor) -> torch.Tensor:
    """Per-class ``pos_weight`` = negatives / positives in the training targets [tracks, classes].

    Rare genres then weigh as much as common ones; a class with no positives gets weight 1.
    """
    positives = targets.sum(dim=0)
    negatives = targets.shape[0] - positives
    return torch.where(positives > 0, negatives / positives.clamp(min=1), torch.ones_like(positives))


def weighted_bce(targets: torch.Tensor) -> nn.Module:
    return nn.BCEWithLogitsLoss(pos_weight=positive_weights(targets))


class AsymmetricFocalLoss(nn.Module):
    """Focal loss with separate focusing for positives (``gamma_pos``) and negatives (``gamma_neg``),
    and probability shifting of negatives by ``clip``: easy negatives (p < clip) contribute nothing.

    loss = -[ y (1-p)^g+ log p + (1-y) p_m^g- log(1-p_m) ],  p_m = max(p - clip, 0); mean over elements.
    """

    def __init__(self, gamma_pos: float = 0.0, gamma_neg: float = 4.0, clip: float = 0.05, eps: float = 1e-8):
        super().__init__()
        self.gamma_pos, self.gamma_neg, self.clip, self.eps = gamma_pos, gamma_neg, clip, eps

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        probability = torch.sigmoid(logits)
        shifted = (probability - self.clip).clamp(min=0) if self.clip > 0 else probability
        positive = targets * (1 - probability).pow(self.gamma_pos) * torch.log(probability.clamp(min=self.eps))
        negative = (1 - targets) * shifted.pow(self.gamma_neg) * torch.log((1 - shifted).clamp(min=self.eps))
        return -(positive + negative).mean()


class SmoothedTargets(nn.Module):
    """Label smoothing for multi-label targets: y -> y (1 - s) + s / 2, so no target is a certain 0 or 1
    and the network is not pushed towards ever larger logits on a few dozen training tracks."""

    def __init__(self, loss: nn.Module, smoothing: float) -> None:
        super().__init__()
        if not 0 <= smoothing < 1:
            raise ValueError("label smoothing must lie in [0, 1)")
        self.loss, self.smoothing = loss, smoothing

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.loss(logits, targets * (1 - self.smoothing) + self.smoothing / 2)


def make_loss(name: str, train_targets: torch.Tensor, label_smoothing: float = 0.0) -> nn.Module:
    """``bce`` (class-weighted) or ``focal`` (asymmetric focal), optionally with label smoothing."""
    if name == "bce":
        loss = weighted_bce(train_targets)
    elif name == "focal":
        loss = AsymmetricFocalLoss()
    else:
        raise ValueError(f"unknown loss {name!r}: choose bce or focal")
    return SmoothedTargets(loss, label_smoothing) if label_smoothing else loss
