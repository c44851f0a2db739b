"""musicnn's frozen linear head fitted as `tagger learn` fits a user's head (``TrainConfig.head_fit``
"logistic"): multinomial logistic regression on the standardised window embeddings, its regularisation
chosen by cross-validation within the training tracks (``tagger.learning.head``), written into the
network's linear layer, whose outputs then go through a softmax.

It puts the head a user's `tagger learn` gets beside the loop-trained head of the shipped default, on the
same folds and under the same statistics (`trainer compare`): a regularisation path chosen within the
training tracks, with no epochs and no validation side to early-stop on, against AdamW's weight decay and
early stopping. The model card says which won on gtzan-part.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

from tagger.learning.head import FOLDS, Examples, fit_head
from trainer.config import TrainConfig
from trainer.data.features import FeatureWindows
from trainer.data.prepare import PreparedData
from trainer.data.split import group_key
from trainer.transfer import LinearHead

if TYPE_CHECKING:
    from trainer.train import Inputs


def fit_logistic(inputs: Inputs, data: PreparedData, config: TrainConfig, log: Callable[[str], None]) -> dict:
    """Fit the head on the training side's cached window embeddings; the figures a run records about it."""
    started = time.monotonic()
    side = data.sides["train"]
    windows = inputs.training(side)
    if not isinstance(windows, FeatureWindows):
        raise ValueError("a logistic head is fitted on the frozen backbone's cached embeddings: keep the feature cache")
    groups = np.array([group_key(track, config.group_by) for track in side.tracks])
    head = fit_head(Examples(windows.features.numpy(), side.targets, windows.track_indices(), groups), config.seed)
    head_module = inputs.model.head
    if not isinstance(head_module, LinearHead):
        raise ValueError("a logistic head replaces musicnn's linear head, not an attention head")
    linear = head_module.linear
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(head.weights.T.astype(np.float32)))
        linear.bias.copy_(torch.from_numpy(head.bias.astype(np.float32)))
    log(f"logistic head: C {head.regularisation:g}, chosen by {FOLDS}-fold cross-validation within the "
        f"{len(side.tracks)} training tracks ({len(windows)} windows)")
    return {"training_seconds": round(time.monotonic() - started, 1), "regularisation": head.regularisation,
            "trainable_parameters": inputs.model.trainable_parameters()}
