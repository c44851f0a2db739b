"""An exact graph rewrite (issue 32): pool a convolution's output before its ReLU and batch norm, not after.

musicnn's front end computes, per channel c, max over frequency of BN(ReLU(conv)) = max_f(a_c ReLU(z) + b_c),
with a_c the batch norm's scale, on the full time-frequency map, then keeps one value per frame. Since ReLU
and an affine map are monotone, the maximum moves inside: for a_c >= 0 it is a_c ReLU(max_f z) + b_c, and
for a_c < 0 it is a_c ReLU(min_f z) + b_c = a_c ReLU(-max_f(-z)) + b_c. So the rewritten graph negates the
convolution's weights and bias of the channels with a negative scale, takes the maximum first, multiplies
it by the scale's sign, and applies ReLU and the unchanged batch norm to the pooled map alone: the same
numbers (to float rounding) for a fraction of the elementwise work.

  python -m export.pool_first tagger/models/default.onnx --reference ../shared/data/gtzan-part  (in place;
  the reference re-quantizes an INT8 copy beside it)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnx.numpy_helper
from onnx import helper

from export.broad_genres import add_constant, reference_files, requantize_copy, requantized, save_atomically
from tagger.graph_edit import initializer


def _attribute(node: onnx.NodeProto, name: str) -> Any:
    return next(helper.get_attribute_value(attribute) for attribute in node.attribute if attribute.name == name)


def _chains(graph: onnx.GraphProto) -> list[tuple[str, str, str, str]]:
    """The names of the (Conv, Relu, BatchNormalization, ReduceMax) chains whose inner outputs feed nothing
    else (no other node, no graph output)."""
    producers = {output: node for node in graph.node for output in node.output}
    stored = {tensor.name for tensor in graph.initializer}
    readers: dict[str, int] = {}
    for name in [name for node in graph.node for name in node.input] + [output.name for output in graph.output]:
        readers[name] = readers.get(name, 0) + 1
    found: list[tuple[str, str, str, str]] = []
    for pool in (node for node in graph.node if node.op_type == "ReduceMax" and len(node.input) == 1):
        chain = [pool]
        for kind in ("BatchNormalization", "Relu", "Conv"):
            before = producers.get(chain[-1].input[0])
            if before is None or before.op_type != kind or readers.get(before.output[0]) != 1:
                break
            chain.append(before)
        else:
            _, norm, relu, conv = chain
            if {*conv.input[1:3], *norm.input[1:]} <= stored:  # weights and statistics the rewrite can read
                found.append((conv.name, relu.name, norm.name, pool.name))
    return found


def _stored(graph: onnx.GraphProto, name: str) -> onnx.TensorProto:
    tensor = initializer(graph, name)
    assert tensor is not None, name  # _chains keeps only chains whose weights and statistics are stored
    return tensor


def _rewritten(graph: onnx.GraphProto, conv: onnx.NodeProto, relu: onnx.NodeProto, norm: onnx.NodeProto,
               pool: onnx.NodeProto) -> list[onnx.NodeProto]:
    """The nodes that replace one chain; the convolution's stored weights and bias are flipped in place."""
    gamma = onnx.numpy_helper.to_array(_stored(graph, norm.input[1])).astype(np.float64)
    variance = onnx.numpy_helper.to_array(_stored(graph, norm.input[4])).astype(np.float64)
    epsilon = _attribute(norm, "epsilon")
    sign = np.where(gamma / np.sqrt(variance + epsilon) < 0, -1.0, 1.0).astype(np.float32)
    for name in conv.input[1:3]:  # the weights and the bias
        tensor = _stored(graph, name)
        values = onnx.numpy_helper.to_array(tensor) * sign.reshape((-1,) + (1,) * (len(tensor.dims) - 1))
        tensor.CopyFrom(onnx.numpy_helper.from_array(values.astype(np.float32), name))
    axes, keepdims = list(_attribute(pool, "axes")), _attribute(pool, "keepdims")
    pooled_rank = 4 - (0 if keepdims else len(axes))
    signs = add_constant(graph, f"{conv.name}/pool_first_sign", sign.reshape([1, -1] + [1] * (pooled_rank - 2)))
    pooled = f"{conv.output[0]}/pooled"
    return [
        helper.make_node("ReduceMax", [conv.output[0]], [pooled], axes=axes, keepdims=keepdims, name=pool.name),
        helper.make_node("Mul", [pooled, signs], [f"{pooled}/signed"], name=f"{pool.name}/sign"),
        helper.make_node("Relu", [f"{pooled}/signed"], [f"{pooled}/relu"], name=relu.name),
        helper.make_node("BatchNormalization", [f"{pooled}/relu", *norm.input[1:]], [pool.output[0]],
                         name=norm.name, epsilon=epsilon),
    ]


def pool_first(model: onnx.ModelProto) -> int:
    """Rewrite every chain in place, as the module says (the pooling node's place takes the new nodes, which
    keeps the graph in topological order); how many were rewritten."""
    graph = model.graph
    chains = _chains(graph)
    by_name = {node.name: node for node in graph.node}
    replacing = {pool: _rewritten(graph, *(by_name[name] for name in (conv, relu, norm, pool)))
                 for conv, relu, norm, pool in chains}
    dropped = {name for _, relu, norm, _ in chains for name in (relu, norm)}
    nodes = [new for node in graph.node if node.name not in dropped for new in replacing.get(node.name, [node])]
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model, full_check=True)
    return len(chains)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="an ONNX model file (rewritten in place)")
    parser.add_argument("--reference", type=Path, required=True, help="tracks to re-quantize an INT8 copy on")
    arguments = parser.parse_args()
    model = onnx.load(str(arguments.model))
    count = pool_first(model)
    save_atomically(model, arguments.model)
    print(f"{count} convolutions now pooled before their ReLU and batch norm")
    if count and (quantized := requantize_copy(arguments.model, reference_files(arguments.reference))):
        print(requantized(quantized))


if __name__ == "__main__":
    main()
