"""What an ONNX file declares about itself, read from its bytes without onnxruntime: its metadata and the
names and shapes of its inputs and outputs.

A scan's main process needs only these (the workers hold the sessions), and importing onnxruntime and building
a session cost it half a second of CPU before its first file: more than a whole rescan of a library should.
The file is a protocol buffer (``onnx.proto``'s ``ModelProto``); only the few fields below are read, and every
other field, the graph's weights among them, is stepped over by its length.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

# Field numbers in onnx.proto.
MODEL_GRAPH, MODEL_METADATA = 7, 14
GRAPH_INPUT, GRAPH_OUTPUT = 11, 12
ENTRY_KEY, ENTRY_VALUE = 1, 2
VALUE_NAME, VALUE_TYPE = 1, 2
TYPE_TENSOR, TENSOR_SHAPE, SHAPE_DIM, DIM_VALUE, DIM_PARAM = 1, 2, 1, 1, 2
VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5

Dimension = int | str | None  # a fixed size, a symbolic one ("batch"), or undeclared


class NotOnnxError(ValueError):
    """The bytes are not a protocol buffer of the shape an ONNX model has."""


@dataclass(frozen=True)
class Declared:
    """The file's metadata, and each input's and output's declared shape by name."""

    metadata: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, list[Dimension]] = field(default_factory=dict)
    outputs: dict[str, list[Dimension]] = field(default_factory=dict)


def _varint(data: memoryview, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise NotOnnxError("a number runs past the end of the file")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return value, at


def _fields(data: memoryview) -> Iterator[tuple[int, int | memoryview]]:
    """(field number, value) of each field of one message: an int, or the bytes of a length-delimited one."""
    at = 0
    while at < len(data):
        tag, at = _varint(data, at)
        number, kind = tag >> 3, tag & 7
        if number == 0:
            raise NotOnnxError("a field numbered 0")
        if kind == VARINT:
            value, at = _varint(data, at)
            yield number, value
        elif kind == LENGTH_DELIMITED:
            length, at = _varint(data, at)
            if at + length > len(data):
                raise NotOnnxError("a field runs past the end of the file")
            yield number, data[at : at + length]
            at += length
        elif kind in (FIXED64, FIXED32):
            at += 8 if kind == FIXED64 else 4
        else:
            raise NotOnnxError(f"a field of wire type {kind}, which ONNX does not use")
    if at != len(data):
        raise NotOnnxError("the last field runs past the end of the file")


def _message(value: int | memoryview) -> memoryview:
    if isinstance(value, int):
        raise NotOnnxError("a number where a message belongs")
    return value


def _text(value: int | memoryview) -> str:
    try:
        return bytes(_message(value)).decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotOnnxError("text that is not UTF-8") from error


def _shape(value_info: memoryview) -> tuple[str, list[Dimension]]:
    """A ValueInfoProto's name and its tensor's declared dimensions."""
    name, dimensions = "", []
    for number, value in _fields(value_info):
        if number == VALUE_NAME:
            name = _text(value)
        elif number == VALUE_TYPE:
            for kind, tensor in _fields(_message(value)):
                for part, shape in _fields(_message(tensor)) if kind == TYPE_TENSOR else ():
                    for entry, dimension in _fields(_message(shape)) if part == TENSOR_SHAPE else ():
                        if entry == SHAPE_DIM:
                            dimensions.append(_dimension(_message(dimension)))
    return name, dimensions


def _dimension(message: memoryview) -> Dimension:
    for number, value in _fields(message):
        if number == DIM_VALUE and isinstance(value, int):
            return value
        if number == DIM_PARAM:
            return _text(value)
    return None


def read_declared(data: bytes) -> Declared:
    """What the model file ``data`` declares; NotOnnxError where it is not an ONNX model."""
    declared = Declared()
    found_graph = False
    for number, value in _fields(memoryview(data)):
        if number == MODEL_METADATA:
            entry = dict(_fields(_message(value)))
            declared.metadata[_text(entry.get(ENTRY_KEY, memoryview(b"")))] = _text(entry.get(ENTRY_VALUE,
                                                                                               memoryview(b"")))
        elif number == MODEL_GRAPH:
            found_graph = True
            for part, value_info in _fields(_message(value)):
                if part in (GRAPH_INPUT, GRAPH_OUTPUT):
                    name, shape = _shape(_message(value_info))
                    (declared.inputs if part == GRAPH_INPUT else declared.outputs)[name] = shape
    if not found_graph:
        raise NotOnnxError("no graph in it")
    return declared
