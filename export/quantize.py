"""INT8 quantization of the CNN part of an exported model, for small devices.

Static QDQ quantization calibrated on real windows; only convolutions and the dense layers are
quantized, the log-mel front end (STFT, mel matrix, logarithm) stays float32 where precision matters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from tagger.model import INPUT_NAME, OUTPUT_NAME


class _Windows:
    """onnxruntime's CalibrationDataReader protocol over an array of windows, one at a time."""

    def __init__(self, windows: np.ndarray) -> None:
        self._items = iter([{INPUT_NAME: window[None].astype(np.float32)} for window in windows])

    def get_next(self) -> dict | None:
        return next(self._items, None)


def quantize_int8(float_model: Path, calibration: np.ndarray, calibration_kind: str) -> dict:
    """Write ``<name>.int8.onnx`` beside ``float_model``; return its size and agreement with float32."""
    import onnxruntime
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    destination = float_model.with_name(float_model.stem + ".int8.onnx")
    quantize_static(
        str(float_model), str(destination), _Windows(calibration), quant_format=QuantFormat.QDQ,
        op_types_to_quantize=["Conv", "Gemm"], activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        per_channel=True,
    )
    # quantize_static keeps the graph but not always the metadata: copy it over explicitly.
    source, quantized = onnx.load(str(float_model)), onnx.load(str(destination))
    del quantized.metadata_props[:]
    quantized.metadata_props.extend(source.metadata_props)
    onnx.save(quantized, str(destination))

    def run(path: Path) -> np.ndarray:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run([OUTPUT_NAME], {INPUT_NAME: calibration.astype(np.float32)})[0]

    reference, approximate = run(float_model), run(destination)
    return {
        "path": str(destination),
        "size_bytes": destination.stat().st_size,
        "max_abs_difference": float(np.max(np.abs(reference - approximate))),
        "top1_agreement": float(np.mean(reference.argmax(1) == approximate.argmax(1))),
        "windows": len(calibration),
        "windows_kind": calibration_kind,
    }
