"""Training throughput (windows per second, forward + backward + AdamW step) for each configuration of
the seed's grid, on random 4 s windows at the model's rate.

Usage: python benchmarks/bench_training.py [--threads 2] [--batches 6]
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
from trainer.audio_params import AudioParams
from trainer.compare import DEFAULT_GRID
from trainer.config import TrainConfig
from trainer.losses import make_loss
from trainer.model import SpectrogramCNN

BATCH, CLASSES = 32, 10
RECIPE = TrainConfig(data="", out="")  # the shipped recipe's defaults


def windows_per_second(attention: bool, loss_name: str, batches: int) -> float:
    torch.manual_seed(0)
    audio = AudioParams()
    config = replace(RECIPE, attention=attention).model_config(CLASSES)
    model = SpectrogramCNN(config, audio).train()
    targets = torch.nn.functional.one_hot(torch.randint(0, CLASSES, (BATCH,)), CLASSES).float()
    loss_fn = make_loss(loss_name, targets, RECIPE.label_smoothing)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    windows = 0.1 * torch.randn(BATCH, audio.window_samples)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(windows), targets).backward()
        optimizer.step()

    step()  # warm-up
    started = time.perf_counter()
    for _ in range(batches):
        step()
    return batches * BATCH / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", type=int, default=6)
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    rows = []
    for name, (attention, loss_name) in DEFAULT_GRID.items():
        rate = windows_per_second(attention, loss_name, arguments.batches)
        rows.append([name, f"{rate:.0f}", f"{14 * 67 / rate:.1f}"])
    body = (
        f"The default recipe's model ({RECIPE.channels} channels), batch {BATCH}, {arguments.threads} torch "
        f"threads, {arguments.batches} timed batches after a warm-up. "
        "The last column is the training pass of one epoch on the GTZAN part's 67 training tracks "
        "(14 windows each), validation not included.\n\n"
        + table(["configuration", "windows/s", "s per epoch (train pass)"], rows)
    )
    print(body)
    record("Training throughput", body)


if __name__ == "__main__":
    main()
