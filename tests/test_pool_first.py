"""The exact rewrite that pools a convolution before its ReLU and batch norm (export/pool_first.py): the
same outputs, with batch-norm scales of both signs, and only where the chain is private."""

from __future__ import annotations

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime
from onnx import TensorProto, helper

from export.pool_first import pool_first
from tagger.model import GenreModel


def chain_model(channels: int = 6, shared: bool = False) -> onnx.ModelProto:
    """x [1, 2, 9, 12] -> Conv -> Relu -> BatchNormalization (scales of both signs) -> ReduceMax over the last
    axis; with ``shared`` the ReLU's output is also a graph output (so the chain must stay)."""
    rng = np.random.default_rng(0)
    constants = {
        "w": rng.normal(0, 1, (channels, 2, 3, 3)), "b": rng.normal(0, 1, channels),
        "gamma": np.where(np.arange(channels) % 2, -1.0, 1.0) * rng.uniform(0.5, 2, channels),
        "beta": rng.normal(0, 1, channels), "mean": rng.normal(0, 1, channels), "var": rng.uniform(0.5, 2, channels),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["z"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["z"], ["r"], name="relu"),
        helper.make_node("BatchNormalization", ["r", "gamma", "beta", "mean", "var"], ["n"], name="norm", epsilon=1e-3),
        helper.make_node("ReduceMax", ["n"], ["y"], name="pool", axes=[3], keepdims=0),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels, 9])]
    if shared:
        outputs.append(helper.make_tensor_value_info("r", TensorProto.FLOAT, [1, channels, 9, 12]))
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 9, 12])],
                              outputs, [onnx.numpy_helper.from_array(value.astype(np.float32), name)
                                        for name, value in constants.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["y"], {"x": x})[0]


def test_pooling_first_gives_the_same_outputs_for_scales_of_both_signs():
    model = chain_model()
    x = np.random.default_rng(1).normal(0, 1, (1, 2, 9, 12)).astype(np.float32)
    before = run(model, x)
    assert pool_first(model) == 1
    assert [node.op_type for node in model.graph.node] == ["Conv", "ReduceMax", "Mul", "Relu", "BatchNormalization"]
    assert np.abs(run(model, x) - before).max() < 1e-5
    assert pool_first(model) == 0  # nothing left to rewrite


def test_a_chain_whose_inner_output_is_read_elsewhere_stays():
    model = chain_model(shared=True)
    assert pool_first(model) == 0
    assert [node.op_type for node in model.graph.node] == ["Conv", "Relu", "BatchNormalization", "ReduceMax"]


def test_the_shipped_default_pools_its_front_end_first():
    graph = onnx.load(str(GenreModel().path)).graph
    produced_by = {output: node.op_type for node in graph.node for output in node.output}
    pools = [node for node in graph.node if node.op_type == "ReduceMax" and "front" in node.name]
    assert len(pools) == 5 and all(produced_by[node.input[0]] == "Conv" for node in pools)
