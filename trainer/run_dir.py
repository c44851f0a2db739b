"""The files of a run directory, written and read in one place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from trainer.audio_params import AudioParams
from trainer.config import ModelConfig
from trainer.model import GenreModel
from trainer.transfer import build_model

CONFIG, SPLIT, METRICS, HISTORY = "config.json", "split.json", "metrics.json", "history.json"
CURVES, CONFUSION, CHECKPOINT = "curves.png", "confusion.png", "checkpoint.pt"


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def save_checkpoint(path: Path, model: GenreModel, labels: list[str], thresholds: list[float], extra: dict) -> None:
    torch.save(
        {
            "state_dict": model.state_dict(),
            "model_config": model.config.to_dict(),
            "audio": model.audio.to_dict(),
            "labels": labels,
            "thresholds": thresholds,
            **extra,
        },
        path,
    )


def load_checkpoint(path: Path) -> tuple[GenreModel, dict]:
    """Rebuild the model from a checkpoint file or a run directory; returns (model in eval mode, dict)."""
    path = path / CHECKPOINT if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    model = build_model(ModelConfig.from_dict(checkpoint["model_config"]), AudioParams(**checkpoint["audio"]))
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval(), checkpoint
