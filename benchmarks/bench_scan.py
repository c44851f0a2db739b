"""Library-scan speed against the decode-only floor, measured in the same run.

Generates N four-minute 44.1 kHz stereo MP3s once (cached), then times:
  - the floor: the same windows decoded and resampled with tagger.audio, no model, no tags;
  - `tagger scan` as a dry run with a fresh state directory (nothing cached), --jobs 1 and 2;
  - the same scan of one track per worker: what starting costs, so that the sustained rate of a large
    library (the whole scan less the start) can be told from the rate of these N tracks.
Usage: python benchmarks/bench_scan.py [--tracks 100] [--files DIR] [--model FILE]
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import record, table
from tagger.audio import read_windows
from tagger.model import GenreModel

SECONDS, RATE = 240, 44_100


def make_library(folder: Path, tracks: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for index in range(tracks):
        path = folder / f"track{index:04d}.mp3"
        if not path.exists():
            t = np.arange(SECONDS * RATE) / RATE
            base = rng.uniform(100, 400)
            mono = 0.2 * np.sin(2 * np.pi * base * t) * (1 + np.sin(2 * np.pi * 2 * t)) / 2
            stereo = np.stack([mono, np.roll(mono, 300)], axis=1) + 0.02 * rng.standard_normal((len(t), 2))
            temporary = path.with_suffix(".tmp")
            soundfile.write(str(temporary), stereo.astype(np.float32), RATE, format="MP3")
            temporary.rename(path)
        paths.append(path)
    return paths


def _decode(arguments: tuple[str, int, float, int]) -> int:
    path, rate, seconds, windows = arguments
    return len(read_windows(Path(path), rate, seconds, windows))


def decode_floor(paths: list[Path], model: GenreModel, jobs: int) -> float:
    info = model.info
    work = [(str(p), info.sample_rate, info.window_seconds, info.inference_windows) for p in paths]
    started = time.perf_counter()
    if jobs == 1:
        for item in work:
            _decode(item)
    else:
        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            list(pool.imap_unordered(_decode, work, chunksize=2))
    return time.perf_counter() - started


def startup_library(paths: list[Path], folder: Path, count: int) -> Path:
    """A library of the first ``count`` tracks, beside the big one (not inside: the big scan would find it)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in paths[:count]:
        if not (folder / path.name).exists():
            shutil.copyfile(path, folder / path.name)
    return folder


def timed_scan(folder: Path, model: Path, jobs: int, options: tuple[str, ...] = ()) -> float:
    """Wall seconds of a dry-run scan with nothing cached (with more scan ``options``)."""
    with tempfile.TemporaryDirectory() as state:
        command = [sys.executable, "-m", "tagger", "scan", str(folder), "--model", str(model), "--jobs", str(jobs),
                   "--state-dir", state, "--force", *options]
        started = time.perf_counter()
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, default=100)
    parser.add_argument("--files", type=Path, default=Path(tempfile.gettempdir()) / "genre-tagger-bench")
    parser.add_argument("--model", type=Path, default=None)
    arguments = parser.parse_args()
    model = GenreModel(arguments.model)
    print(f"preparing {arguments.tracks} MP3s of {SECONDS} s at {RATE} Hz stereo in {arguments.files} ...")
    paths = make_library(arguments.files, arguments.tracks)
    rows = []
    for jobs in (1, 2):
        floor = decode_floor(paths, model, jobs)
        scan = timed_scan(arguments.files, model.path, jobs)
        small = startup_library(paths, arguments.files.with_name(f"{arguments.files.name}-{jobs}"), jobs)
        start = timed_scan(small, model.path, jobs)
        rows.append([jobs, f"{len(paths) / floor:.1f}", f"{len(paths) / scan:.1f}",
                     f"{(len(paths) - jobs) / (scan - start):.1f}", f"{start:.2f}", f"{scan / floor:.2f}"])
    body = (
        f"{len(paths)} generated {SECONDS // 60}-minute {RATE} Hz stereo MP3s, {model.info.inference_windows} "
        f"windows of {model.info.window_seconds:g} s per track, model `{model.path.name}`. The scan is the whole "
        "`tagger scan` command (start-up, discovery, state database, worker pool) as a dry run with nothing "
        "cached; the floor decodes and resamples the same windows and does nothing else. The start is the same "
        "scan of one track per worker; the sustained rate, what a large library sees, counts the other tracks "
        "over the time the whole scan took beyond it.\n\n"
        + table(["jobs", "decode floor (tracks/s)", "tagger scan (tracks/s)", "sustained (tracks/s)", "start (s)",
                 "scan / floor time"], rows)
    )
    print(body)
    record(f"Library scan, {model.path.name}", body)


if __name__ == "__main__":
    main()
