"""The exported file carries the metadata contract and computes what PyTorch computes."""

import json

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
