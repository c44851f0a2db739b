"""Edits of a model file's graph with the ``onnx`` package: the embedding as a second output, and a new head.

The default model is a linear layer on the pretrained network's embedding, so the input of its last linear
layer is the embedding: `trainer export` names it as the output ``embedding`` (``tagger.model``), and
`tagger learn` keeps the graph up to it and puts the user's own head on top. ``onnx`` is imported only by
the commands that edit graphs (learn, export); a scan never loads it.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnx.numpy_helper
from onnx import TensorProto, helper

from tagger.model import EMBEDDING_OUTPUT, INPUT_NAME, OUTPUT_NAME

# The activations a head's logits go through to become the contract's probabilities.
OUTPUT_ACTIVATIONS = ("Sigmoid", "Softmax")


TRAINED_PROBABILITIES = "trained_probabilities"  # the activation's output, renamed where a gate follows it


class GraphEditError(ValueError):
    """The graph is not of the shape the edit needs (no linear layer before the probabilities, say)."""


def producer(graph: onnx.GraphProto, tensor: str) -> onnx.NodeProto:
    found = next((node for node in graph.node if tensor in node.output), None)
    if found is None:
        raise GraphEditError(f"no node computes {tensor!r}")
    return found


def final_linear(graph: onnx.GraphProto) -> onnx.NodeProto:
    """The Gemm whose logits become the probabilities (the trained genres' ones, where a gate edits them)."""
    edited = any(TRAINED_PROBABILITIES in node.output for node in graph.node)
    activation = producer(graph, TRAINED_PROBABILITIES if edited else OUTPUT_NAME)
    if activation.op_type not in OUTPUT_ACTIVATIONS:
        raise GraphEditError(f"the probabilities come from {activation.op_type}, not from a sigmoid or softmax")
    linear = producer(graph, activation.input[0])
    if linear.op_type != "Gemm":
        raise GraphEditError(f"the logits come from {linear.op_type}, not from a linear layer (Gemm)")
    return linear


def initializer(graph: onnx.GraphProto, name: str) -> onnx.TensorProto | None:
    """The stored tensor ``name``; None where it is computed (or absent)."""
    return next((tensor for tensor in graph.initializer if tensor.name == name), None)


def metadata_of(model: onnx.ModelProto) -> dict[str, str]:
    return {prop.key: prop.value for prop in model.metadata_props}


def set_metadata(model: onnx.ModelProto, metadata: dict[str, str]) -> None:
    """Replace the model's metadata with ``metadata``."""
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)


def linear_input_width(graph: onnx.GraphProto, linear: onnx.NodeProto) -> int:
    """How many features a linear layer (Gemm) reads: its stored weights' input side."""
    weights = initializer(graph, linear.input[1])
    if weights is None or len(weights.dims) != 2:
        raise GraphEditError("the last linear layer's weights are not a stored matrix")
    transposed = any(attribute.name == "transB" and attribute.i for attribute in linear.attribute)
    return int(weights.dims[1] if transposed else weights.dims[0])


def has_embedding(model: onnx.ModelProto) -> bool:
    return any(output.name == EMBEDDING_OUTPUT for output in model.graph.output)


def expose_embedding(model: onnx.ModelProto) -> None:
    """Give the graph a second output, ``embedding`` [batch, width]: the input of its last linear layer.
    Free at run time: onnxruntime computes it anyway, and a scan asks only for the probabilities."""
    if has_embedding(model):
        return
    graph = model.graph
    linear = final_linear(graph)
    graph.node.append(helper.make_node("Identity", [linear.input[0]], [EMBEDDING_OUTPUT], name="embedding"))
    graph.output.append(helper.make_tensor_value_info(EMBEDDING_OUTPUT, TensorProto.FLOAT,
                                                      ["batch", linear_input_width(graph, linear)]))


def embedding_width(model: onnx.ModelProto) -> int:
    """The width of the graph's ``embedding`` output."""
    output = next((output for output in model.graph.output if output.name == EMBEDDING_OUTPUT), None)
    if output is None:
        raise GraphEditError(f"the model has no {EMBEDDING_OUTPUT!r} output")
    return int(output.type.tensor_type.shape.dim[1].dim_value)


def _prune(graph: onnx.GraphProto) -> None:
    """Drop every node and stored tensor that no output of the graph needs."""
    needed = {output.name for output in graph.output}
    kept = []
    for node in reversed(graph.node):
        if needed.intersection(node.output):
            kept.append(node)
            needed.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    initializers = [init for init in graph.initializer if init.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(initializers)


def with_softmax_head(backbone: onnx.ModelProto, weights: np.ndarray, bias: np.ndarray,
                      metadata: dict[str, str]) -> onnx.ModelProto:
    """``backbone``'s graph up to its embedding, then logits = embedding @ weights + bias and a softmax over
    them as the probabilities; the embedding stays an output, so a learned model can itself be learned from.
    ``weights``: [width, genres]. The metadata replaces the backbone's."""
    model = onnx.ModelProto()
    model.CopyFrom(backbone)
    graph = model.graph
    width = embedding_width(model)
    if weights.shape[0] != width or bias.shape != (weights.shape[1],):
        raise GraphEditError(f"a head of shape {weights.shape} does not fit an embedding of width {width}")
    embedding_output = next(output for output in graph.output if output.name == EMBEDDING_OUTPUT)
    del graph.output[:]
    graph.output.append(embedding_output)
    _prune(graph)
    graph.initializer.extend([onnx.numpy_helper.from_array(weights.astype(np.float32), "learned_head.weight"),
                              onnx.numpy_helper.from_array(bias.astype(np.float32), "learned_head.bias")])
    graph.node.extend([
        helper.make_node("Gemm", [EMBEDDING_OUTPUT, "learned_head.weight", "learned_head.bias"], ["learned_logits"],
                         name="learned_head"),
        helper.make_node("Softmax", ["learned_logits"], [OUTPUT_NAME], axis=-1, name="learned_probabilities"),
    ])
    graph.output.insert(0, helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", weights.shape[1]]))
    if [node.name for node in graph.input] != [INPUT_NAME]:
        raise GraphEditError(f"the backbone must take only {INPUT_NAME!r}")
    set_metadata(model, metadata)
    onnx.checker.check_model(model, full_check=True)
    return model
