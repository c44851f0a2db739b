"""Export a trained genre network to ONNX with its metadata, and prove the file computes what PyTorch does.

The graph: waveform windows [batch, samples] -> the network (its log-mel front end first) -> sigmoid -> [batch, genres].
It is written with the TorchScript-based exporter at opset 17; large constants whose values are exact in
half precision (the mel filter bank) are stored as float16 and cast back when onnxruntime loads the file.
"""

from __future__ import annotations

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
# Names written into tags for the GTZAN identifiers; any other label is written title-cased.
DISPLAY_NAMES = {"hiphop": "Hip-Hop", "rnb": "R&B", "edm": "EDM"}


class ExportError(Exception):
    """The export failed or its result does not match PyTorch."""


@dataclass
class ExportReport:
    path: Path
    size_bytes: int
    parity: dict[str, float]
    quantized: dict = field(default_factory=dict)

    def lines(self) -> list[str]:
        lines = [f"wrote {self.path} ({self.size_bytes / 1024:.0f} KiB); onnx.checker passed"]
        lines += [f"  max |onnxruntime - torch| on {name}: {value:.2e}" for name, value in self.parity.items()]
        if self.quantized:
            q = self.quantized
            lines.append(f"wrote {q['path']} ({q['size_bytes'] / 1024:.0f} KiB, INT8): max |int8 - float| "
                         f"{q['max_abs_difference']:.3f}, top-1 agreement {q['top1_agreement']:.1%} "
                         f"on {q['windows']} {q['windows_kind']} windows")
        return lines


class Probabilities(torch.nn.Module):
    """The exported function: the model followed by the sigmoid."""

    def __init__(self, model: GenreModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.model(waveform))


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
    """Trace, attach metadata, check, save."""
    trace_to_onnx(Probabilities(model), model.audio.window_samples, destination)
    graph = onnx.load(str(destination))
    store_exact_constants_in_half(graph)
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


def set_metadata(graph: onnx.ModelProto, metadata: dict[str, str]) -> None:
    del graph.metadata_props[:]
    for key, value in metadata.items():
        graph.metadata_props.add(key=key, value=value)


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


def export_checkpoint(
    source: Path, destination: Path, quantize: str | None = None, inference_windows: int = DEFAULT_INFERENCE_WINDOWS,
    model_version: str | None = None,
) -> ExportReport:
    """Export ``source`` (run directory or checkpoint file) to ``destination`` and verify it.

    Raises ExportError when onnxruntime and PyTorch differ by more than ``PARITY_TOLERANCE``.
    """
    try:
        model, checkpoint = load_checkpoint(source)
    except (FileNotFoundError, KeyError, RuntimeError) as error:
        raise ExportError(f"cannot load checkpoint: {error}") from error
    version = model_version or f"{source.resolve().name}"
    write_onnx(model, metadata_for(model, checkpoint, inference_windows, version), destination)
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
    report = ExportReport(destination, destination.stat().st_size, parity)
    if quantize == "int8":
        from export.quantize import quantize_int8

        calibration, kind = real if real is not None else (inputs["random windows"], "random")
        report.quantized = quantize_int8(destination, calibration, kind)
    return report
