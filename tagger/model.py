"""The ONNX model and its metadata contract: the only thing the tagger shares with the trainer.

A model file is self-describing: its ``metadata_props`` say which genres it predicts, at which sample
rate and window length, and with which per-genre decision thresholds. ``export`` writes these keys with
``MetadataKeys``; this module reads them, so nothing about a model is hard-coded in the tagger.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tagger.calibration import Calibration
from tagger.contract import (
    INFERENCE_WINDOWS_RANGE,
    SAMPLE_RATE_RANGE,
    WINDOW_SECONDS_RANGE,
    ContractError,
    check_outputs,
    number_in,
    probability_map,
    text_list,
)
from tagger.onnx_file import Declared, NotOnnxError, read_declared

if TYPE_CHECKING:  # a scan's main process reads models without numpy; sessions and thresholds import it
    import numpy as np

SHIPPED_MODELS = Path(__file__).parent / "models"
DEFAULT_MODEL_NAME = "default"
DEFAULT_MODEL_PATH = SHIPPED_MODELS / f"{DEFAULT_MODEL_NAME}.onnx"
INPUT_NAME = "waveform"
OUTPUT_NAME = "probabilities"
# An optional second output: what the last layer of the head sees, per window (`tagger learn` fits a head on it).
EMBEDDING_OUTPUT = "embedding"
# A genre's probability threshold when the model states none (and before thresholds are tuned).
DEFAULT_THRESHOLD = 0.5
# Windows analysed per track when the model states none, and what `trainer export` records by default:
# in the ablation study's windows-per-track table (README, "Training") 5 was at the top for the recipe.
DEFAULT_INFERENCE_WINDOWS = 5


class MetadataKeys:
    """Names of the ``metadata_props`` entries of a model file (values are strings, JSON where noted)."""

    LABELS = "labels"  # JSON list of genre identifiers, in output order
    GENRE_NAMES = "genre_names"  # JSON list of the names written into tags, same order
    SAMPLE_RATE = "sample_rate"
    WINDOW_SECONDS = "window_seconds"
    HOP_SECONDS = "hop_seconds"
    THRESHOLDS = "thresholds"  # JSON object genre -> probability threshold
    INFERENCE_WINDOWS = "inference_windows"  # windows per track the tagger should analyse
    MODEL_VERSION = "model_version"
    METRICS = "metrics"  # JSON object of held-out metrics
    TRAINING_DATA = "training_data"  # one-line description
    LICENSES = "licenses"  # JSON object: pretrained part -> the licence notice that must travel with its weights
    CALIBRATION = "calibration"  # JSON object: tagger.calibration.Calibration (thresholds are uncalibrated)
    BROAD_GENRES = "broad_genres"  # JSON object: label -> how the graph gates it in (export/broad_genres.py)
    TAG_AGREEMENT = "tag_agreement"  # JSON object: how the graph doubts a genre musicnn's tags do not support


class ModelError(Exception):
    """The model file is missing, unreadable, or lacks the metadata the tagger needs."""


def shipped_model_names() -> list[str]:
    """Models inside the package, by name (``default``, ``fast``, their ``.int8`` copies)."""
    return sorted(path.name.removesuffix(".onnx") for path in SHIPPED_MODELS.glob("*.onnx"))


def resolve_model(name_or_path: str | None) -> Path:
    """A shipped model's name, or a model file's path, to the file; ``None`` means the default model."""
    if name_or_path is None:
        return DEFAULT_MODEL_PATH
    if name_or_path in shipped_model_names():
        return SHIPPED_MODELS / f"{name_or_path}.onnx"
    path = Path(name_or_path)
    if not path.is_file():
        raise ModelError(f"no model file {name_or_path!r} and no shipped model of that name "
                         f"(shipped: {', '.join(shipped_model_names())})")
    return path


@dataclass(frozen=True)
class ModelInfo:
    """What a model file says about itself."""

    labels: list[str]
    genre_names: list[str]
    sample_rate: int
    window_seconds: float
    hop_seconds: float
    thresholds: dict[str, float]
    inference_windows: int
    model_version: str
    model_id: str
    metrics: dict[str, Any] = field(default_factory=dict)
    training_data: str = ""
    licenses: dict[str, str] = field(default_factory=dict)
    calibration: Calibration = field(default_factory=Calibration)
    broad_genres: dict[str, dict[str, Any]] = field(default_factory=dict)
    tag_agreement: dict[str, Any] = field(default_factory=dict)  # export/tag_agreement.py's recipe, if any

    @property
    def window_samples(self) -> int:
        return round(self.window_seconds * self.sample_rate)

    def threshold_array(self, override: float | None = None) -> np.ndarray:
        """Per-genre thresholds on calibrated probabilities, in output order; ``override`` (``--threshold``)
        replaces them all. The file's thresholds were tuned before calibration and move with it."""
        import numpy as np

        if override is not None:
            return np.full(len(self.labels), override, dtype=np.float32)
        tuned = np.array([self.thresholds.get(label, DEFAULT_THRESHOLD) for label in self.labels])
        return self.calibration.apply(tuned)

    def windows_per_track(self, requested: int | None) -> int:
        """The windows a run hears per track: the count asked for (``--windows``), else the model's own."""
        return requested or self.inference_windows

    def scores_key(self, windows: int) -> str:
        """What a file's scores are kept under: the model's id, with the windows per track heard where they
        are not the model's own count (scores of 8 windows are not those of 2)."""
        return self.model_id if windows == self.inference_windows else f"{self.model_id}+{windows}w"

    def min_confidence(self, override: float | None = None) -> float | None:
        """The top-genre probability below which nothing is written: ``override`` (``--min-confidence``,
        0 turns it off), else the one the model's calibration chose, else none."""
        chosen = override if override is not None else self.calibration.min_confidence
        return chosen or None


