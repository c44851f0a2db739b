"""What the fork server imports once for every worker it forks: numpy, onnxruntime, the decoders and the
tagger's analysis. A worker forked from it starts with them loaded instead of importing them itself (about
0.2 s of CPU per worker), and shares their pages with its siblings. The server, not the main process, is
then a worker's parent; it ends when the main process does (multiprocessing's fork server reads a pipe whose
other end the main process holds), so a worker that ends with its parent ends with the main process too.
"""

from __future__ import annotations

from tagger import worker_start

worker_start.one_blas_thread()  # before numpy: the server's environment is what every worker inherits

import numpy  # noqa: E402,F401
import onnxruntime  # noqa: E402,F401
import soundfile  # noqa: E402,F401
import soxr  # noqa: E402,F401

from tagger import workers  # noqa: E402,F401  (the analysis, the model, the tag-free part of the tagger)
