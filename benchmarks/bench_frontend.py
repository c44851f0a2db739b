"""Before/after of the front end's formulation in onnxruntime: ONNX's STFT operator (the first
formulation, kept here as the baseline) against the two-stage DFT as matrix products now in the model.
Both compute the same log-mel features; the script checks that too.

Usage: python benchmarks/bench_frontend.py
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import median_seconds, record, table
from trainer.audio_params import AudioParams
from trainer.frontend import LogMel


class StftLogMel(LogMel):
    """The baseline: the same log-mel, with the spectrum from torch.stft (ONNX STFT when exported)."""

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        n_fft, hop = self.power.n_fft, self.power.hop_length
        padded = torch.nn.functional.pad(waveform.unsqueeze(1), (n_fft // 2, n_fft // 2)).squeeze(1)
        window = torch.hann_window(n_fft, periodic=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spectrum = torch.stft(padded, n_fft, hop, window=window, center=False, return_complex=False)
        mel = torch.matmul(self.mel_basis, spectrum.pow(2).sum(-1))
        decibels = 10.0 * torch.log10(torch.clamp(mel, min=1e-10))
        return torch.maximum(decibels, decibels.amax(dim=(1, 2), keepdim=True) - self.top_db)


def export(module: torch.nn.Module, path: Path, samples: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (torch.zeros(1, samples),), str(path), opset_version=17, dynamo=False,
                          input_names=["waveform"], output_names=["features"],
                          dynamic_axes={"waveform": {0: "batch"}, "features": {0: "batch"}})


def ms_per_window(path: Path, windows: np.ndarray, threads: int, repeats: int = 30) -> float:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return median_seconds(lambda: session.run(None, {"waveform": windows}), repeats, warmups=3) * 1000 / len(windows)


def main() -> None:
    params = AudioParams()
    rng = np.random.default_rng(0)
    variants = {"ONNX STFT operator (before)": StftLogMel(params), "two-stage DFT as MatMul (now)": LogMel(params)}
    rows = []
    same_windows = torch.from_numpy((0.1 * rng.standard_normal((4, params.window_samples))).astype(np.float32))
    with tempfile.TemporaryDirectory() as folder:
        outputs = {}
        for name, module in variants.items():
            path = Path(folder) / f"{len(outputs)}.onnx"
            export(module, path, params.window_samples)
            timings = []
            for threads, batch in ((1, 1), (1, 16), (2, 16)):
                windows = (0.1 * rng.standard_normal((batch, params.window_samples))).astype(np.float32)
                timings.append(ms_per_window(path, windows, threads))
            outputs[name] = module(same_windows).detach().numpy()
            rows.append([name, *(f"{t:.2f}" for t in timings)])
        before, now = outputs.values()
        difference = float(np.max(np.abs(before - now)))
    speedup = float(rows[0][1]) / float(rows[1][1])
    body = (
        "The log-mel front end alone (128 mels, n_fft 2048, hop 512, one 4 s window at 22,050 Hz), median "
        "milliseconds per window in onnxruntime.\n\n"
        + table(["front end", "1 thread, batch 1", "1 thread, batch 16", "2 threads, batch 16"], rows)
        + f"\n\nSpeed-up on one thread, batch 1: {speedup:.1f}x. Largest difference between the two "
        f"formulations' log-mel values: {difference:.1e} dB."
    )
    print(body)
    record("Front end: before and after", body)


if __name__ == "__main__":
    main()