def model_id(data: bytes) -> str:
    """A short content hash of a model file's bytes: results cached for one model file are never reused for
    another."""
    return hashlib.sha256(data).hexdigest()[:16]


def parse_metadata(metadata: dict[str, str], identifier: str) -> ModelInfo:
    """Build ModelInfo from raw metadata strings, checking the whole contract (``tagger.contract``);
    raises ModelError naming the missing or bad key."""
    try:
        labels = text_list(json.loads(metadata[MetadataKeys.LABELS]), MetadataKeys.LABELS)
        names = json.loads(metadata.get(MetadataKeys.GENRE_NAMES, "null"))
        names = labels if names is None else text_list(names, MetadataKeys.GENRE_NAMES)
        if len(names) != len(labels):
            raise ContractError(f"{len(names)} genre names for {len(labels)} labels")
        window = number_in(metadata[MetadataKeys.WINDOW_SECONDS], MetadataKeys.WINDOW_SECONDS, WINDOW_SECONDS_RANGE)
        return ModelInfo(
            labels=labels,
            genre_names=names,
            sample_rate=int(number_in(metadata[MetadataKeys.SAMPLE_RATE], MetadataKeys.SAMPLE_RATE,
                                      SAMPLE_RATE_RANGE, integer=True)),
            window_seconds=window,
            hop_seconds=number_in(metadata.get(MetadataKeys.HOP_SECONDS, window), MetadataKeys.HOP_SECONDS,
                                  WINDOW_SECONDS_RANGE),
            thresholds=probability_map(json.loads(metadata.get(MetadataKeys.THRESHOLDS, "{}")),
                                       MetadataKeys.THRESHOLDS, labels),
            inference_windows=int(number_in(metadata.get(MetadataKeys.INFERENCE_WINDOWS, DEFAULT_INFERENCE_WINDOWS),
                                            MetadataKeys.INFERENCE_WINDOWS, INFERENCE_WINDOWS_RANGE, integer=True)),
            model_version=metadata.get(MetadataKeys.MODEL_VERSION, "unknown"),
            model_id=identifier,
            metrics=_json_object(metadata, MetadataKeys.METRICS),
            training_data=metadata.get(MetadataKeys.TRAINING_DATA, ""),
            licenses={str(k): str(v) for k, v in _json_object(metadata, MetadataKeys.LICENSES).items()},
            calibration=Calibration.from_dict(json.loads(metadata.get(MetadataKeys.CALIBRATION, "null"))),
            broad_genres=_json_object(metadata, MetadataKeys.BROAD_GENRES),
            tag_agreement=_json_object(metadata, MetadataKeys.TAG_AGREEMENT),
        )
    except KeyError as error:
        raise ModelError(f"model metadata lacks {error.args[0]!r}") from error
    except (ValueError, TypeError) as error:
        raise ModelError(f"model metadata is malformed: {error}") from error


