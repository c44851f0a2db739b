"""The tagger reads a model file's metadata and declared interface from its bytes, as onnx itself reads them."""

import numpy as np
import onnx
import pytest

from tagger.model import SHIPPED_MODELS, GenreModel, ModelError
from tagger.onnx_file import NotOnnxError, read_declared


def _shapes(values) -> dict:
    return {value.name: [dimension.dim_value if dimension.HasField("dim_value")
                         else dimension.dim_param if dimension.HasField("dim_param") else None
                         for dimension in value.type.tensor_type.shape.dim] for value in values}


@pytest.mark.parametrize("name", sorted(path.name for path in SHIPPED_MODELS.glob("*.onnx")))
def test_the_shipped_models_read_as_onnx_reads_them(name):
    path = SHIPPED_MODELS / name
    declared, model = read_declared(path.read_bytes()), onnx.load(str(path))
    assert declared.metadata == {entry.key: entry.value for entry in model.metadata_props}
    assert declared.inputs == _shapes(model.graph.input) and declared.outputs == _shapes(model.graph.output)


def test_the_tiny_model_reads_as_onnx_reads_it(tiny_model):
    declared, model = read_declared(tiny_model.read_bytes()), onnx.load(str(tiny_model))
    assert declared.metadata == {entry.key: entry.value for entry in model.metadata_props}
    assert declared.outputs == _shapes(model.graph.output)


@pytest.mark.parametrize("cut", [1, 10, 1000, -1000, -3])
def test_a_cut_off_model_is_not_onnx(tiny_model, tmp_path, cut):
    data = tiny_model.read_bytes()
    with pytest.raises(NotOnnxError):
        read_declared(data[:cut])
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[:cut])
    with pytest.raises(ModelError, match="is not an ONNX model"):
        GenreModel(path, session=False)


def test_a_model_read_without_a_session_builds_it_when_first_used(tiny_model):
    model = GenreModel(tiny_model, session=False)
    assert "session" not in vars(model)
    assert model.predict(np.zeros((1, model.info.window_samples), np.float32)).shape == (1, len(model.info.labels))
