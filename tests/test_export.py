"""The exported file carries the metadata contract and computes what PyTorch computes."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from export.onnx_export import ExportError, check_parity, export_checkpoint
from tagger.model import GenreModel, MetadataKeys, ModelError, parse_metadata
from tests.conftest import LABELS, tone
from trainer.run_dir import load_checkpoint


def test_metadata_contract(tiny_model):
    metadata = {prop.key: prop.value for prop in onnx.load(str(tiny_model)).metadata_props}
    for key in ("LABELS", "GENRE_NAMES", "SAMPLE_RATE", "WINDOW_SECONDS", "HOP_SECONDS", "THRESHOLDS",
                "INFERENCE_WINDOWS", "MODEL_VERSION", "METRICS", "TRAINING_DATA"):
        assert getattr(MetadataKeys, key) in metadata
    assert json.loads(metadata["labels"]) == LABELS
    info = GenreModel(tiny_model).info
    assert info.sample_rate == 22_050 and info.window_seconds == 4.0 and info.inference_windows == 2
    assert info.thresholds == dict.fromkeys(LABELS, 0.5)


def test_onnxruntime_matches_torch_with_dynamic_batch(tiny_model):
    model, _ = load_checkpoint(tiny_model.parent / "checkpoint.pt")
    windows = np.stack([tone(4.0, seed=s) for s in range(5)])
    parity = check_parity(model, tiny_model, {"tones": windows, "one": windows[:1]})
    assert max(parity.values()) < 1e-4
    probabilities = GenreModel(tiny_model).predict(windows)
    assert probabilities.shape == (5, len(LABELS)) and np.all((probabilities >= 0) & (probabilities <= 1))


def test_missing_metadata_is_a_clear_error():
    with pytest.raises(ModelError, match="labels"):
        parse_metadata({"sample_rate": "22050"}, "x")


def test_export_of_a_missing_checkpoint_fails_cleanly(tmp_path):
    with pytest.raises(ExportError):
        export_checkpoint(tmp_path / "nothing.pt", tmp_path / "out.onnx")


CALIBRATED = {"calibration": {"temperature": 1.5, "min_confidence": 0.3, "fitted_on": "12 validation tracks"},
              "metrics": {"test_tracks": 40, "top1_accuracy": 0.8}}


def checkpoint_with(tiny_model: Path, folder: Path, **entries) -> Path:
    """The tiny model's checkpoint with ``entries`` (metrics, calibration, windows) put in or replaced."""
    import torch

    checkpoint = torch.load(tiny_model.parent / "checkpoint.pt", weights_only=False)
    checkpoint.update(entries)
    torch.save(checkpoint, folder / "checkpoint.pt")
    return folder / "checkpoint.pt"


def test_a_model_without_calibration_is_refused_unless_forced(tiny_model, tmp_path):
    """Without a calibration --min-confidence means nothing: the tagger would write a genre on every file."""
    source = tiny_model.parent / "checkpoint.pt"
    with pytest.raises(ExportError, match=r"no calibration.*nothing written"):
        export_checkpoint(source, tmp_path / "out.onnx")
    assert not (tmp_path / "out.onnx").exists()
    report = export_checkpoint(source, tmp_path / "out.onnx", force=True)
    assert (tmp_path / "out.onnx").is_file() and any("no calibration" in warning for warning in report.warnings)
    edge = checkpoint_with(tiny_model, tmp_path, calibration={"temperature": 20.0, "min_confidence": None})
    with pytest.raises(ExportError, match="end of its range"):
        export_checkpoint(edge, tmp_path / "edge.onnx")