def _json_object(metadata: dict[str, str], key: str) -> dict[str, Any]:
    value = json.loads(metadata.get(key, "{}"))
    if not isinstance(value, dict):
        raise ContractError(f"{key!r} must be a JSON object")
    return value


def _load_failure(path: Path, error: Exception) -> str:
    """onnxruntime's reason a file does not load, in one line a person can act on."""
    lines = str(error).strip().splitlines()
    return f"cannot load model {path}: {lines[0] if lines else type(error).__name__}"


class GenreModel:
    """A model file's metadata, and an onnxruntime session over it.

    The metadata and the declared interface are read from the file itself and checked at once. Where
    ``session`` is true the session is built and run on two silent windows at once, so that a network whose
    outputs break the contract fails before any file is touched; otherwise it is built when first needed (a
    scan's main process needs none, its workers hold the sessions), and every prediction is checked instead,
    so a worker pays for no silent windows. ``threads`` is onnxruntime's intra-op thread count; the tagger runs
    one single-threaded session per worker process.
    """

    def __init__(self, path: Path | None = None, threads: int = 1, *, session: bool = True) -> None:
        self.path = Path(path) if path is not None else DEFAULT_MODEL_PATH
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        try:
            data = self.path.read_bytes()
        except OSError as error:
            raise ModelError(f"cannot read model {self.path}: {error.strerror or error}") from error
        try:
            declared = read_declared(data)
        except NotOnnxError as error:
            raise ModelError(f"{self.path} is not an ONNX model ({error})") from error
        self.info = parse_metadata(declared.metadata, model_id(data))
        self._check_declared(declared)
        self._threads = threads
        if session:
            import numpy as np

            self.predict(np.zeros((2, self.info.window_samples), np.float32))

    def _check_declared(self, declared: Declared) -> None:
        """The input and output the contract names, with the widths the metadata implies where the graph
        declares them: a model whose labels do not match its outputs fails without onnxruntime."""
        if INPUT_NAME not in declared.inputs or OUTPUT_NAME not in declared.outputs:
            raise ModelError(f"the network must take {INPUT_NAME!r} and give {OUTPUT_NAME!r} "
                             f"(it takes {list(declared.inputs)} and gives {list(declared.outputs)})")
        width = declared.outputs[OUTPUT_NAME][-1:]
        if width and isinstance(width[0], int) and width[0] != len(self.info.labels):
            raise ModelError(f"model {self.path}: the network declares {width[0]} outputs per window, but its "
                             f"metadata names {len(self.info.labels)} genres")

    @cached_property
    def session(self) -> Any:
        """The onnxruntime session, built on first use."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own untyped errors
            raise ModelError(_load_failure(self.path, error)) from error
        return session

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """Per-genre probabilities for waveform windows: [n, samples] float32 -> [n, genres]. Raises ModelError
        where the network does not run on them or breaks the contract (count, range): a model's fault, which
        no other file would escape either."""
        import numpy as np

        windows = np.ascontiguousarray(windows, dtype=np.float32)
        session = self.session
        try:
            (probabilities,) = session.run([OUTPUT_NAME], {INPUT_NAME: windows})
            check_outputs(probabilities, len(windows), self.info.labels)
        except ContractError as error:
            raise ModelError(f"model {self.path}: {error}") from error
        except Exception as error:  # onnxruntime raises its own untyped errors
            raise ModelError(f"model {self.path} cannot run on {self.info.window_seconds:g} s windows: {error}") \
                from error
        return probabilities

    @property
    def has_embedding(self) -> bool:
        return EMBEDDING_OUTPUT in (node.name for node in self.session.get_outputs())

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """The embedding of each waveform window: [n, samples] -> [n, width]. Raises ModelError for a model
        without that output (an INT8 copy, or a file exported before models had it)."""
        if not self.has_embedding:
            raise ModelError(f"model {self.path} gives no {EMBEDDING_OUTPUT!r} output to learn from "
                             "(the shipped default model does)")
        import numpy as np

        windows = np.ascontiguousarray(windows, dtype=np.float32)
        (embedding,) = self.session.run([EMBEDDING_OUTPUT], {INPUT_NAME: windows})
        return embedding
