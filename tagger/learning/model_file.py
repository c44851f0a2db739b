"""The learned model as one self-describing ONNX file: the backbone's graph up to its embedding, the user's
head on top, and the metadata contract the tagger validates (``tagger.model``), written atomically and
then loaded back and checked against the head it was built from."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from tagger.calibration import Calibration
from tagger.learning.head import Head
from tagger.model import GenreModel, MetadataKeys, ModelError

PARITY_TOLERANCE = 1e-4  # |onnxruntime - numpy| on the probabilities of the same embeddings


def metadata(base: GenreModel, names: list[str], thresholds: np.ndarray, windows: int, calibration: Calibration,
             figures: dict, training_data: str, version: str) -> dict[str, str]:
    """The learned model's metadata: the base's audio input and licences, the user's genres and figures."""
    info = base.info
    return {
        MetadataKeys.LABELS: json.dumps(names, ensure_ascii=False),
        MetadataKeys.GENRE_NAMES: json.dumps(names, ensure_ascii=False),
        MetadataKeys.SAMPLE_RATE: str(info.sample_rate),
        MetadataKeys.WINDOW_SECONDS: str(info.window_seconds),
        MetadataKeys.HOP_SECONDS: str(info.hop_seconds),
        MetadataKeys.THRESHOLDS: json.dumps({name: round(float(value), 4) for name, value
                                             in zip(names, thresholds, strict=True)}, ensure_ascii=False),
        MetadataKeys.INFERENCE_WINDOWS: str(windows),
        MetadataKeys.MODEL_VERSION: version,
        MetadataKeys.METRICS: json.dumps(figures, ensure_ascii=False),
        MetadataKeys.TRAINING_DATA: training_data,
        MetadataKeys.LICENSES: json.dumps(info.licenses, ensure_ascii=False),
        MetadataKeys.CALIBRATION: json.dumps(calibration.to_dict()),
    }


def write_model(base: GenreModel, head: Head, values: dict[str, str], destination: Path) -> GenreModel:
    """Build, write (a temporary file renamed over ``destination``, so a failure leaves what was there) and
    load the model back, checked against the head it was built from."""
    import onnx

    from tagger.graph_edit import with_softmax_head

    model = with_softmax_head(onnx.load(str(base.path)), head.weights, head.bias, values)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent)
    os.close(handle)
    try:
        onnx.save(model, temporary)
        os.chmod(temporary, 0o644)
        learned = GenreModel(Path(temporary))  # loading it checks the contract too
        _check_parity(learned, head)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    learned.path = destination  # the same file, renamed: its session and metadata stand
    return learned


def _check_parity(learned: GenreModel, head: Head) -> None:
    """On a few noise windows, the file's probabilities against the fitted head's on the file's own
    embedding of the same windows: the graph's head computes what was fitted."""
    windows = np.random.default_rng(0).uniform(-0.5, 0.5, (4, learned.info.window_samples)).astype(np.float32)
    worst = float(np.abs(learned.predict(windows) - head.window_probabilities(learned.embed(windows))).max())
    if worst > PARITY_TOLERANCE:
        raise ModelError(f"the written model's probabilities differ from the fitted head's by {worst:.2e}")