def test_export_says_how_good_the_model_is_and_warns_near_chance(tiny_model, tmp_path):
    good = export_checkpoint(checkpoint_with(tiny_model, tmp_path, **CALIBRATED), tmp_path / "good.onnx")
    assert not good.warnings
    assert "held-out top-1 accuracy 0.800 on 40 test tracks (chance: 0.333 for 3 genres)" in "\n".join(good.lines())
    for metrics in ({"test_tracks": 40, "top1_accuracy": 0.55}, {"test_tracks": 2, "top1_accuracy": 1.0},
                    {"cross_validated_tracks": 30, "top1_accuracy": 0.3}):
        weak = export_checkpoint(checkpoint_with(tiny_model, tmp_path, **{**CALIBRATED, "metrics": metrics}),
                                 tmp_path / "weak.onnx")
        assert any("not shown to beat guessing" in warning for warning in weak.warnings), metrics
        assert weak.lines()[-1].startswith("WARNING:")


def test_windows_per_track_come_from_the_run_unless_given(tiny_model, tmp_path):
    chosen = checkpoint_with(tiny_model, tmp_path, **CALIBRATED, inference_windows=5)
    report = export_checkpoint(chosen, tmp_path / "chosen.onnx")
    assert GenreModel(tmp_path / "chosen.onnx").info.inference_windows == 5 == report.inference_windows
    assert "the run's choice" in report.windows_chosen_by
    export_checkpoint(chosen, tmp_path / "given.onnx", inference_windows=3)
    assert GenreModel(tmp_path / "given.onnx").info.inference_windows == 3


def test_an_int8_copy_that_disagrees_is_removed_unless_forced(tiny_model, tmp_path, monkeypatch):
    import export.quantize

    def disagreeing(float_model, calibration, kind):
        copy = float_model.with_name(float_model.stem + ".int8.onnx")
        copy.write_bytes(float_model.read_bytes())
        return {"path": str(copy), "size_bytes": copy.stat().st_size, "max_abs_difference": 0.4,
                "top1_agreement": 0.438, "windows": 16, "windows_kind": "random"}

    monkeypatch.setattr(export.quantize, "quantize_int8", disagreeing)
    source = checkpoint_with(tiny_model, tmp_path, **CALIBRATED)
    with pytest.raises(ExportError, match=r"only 43.8% of top-1 genres.*removed"):
        export_checkpoint(source, tmp_path / "m.onnx", quantize="int8")
    assert (tmp_path / "m.onnx").is_file() and not (tmp_path / "m.int8.onnx").exists()
    kept = export_checkpoint(source, tmp_path / "m.onnx", quantize="int8", force=True)
    assert (tmp_path / "m.int8.onnx").is_file() and any("43.8%" in warning for warning in kept.warnings)


def test_mel_filter_bank_is_stored_in_half_precision_and_cast_back(tiny_model):
    graph = onnx.load(str(tiny_model))
    casts = [node for node in graph.graph.node if node.op_type == "Cast"]
    halves = [node for node in graph.graph.node if node.op_type == "Constant"
              and node.attribute[0].t.data_type == onnx.TensorProto.FLOAT16]
    assert len(halves) == 1 and list(halves[0].attribute[0].t.dims) == [128, 1025]
    assert any(cast.input[0] == halves[0].output[0] for cast in casts)


def test_only_constants_exact_in_half_precision_are_halved():
    from onnx import helper, numpy_helper

    from export.onnx_export import store_exact_constants_in_half

    exact = np.full((300, 300), 0.5, np.float32)
    inexact = exact + np.float32(1e-6)
    nodes = [helper.make_node("Constant", [], [name], value=numpy_helper.from_array(values, name))
             for name, values in (("exact", exact), ("inexact", inexact))]
    nodes.append(helper.make_node("Add", ["exact", "inexact"], ["sum"]))
    graph = helper.make_model(helper.make_graph(
        nodes, "g", [], [helper.make_tensor_value_info("sum", onnx.TensorProto.FLOAT, [300, 300])]))
    store_exact_constants_in_half(graph)
    onnx.checker.check_model(graph)
    types = {n.output[0]: n.attribute[0].t.data_type for n in graph.graph.node if n.op_type == "Constant"}
    assert types == {"exact_float16": onnx.TensorProto.FLOAT16, "inexact": onnx.TensorProto.FLOAT}
    import onnxruntime

    session = onnxruntime.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    assert np.array_equal(session.run(None, {})[0], exact + inexact)
