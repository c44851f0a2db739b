"""Decode cost per format: the windows a scan analyses, per track, as a ratio to MP3 measured in the same run.

Encodes one four-minute 44.1 kHz stereo track in every format we can encode here (with the encoders the
tests use, ``tests.conftest.write_audio``), then times ``tagger.audio.read_windows`` for the default model's
windows (the median of several runs, after one warm-up) and a full decode of the track.
Usage: python benchmarks/bench_formats.py [--repeats 5] [--model FILE]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import median_seconds, record, table
from tagger.audio import read_windows
from tagger.decoders import open_audio
from tagger.formats import decoder_for, format_for
from tagger.model import GenreModel
from tests.conftest import write_audio

SECONDS, RATE = 240, 44_100
# (label, suffix to encode, name it gets): ALAC is encoded as .alac and renamed to the .m4a it is in a library.
FORMATS = [("MP3", ".mp3", ".mp3"), ("FLAC", ".flac", ".flac"), ("Ogg Vorbis", ".ogg", ".ogg"),
           ("Opus", ".opus", ".opus"), ("WAV", ".wav", ".wav"), ("AAC (M4A)", ".m4a", ".m4a"),
           ("AIFF", ".aiff", ".aiff"), ("ALAC (M4A)", ".alac", ".m4a"), ("WMA", ".wma", ".wma"),
           ("WavPack", ".wv", ".wv"), ("DSF (DSD64)", ".dsf", ".dsf")]


def _track(folder: Path, label: str, suffix: str, name_suffix: str) -> Path:
    path = folder / f"{label.split()[0].lower()}{name_suffix}"
    if not path.exists():
        rate = 48_000 if suffix == ".opus" else RATE
        t = np.arange(SECONDS * rate) / rate
        mono = 0.2 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t)) / 2
        noise = 0.02 * np.random.default_rng(0).standard_normal((len(t), 2))
        stereo = np.stack([mono, np.roll(mono, 300)], axis=1) + noise
        encoded = write_audio(folder / f"encoding{suffix}", stereo.astype(np.float32), rate)
        encoded.rename(path)
    return path


def _full_decode(path: Path) -> None:
    source = open_audio(path, decoder_for(path))
    try:
        source.read(0, None)
    finally:
        source.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--files", type=Path, default=Path(tempfile.gettempdir()) / "genre-tagger-bench-formats")
    parser.add_argument("--model", type=Path, default=None)
    arguments = parser.parse_args()
    info = GenreModel(arguments.model).info
    arguments.files.mkdir(parents=True, exist_ok=True)
    measured = []
    for label, suffix, name_suffix in FORMATS:
        path = _track(arguments.files, label, suffix, name_suffix)
        windows = median_seconds(lambda path=path: read_windows(path, info.sample_rate, info.window_seconds,
                                                                  info.inference_windows), arguments.repeats)
        full = median_seconds(lambda path=path: _full_decode(path), max(1, arguments.repeats // 2))
        measured.append((label, path, windows, full))
        print(f"{label}: windows {windows * 1000:.1f} ms, full decode {full * 1000:.0f} ms", flush=True)
    baseline = measured[0][2]
    rows = [[label, format_for(path).decoder if format_for(path) else "-", f"{path.stat().st_size / 1e6:.1f}",
             f"{windows * 1000:.1f}", f"{windows / baseline:.2f}", f"{full * 1000:.0f}"]
            for label, path, windows, full in measured]
    body = (
        f"One {SECONDS // 60}-minute {RATE} Hz stereo track per format (Opus at 48 kHz), "
        f"{info.inference_windows} windows of {info.window_seconds:g} s resampled to {info.sample_rate} Hz mono "
        f"(the default model's), median of {arguments.repeats} runs after a warm-up; the ratio is to MP3 in "
        "the same run. The full decode is the whole track, for comparison.\n\n"
        + table(["format", "decoder", "MB", "windows (ms)", "ratio to MP3", "full decode (ms)"], rows)
    )
    print(body)
    record("Decode cost per format", body)


if __name__ == "__main__":
    main()
