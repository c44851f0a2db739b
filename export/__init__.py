"""Checkpoint -> one self-describing ONNX file (reached as ``trainer export``)."""
