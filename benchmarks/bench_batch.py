"""`tagger batch` on the local Ray instance against `tagger scan --jobs N` (a dry run hearing every file) on
the same files in the same run, and the bytes `tagger batch` reads per track from S3 (a local S3 server,
moto's) against the files' sizes, per format.

  python benchmarks/bench_batch.py [--tracks 60] [--seconds 240] [--jobs 2] [--record]
  python benchmarks/bench_batch.py --placement ../shared/data/gtzan-part

The tracks are synthesized (a few partials with noise), encoded by the test helpers, and deleted after.
``--placement DIR`` instead compares, for every MP3 under DIR, the default model's scores read as a local
file (libmpg123's exact seek) and as an object (placed by the stream's table of contents, read through
pyarrow's local filesystem exactly as from S3).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import machine, record, table, tagger_command
from tests.conftest import tone, write_audio

FORMATS = (".mp3", ".flac", ".m4a", ".ogg")


def timed(arguments: list[str], environment: dict[str, str]) -> float:
    command, keywords = tagger_command(None, environment)
    started = time.perf_counter()
    subprocess.run([*command, *arguments], check=True, capture_output=True, **keywords)
    return time.perf_counter() - started


def s3_bytes(files: list[Path], scratch: Path) -> dict[str, tuple[int, int]]:
    """Per format: (bytes batch read, bytes the files hold), over a local S3 server."""
    import boto3
    import pyarrow.parquet as parquet
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    environment = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                   "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                   "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
    try:
        client = boto3.client("s3", endpoint_url=environment["AWS_ENDPOINT_URL"], region_name="us-east-1",
                              aws_access_key_id="bench", aws_secret_access_key="bench")
        client.create_bucket(Bucket="bench")
        for path in files:
            client.upload_file(str(path), "bench", f"music/{path.name}")
        timed(["batch", "s3://bench/music/", "--out", str(scratch / "s3-results")], environment)
    finally:
        server.stop()
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in parquet.read_table(scratch / "s3-results").to_pylist():
        suffix = Path(row["uri"]).suffix
        totals[suffix][0] += row["bytes_read"]
        totals[suffix][1] += row["size"]
    return {suffix: (read, size) for suffix, (read, size) in totals.items()}


def placement(folder: Path) -> str:
    """How far an MP3 read as an object in storage gives what a local scan gives: the same top genre, and the
    largest score difference per file."""
    import numpy as np
    from pyarrow import fs

    from tagger.analysis import analyze
    from tagger.model import GenreModel, resolve_model
    from tagger.remote import RemoteFile

    model = GenreModel(resolve_model(None), threads=1)
    windows = model.info.inference_windows
    same, differences, fetched, sizes = 0, [], 0, 0
    files = sorted(folder.rglob("*.mp3"))
    for path in files:
        local = analyze(str(path), model, windows, path).scores
        source = RemoteFile(fs.LocalFileSystem(), str(path.resolve()), path.resolve().as_uri())
        remote = analyze(str(path), model, windows, source).scores
        if local is None or remote is None:
            continue
        same += int(np.argmax(local) == np.argmax(remote))
        differences.append(float(np.max(np.abs(np.subtract(local, remote)))))
        fetched, sizes = fetched + source.bytes_read, sizes + path.stat().st_size
    return table(["MP3s", "same top genre", "largest score difference per file: median", "90th percentile",
                  "max", "bytes read / bytes the files hold"],
                 [[str(len(differences)), str(same), f"{np.median(differences):.3f}",
                   f"{np.quantile(differences, 0.9):.3f}", f"{max(differences):.3f}", f"{fetched / sizes:.3f}"]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--placement", type=Path, default=None, metavar="DIR")
    args = parser.parse_args()
    if args.placement is not None:
        body = (f"`python benchmarks/bench_batch.py --placement {args.placement}`: the default model's scores of "
                f"each MP3 read as a local file and as an object in storage.\n\n{placement(args.placement)}\n")
        print(body)
        print(machine())
        if args.record:
            record("MP3 objects placed by their table of contents (bench_batch.py --placement)", body)
        return
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        files = [write_audio(scratch / "music" / f"track{index:04d}{FORMATS[index % len(FORMATS)]}",
                             tone(args.seconds, frequencies=(110.0 + index, 440.0), seed=index))
                 for index in range(args.tracks)]
        environment = dict(os.environ)
        scan = timed(["scan", str(scratch / "music"), "--mode", "replace", "--jobs", str(args.jobs), "-q",
                      "--state-dir", str(scratch / "state")], environment)
        batch = timed(["batch", str(scratch / "music"), "--out", str(scratch / "results"), "--actors",
                       str(args.jobs)], environment)
        one = timed(["batch", str(files[0]), "--out", str(scratch / "one"), "--actors", "1"], environment)
        fetched = s3_bytes(files[: min(len(files), 4 * len(FORMATS))], scratch)
    speed = table(["command", "wall s", "tracks/s", "vs scan"], [
        [f"tagger scan --jobs {args.jobs} (dry run, every file heard)", f"{scan:.1f}", f"{args.tracks / scan:.1f}",
         "1.00x"],
        [f"tagger batch --actors {args.jobs} (local Ray, start-up included)", f"{batch:.1f}",
         f"{args.tracks / batch:.1f}", f"{scan / batch:.2f}x"],
        ["tagger batch of one track (Ray's start-up, the fixed cost)", f"{one:.1f}", "", ""],
        ["tagger batch past its start-up", f"{batch - one:.1f}", f"{(args.tracks - 1) / (batch - one):.1f}",
         f"{scan / (batch - one):.2f}x"]])
    per_track = len(files[: min(len(files), 4 * len(FORMATS))]) // len(FORMATS)
    ranges = table(["format", "KiB read per track", "KiB per file", "bytes read / bytes the files hold"],
                   [[suffix, f"{read / per_track / 1024:.0f}", f"{size / per_track / 1024:.0f}", f"{read / size:.3f}"]
                    for suffix, (read, size) in sorted(fetched.items())])
    body = (f"`python benchmarks/bench_batch.py --tracks {args.tracks} --seconds {args.seconds:g} --jobs "
            f"{args.jobs}`: synthesized {args.seconds:g}-second tracks in {', '.join(FORMATS)}, default model.\n\n"
            f"{speed}\n\n{ranges}\n")
    print(body)
    print(machine())
    if args.record:
        record("tagger batch (bench_batch.py)", body)


if __name__ == "__main__":
    main()
