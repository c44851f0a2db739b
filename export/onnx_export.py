"""Export a trained genre network to ONNX with its metadata, and prove the file computes what PyTorch does.

The graph: waveform windows [batch, samples] -> the network (its log-mel front end first) -> its sigmoid (or
softmax) -> [batch, genres].
It is written with the TorchScript-based exporter at opset 17; large constants whose values are exact in
half precision (the mel filter bank) are stored as float16 and cast back when onnxruntime loads the file.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper
import torch

from tagger.model import DEFAULT_INFERENCE_WINDOWS, INPUT_NAME, OUTPUT_NAME, MetadataKeys
from trainer.model import GenreModel
from trainer.run_dir import CONFIG, SPLIT, load_checkpoint, read_json

OPSET = 17
PARITY_TOLERANCE = 1e-4
INT8_AGREEMENT = 0.9  # the least top-1 agreement with the float model an INT8 copy is kept with
# Names written into tags for the GTZAN identifiers; any other label is written title-cased.
DISPLAY_NAMES = {"hiphop": "Hip-Hop", "rnb": "R&B", "edm": "EDM"}


class ExportError(Exception):
    """The export failed or its result does not match PyTorch."""


@dataclass
class ExportReport:
    path: Path
    size_bytes: int
    parity: dict[str, float]
    inference_windows: int
    windows_chosen_by: str
    quality: ModelQuality
    quantized: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [f"wrote {self.path} ({self.size_bytes / 1024:.0f} KiB); onnx.checker passed"]
        lines += [f"  max |onnxruntime - torch| on {name}: {value:.2e}" for name, value in self.parity.items()]
        lines.append(f"  {self.inference_windows} windows per track ({self.windows_chosen_by})")
        lines.append(f"  {self.quality.describe()}")
        if self.quantized:
            q = self.quantized
            lines.append(f"wrote {q['path']} ({q['size_bytes'] / 1024:.0f} KiB, INT8): max |int8 - float| "
                         f"{q['max_abs_difference']:.3f}, top-1 agreement {q['top1_agreement']:.1%} "
                         f"on {q['windows']} {q['windows_kind']} windows")
        return lines + [f"WARNING: {warning}" for warning in self.warnings]


@dataclass(frozen=True)
class ModelQuality:
    """The held-out figures a checkpoint carries, read as a user of the model file would need them."""

    top1_accuracy: float | None
    tracks: int
    held_out: str  # which tracks: the test tracks, or every track out of fold
    genres: int

    @classmethod
    def of(cls, checkpoint: dict) -> ModelQuality:
        figures = checkpoint.get("metrics") or {}
        key = next((key for key in figures if key.endswith("_tracks")), "test_tracks")
        return cls(figures.get("top1_accuracy"), int(figures.get(key, 0)), key.replace("_", " "),
                   len(checkpoint["labels"]))

    @property
    def chance(self) -> float:
        return 1 / max(self.genres, 1)

    def describe(self) -> str:
        if self.top1_accuracy is None:
            return "no held-out figures (the run had no test tracks)"
        return (f"held-out top-1 accuracy {self.top1_accuracy:.3f} on {self.tracks} {self.held_out} "
                f"(chance: {self.chance:.3f} for {self.genres} genres)")

    def near_chance(self) -> bool:
        """Not shown to beat guessing: below twice chance, or a one-sided binomial test against chance at
        5 % does not reject it (a few lucky test tracks prove nothing)."""
        from scipy.stats import binomtest

        if self.top1_accuracy is None or self.tracks == 0:
            return True
        hits = round(self.top1_accuracy * self.tracks)
        return (self.top1_accuracy < 2 * self.chance
                or binomtest(hits, self.tracks, self.chance, alternative="greater").pvalue >= 0.05)


class Probabilities(torch.nn.Module):
    """The exported function: the model followed by its output activation (``GenreModel.probabilities``)."""

    def __init__(self, model: GenreModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.model.probabilities(self.model(waveform))


def display_name(label: str) -> str:
    return DISPLAY_NAMES.get(label, label.replace("_", " ").title())


def metadata_for(model: GenreModel, checkpoint: dict, inference_windows: int, version: str) -> dict[str, str]:
    labels = checkpoint["labels"]
    return {
        MetadataKeys.LABELS: json.dumps(labels),
        MetadataKeys.GENRE_NAMES: json.dumps([display_name(label) for label in labels]),
        MetadataKeys.SAMPLE_RATE: str(model.audio.sample_rate),
        MetadataKeys.WINDOW_SECONDS: str(model.audio.window_seconds),
        MetadataKeys.HOP_SECONDS: str(model.audio.hop_seconds),
        MetadataKeys.THRESHOLDS: json.dumps(dict(zip(labels, checkpoint["thresholds"], strict=True))),
        MetadataKeys.INFERENCE_WINDOWS: str(inference_windows),
        MetadataKeys.MODEL_VERSION: version,
        MetadataKeys.METRICS: json.dumps(checkpoint.get("metrics", {})),
        MetadataKeys.TRAINING_DATA: checkpoint.get("training_data", ""),
        MetadataKeys.LICENSES: json.dumps(model.licenses()),
        MetadataKeys.CALIBRATION: json.dumps(checkpoint.get("calibration") or {}),
    }


def trace_to_onnx(module: torch.nn.Module, window_samples: int, destination: Path) -> None:
    """Write ``module`` (waveform windows [batch, samples] -> probabilities) as a graph with the contract's
    input and output names and a dynamic batch axis."""
    example = torch.zeros(2, window_samples)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(), (example,), str(destination), opset_version=OPSET, dynamo=False,
            input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        )


def write_onnx(model: GenreModel, metadata: dict[str, str], destination: Path) -> None:
    """Trace, pool convolutions before their ReLU and batch norm where the network allows (an exact rewrite,
    ``export.pool_first``), attach metadata, name the embedding (``tagger learn`` fits heads on it), check, save."""
    from export.pool_first import pool_first
    from tagger.graph_edit import GraphEditError, expose_embedding, set_metadata

    trace_to_onnx(Probabilities(model), model.audio.window_samples, destination)
    graph = onnx.load(str(destination))
    pool_first(graph)
    store_exact_constants_in_half(graph)
    with contextlib.suppress(GraphEditError):  # a head whose last layer is not linear has no embedding to name
        expose_embedding(graph)
    set_metadata(graph, metadata)
    onnx.checker.check_model(graph, full_check=True)
    onnx.save(graph, str(destination))


def store_exact_constants_in_half(graph: onnx.ModelProto, min_elements: int = 65_536) -> None:
    """Halve the bytes of each large float32 Constant that float16 represents exactly: the constant becomes
    float16 and a Cast restores float32, which onnxruntime folds once at load (no cost per window)."""
    nodes = []
    for node in graph.graph.node:
        nodes.append(node)
        if node.op_type != "Constant" or node.attribute[0].name != "value":
            continue
        values = onnx.numpy_helper.to_array(node.attribute[0].t)
        if values.dtype != np.float32 or values.size < min_elements:
            continue
        half = values.astype(np.float16)
        if not np.array_equal(half.astype(np.float32), values):
            continue
        output = node.output[0]
        node.output[0] = f"{output}_float16"
        node.attribute[0].t.CopyFrom(onnx.numpy_helper.from_array(half, node.attribute[0].t.name))
        nodes.append(onnx.helper.make_node("Cast", [node.output[0]], [output], to=onnx.TensorProto.FLOAT))
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)


def real_windows(source: Path, model: GenreModel, limit: int = 16) -> tuple[np.ndarray, str] | None:
    """Windows of the run's held-out test tracks (of its training tracks for a refit on all tracks) and
    which they are, when the run directory and its data are at hand."""
    from tagger.audio import DecodeError, read_windows
    from trainer.config import TrainConfig
    from trainer.data.sources import DatasetError, load_dataset

    run = source if source.is_dir() else source.parent
    if not (run / CONFIG).is_file() or not (run / SPLIT).is_file():
        return None
    config = TrainConfig.from_dict(read_json(run / CONFIG))
    try:
        dataset = load_dataset(Path(config.data), config.labels_from_tags)
    except DatasetError:
        return None
    split = read_json(run / SPLIT)
    kind = "real test" if split["test"] else "real training"
    chosen = set(split["test"] or split["train"])
    windows = []
    for track in (t for t in dataset.tracks if t.id in chosen):
        try:
            windows.append(read_windows(track.path, model.audio.sample_rate, model.audio.window_seconds, 2))
        except DecodeError:
            continue
        if sum(len(w) for w in windows) >= limit:
            break
    return (np.concatenate(windows)[:limit], kind) if windows else None


def _run_onnx(path: Path, windows: np.ndarray) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run([OUTPUT_NAME], {INPUT_NAME: windows.astype(np.float32)})[0]


def check_parity(model: GenreModel, path: Path, inputs: dict[str, np.ndarray]) -> dict[str, float]:
    """Max absolute probability difference between onnxruntime and PyTorch for each input set."""
    wrapper = Probabilities(model).eval()
    differences = {}
    for name, windows in inputs.items():
        with torch.no_grad():
            expected = wrapper(torch.from_numpy(windows)).numpy()
        differences[name] = float(np.max(np.abs(_run_onnx(path, windows) - expected)))
    return differences


def calibration_problems(checkpoint: dict) -> list[str]:
    """What would make the tagger's --min-confidence mean nothing with this model: no calibration fitted on
    held-out tracks, or a temperature at the end of its range (the probabilities carry no usable signal)."""
    from trainer.calibrate import TEMPERATURE_RANGE

    calibration = checkpoint.get("calibration")
    if not calibration:
        return ["no calibration: the run had no validation tracks, so the tagger would write a genre on every "
                "file whatever its confidence (train with --val-fraction above 0, or refit after --folds)"]
    if calibration["temperature"] >= TEMPERATURE_RANGE[1] * 0.99:
        return [f"the calibration temperature is {calibration['temperature']:g}, the end of its range: the "
                "model's probabilities say almost nothing about whether it is right"]
    return []


def _windows(checkpoint: dict, asked: int | None) -> tuple[int, str]:
    """Windows per track for the metadata, and what chose them."""
    if asked is not None:
        return asked, "--windows"
    if checkpoint.get("inference_windows"):
        return int(checkpoint["inference_windows"]), "the run's choice on held-out tracks other than its test tracks"
    return DEFAULT_INFERENCE_WINDOWS, "the tagger's default; the run chose none"


def export_checkpoint(
    source: Path, destination: Path, quantize: str | None = None, inference_windows: int | None = None,
    model_version: str | None = None, force: bool = False,
) -> ExportReport:
    """Export ``source`` (run directory or checkpoint file) to ``destination`` and verify it.

    Raises ExportError when onnxruntime and PyTorch differ by more than ``PARITY_TOLERANCE``, and (unless
    ``force``) when the model has no usable calibration or its INT8 copy disagrees with it; a model whose
    held-out accuracy is near chance is exported with a warning.
    """
    try:
        model, checkpoint = load_checkpoint(source)
    except (FileNotFoundError, KeyError, RuntimeError) as error:
        raise ExportError(f"cannot load checkpoint: {error}") from error
    problems = calibration_problems(checkpoint)
    if problems and not force:
        raise ExportError(f"{problems[0]}; nothing written (--force exports it anyway)")
    windows, chosen_by = _windows(checkpoint, inference_windows)
    version = model_version or f"{source.resolve().name}"
    write_onnx(model, metadata_for(model, checkpoint, windows, version), destination)
    rng = np.random.default_rng(0)
    inputs = {"random windows": (0.1 * rng.standard_normal((4, model.audio.window_samples))).astype(np.float32)}
    real = real_windows(source, model)
    if real is not None:
        inputs[f"{real[1]} windows"] = real[0]
    parity = check_parity(model, destination, inputs)
    worst = max(parity.values())
    if not worst <= PARITY_TOLERANCE:
        destination.unlink(missing_ok=True)
        raise ExportError(f"onnxruntime differs from PyTorch by {worst:.2e} > {PARITY_TOLERANCE:g}; file removed")
    quality = ModelQuality.of(checkpoint)
    report = ExportReport(destination, destination.stat().st_size, parity, windows, chosen_by, quality,
                          warnings=list(problems))
    if quality.near_chance():
        report.warnings.append(f"this model is not shown to beat guessing ({quality.describe()}): do not tag a "
                               "library with it")
    if quantize == "int8":
        from export.quantize import quantize_int8

        calibration, kind = real if real is not None else (inputs["random windows"], "random")
        report.quantized = quantize_int8(destination, calibration, kind)
        _judge_int8(report, force)
    return report


def _judge_int8(report: ExportReport, force: bool) -> None:
    """An INT8 copy that often picks another genre than the float model is not the same model: it is removed
    (the float model stays), unless ``force`` keeps it with a warning."""
    agreement = report.quantized["top1_agreement"]
    if agreement >= INT8_AGREEMENT:
        return
    message = (f"the INT8 copy agrees with the float model on only {agreement:.1%} of top-1 genres "
               f"(at least {INT8_AGREEMENT:.0%} needed)")
    if force:
        report.warnings.append(f"{message}; kept because of --force")
        return
    Path(report.quantized["path"]).unlink(missing_ok=True)
    raise ExportError(f"{message}: it was removed; {report.path} was written and checked (--force keeps the "
                      "INT8 copy)")
