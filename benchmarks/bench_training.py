"""Training throughput (windows per second, forward + backward + AdamW step) for each configuration of
`trainer compare`'s grid, on random windows at each network's own rate and length.

A configuration with a frozen backbone trains on the cached outputs of its frozen part (as the trainer does
with its feature cache on); the table gives the one-time cost of filling that cache separately.

Usage: python benchmarks/bench_training.py [--threads 2] [--batches 6] [--configs a,b]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import record, table
from trainer.audio_params import audio_for
from trainer.compare import GRID
from trainer.config import TrainConfig
from trainer.losses import make_loss
from trainer.transfer import build_model

BATCH, CLASSES, TRAINING_TRACKS, CLIP_SECONDS = 32, 10, 67, 30
RECIPE = TrainConfig(data="", out="")  # the shipped recipe's defaults


def throughput(name: str, batches: int) -> tuple[float, float | None, int]:
    """(training windows/s, frozen-part windows/s when it is cached, training windows per epoch)."""
    torch.manual_seed(0)
    config = replace(RECIPE, **GRID[name])
    audio = audio_for(config.backbone)
    model = build_model(config.model_config(CLASSES), audio, pretrained=True).train()
    targets = torch.nn.functional.one_hot(torch.randint(0, CLASSES, (BATCH,)), CLASSES).float()
    loss_fn = make_loss(config.loss, targets, RECIPE.label_smoothing)
    optimizer = torch.optim.AdamW(model.parameter_groups(1e-3, config.backbone_lr_scale))
    windows = 0.1 * torch.randn(BATCH, audio.window_samples)
    frozen_rate = None
    if model.has_frozen_weights():
        started = time.perf_counter()
        inputs = model.eval().frozen_part(windows)
        frozen_rate = BATCH / (time.perf_counter() - started)
        model.train()
        forward = model.trainable_part
    else:
        inputs, forward = windows, model

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(forward(inputs), targets).backward()
        optimizer.step()

    step()  # warm-up
    started = time.perf_counter()
    for _ in range(batches):
        step()
    per_track = config.windows_per_track or 1 + int((CLIP_SECONDS - audio.window_seconds) // audio.hop_seconds)
    return batches * BATCH / (time.perf_counter() - started), frozen_rate, per_track * TRAINING_TRACKS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--configs", default=",".join(GRID), help="comma-separated names from trainer compare's grid")
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    rows = []
    for name in arguments.configs.split(","):
        rate, frozen_rate, per_epoch = throughput(name, arguments.batches)
        cache = f"{frozen_rate:.0f} ({per_epoch / frozen_rate:.0f} s once)" if frozen_rate else "-"
        rows.append([name, f"{rate:.0f}", f"{per_epoch / rate:.1f}", cache])
    body = (
        f"Batch {BATCH}, {arguments.threads} torch threads, {arguments.batches} timed batches after a warm-up, the "
        f"recipe's other settings. Epoch: one training pass over the GTZAN part's {TRAINING_TRACKS} training tracks "
        f"({CLIP_SECONDS} s each, windows on each network's hop grid, or the configuration's excerpts per track), "
        "validation and a head probe not included.\n\n"
        + table(["configuration", "windows/s", "s per epoch (train pass)", "frozen part: windows/s (cache fill)"],
                rows)
    )
    print(body)
    record("Training throughput", body)


if __name__ == "__main__":
    main()
