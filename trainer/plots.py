"""Figures of a run: learning curves and the confusion matrix (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(history: list[dict], destination: Path) -> None:
    """Loss, macro F1 and top-1 accuracy per epoch, training against validation."""
    plt = _pyplot()
    epochs = [entry["epoch"] for entry in history]
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    panels = (("loss", "loss"), ("f1", "macro F1"), ("accuracy", "top-1 accuracy"))
    for axis, (metric, title) in zip(axes, panels, strict=True):
        for side in (side for side in ("train", "val") if f"{side}_{metric}" in history[0]):
            axis.plot(epochs, [entry[f"{side}_{metric}"] for entry in history], marker=".", label=side)
        axis.set_title(title)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(destination, dpi=110)
    plt.close(figure)


def plot_confusion(matrix: np.ndarray, labels: list[str], destination: Path, title: str) -> None:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(1.0 + 0.55 * len(labels), 0.8 + 0.5 * len(labels)))
    axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted (top-1)")
    axis.set_ylabel("true")
    axis.set_title(title)
    for (row, column), value in np.ndenumerate(matrix):
        if value:
            colour = "white" if value > matrix.max() / 2 else "black"
            axis.text(column, row, str(value), ha="center", va="center", color=colour, fontsize=8)
    figure.tight_layout()
    figure.savefig(destination, dpi=110)
    plt.close(figure)
