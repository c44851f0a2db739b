"""Model speed and the tagger's start-up: latency per window through onnxruntime, file size,
`import tagger` time and a worker's peak memory.

Usage: python benchmarks/bench_model.py [--model FILE] [--int8 FILE] [--baseline FILE]

--baseline times another file of the same model (before a graph rewrite, say) in the same run, and every row
gets its time as a ratio to the baseline's float32 row at the same threads and batch.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import median_seconds, record, table
from tagger.model import DEFAULT_MODEL_PATH, GenreModel


def latency_ms(model: GenreModel, batch: int, repeats: int = 30) -> float:
    """Median milliseconds per window over ``repeats`` runs of one batch."""
    windows = (0.1 * np.random.default_rng(0).standard_normal((batch, model.info.window_samples))).astype(np.float32)
    return median_seconds(lambda: model.predict(windows), repeats, warmups=3) * 1000 / batch


def latencies(model: GenreModel) -> tuple[float, float]:
    """Milliseconds per window at batch 1 and at batch 16, one session for both."""
    return latency_ms(model, 1), latency_ms(model, 16)


def import_seconds(repeats: int = 5) -> tuple[float, float]:
    """Median seconds of `python -c 'import tagger.cli'` and of a bare interpreter, in subprocesses."""
    def timed(code: str) -> float:
        return median_seconds(lambda: subprocess.run([sys.executable, "-c", code], check=True), repeats, warmups=0)

    return timed("import tagger, tagger.cli"), timed("pass")


def worker_peak_mib(model_path: Path) -> float:
    """Peak RSS of a process doing a worker's job: load the model, decode and classify windows."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec.
    code = (
        "import numpy as np\n"
        "from tagger.model import GenreModel\n"
        f"model = GenreModel(__import__('pathlib').Path({str(model_path)!r}))\n"
        "windows = np.zeros((model.info.inference_windows, model.info.window_samples), np.float32)\n"
        "for _ in range(20): model.predict(windows)\n"
        "status = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]\n"
        "print(int(status) / 1024)\n"
    )
    return float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--int8", type=Path, default=None, help="INT8 model [default: <model>.int8.onnx if present]")
    parser.add_argument("--baseline", type=Path, default=None, help="another file of the model, timed alongside")
    arguments = parser.parse_args()
    variants = {"float32": arguments.model}
    int8 = arguments.int8 or arguments.model.with_name(arguments.model.stem + ".int8.onnx")
    if int8.is_file():
        variants["int8"] = int8
    if arguments.baseline:
        variants = {f"baseline ({arguments.baseline.name})": arguments.baseline, **variants}
    timings = {(name, threads): latencies(GenreModel(path, threads=threads))
               for name, path in variants.items() for threads in (1, 2)}
    reference = next(iter(variants))  # the baseline where given, else the float32 file itself
    rows = [[name, f"{variants[name].stat().st_size / 1024:.0f}", threads,
             *(f"{ms:.2f} ({ms / base:.2f}x)" for ms, base in zip(times, timings[reference, threads], strict=True))]
            for (name, threads), times in timings.items()]
    info = GenreModel(arguments.model).info
    imported, bare = import_seconds()
    peak = worker_peak_mib(arguments.model)
    body = (
        f"Model `{arguments.model.name}` ({info.model_version}), median milliseconds per window of "
        f"{info.window_seconds:g} s at {info.sample_rate} Hz (random audio; the work does not depend on the "
        f"content); a track takes {info.inference_windows} windows.\n\n"
        + table(["model", "file (KiB)", "threads", f"ms/window, batch 1 (x {reference})",
                 f"ms/window, batch 16 (x {reference})"], rows)
        + "\n\n"
        + table(["measure", "value"], [
            ["`import tagger, tagger.cli` (interpreter start subtracted)", f"{imported - bare:.3f} s"],
            ["python start-up alone", f"{bare:.3f} s"],
            ["peak RSS of a worker (model loaded, 20 batches of one track's windows)", f"{peak:.0f} MiB"],
        ])
    )
    print(body)
    record(f"Model and start-up, {arguments.model.name}", body)


if __name__ == "__main__":
    main()
