"""genre-tagger: tag a music library with genres predicted by a small ONNX model.

This package is the light runtime: it needs onnxruntime, numpy, soundfile, soxr, mutagen and click,
and nothing from ``trainer`` or ``export``. Heavy modules are imported where they are used, so that
``import tagger`` (and ``tagger --help``) stays fast.
"""

__version__ = "0.1.0"
