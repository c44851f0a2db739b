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


def plot_calibration(bins: list[dict], curve: list[dict], chosen: float | None, destination: Path, title: str) -> None:
    """Reliability diagram (accuracy of the top genre against its probability, per bin, with track counts)
    beside the precision-against-coverage curve over --min-confidence, marking the ``chosen`` default."""
    plt = _pyplot()
    figure, (reliability, coverage) = plt.subplots(1, 2, figsize=(10, 4))
    centres = [(row["low"] + row["high"]) / 2 for row in bins]
    reliability.bar(centres, [row["accuracy"] for row in bins], width=0.09, alpha=0.7, label="how often right")
    reliability.plot(centres, [row["confidence"] for row in bins], "_", markersize=22, markeredgewidth=2,
                     color="black", label="what the model said (mean)")
    reliability.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    for centre, row in zip(centres, bins, strict=True):
        reliability.text(centre, 0.02, str(row["tracks"]), ha="center", fontsize=8)
    reliability.set(xlim=(0, 1), ylim=(0, 1.05), xlabel="top genre's probability", ylabel="top genre right",
                    title="reliability (tracks per bin at the bottom)")
    reliability.legend(loc="upper left", fontsize=8)
    minimums = [row["min_confidence"] for row in curve]
    coverage.plot(minimums, [row["precision"] for row in curve], marker=".", label="precision (top genre right)")
    coverage.plot(minimums, [row["coverage"] for row in curve], marker=".", label="coverage (tracks tagged)")
    if chosen is not None:
        coverage.axvline(chosen, color="grey", linestyle="--", label=f"default {chosen:g}")
    coverage.set(xlim=(0, 1), ylim=(0, 1.05), xlabel="--min-confidence", title="precision against coverage")
    coverage.legend(loc="lower left", fontsize=8)
    for axis in (reliability, coverage):
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(destination, dpi=110)
    plt.close(figure)
