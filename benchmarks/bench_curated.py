"""A scan of a curated library, where most files already have genres: the default fill-empty mode with
--jobs 2, a dry run and a --write-tags run, this checkout against another one (the plan before listening:
files with genres of their own are kept without being analysed), in the same run on the same files (each
write run on its own copy of the library).

The library: 4-minute 44.1 kHz stereo MP3s (``bench_scan.make_library``), seven in eight given a genre.
Usage: python benchmarks/bench_curated.py [--tracks 80] [--baseline CHECKOUT] [--model default]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mutagen.id3 import ID3, TCON

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_scan import make_library
from benchmarks.common import machine, table, tagger_command


def scan_seconds(library: Path, source: Path | None, model: str, state: Path, write: bool) -> tuple[float, str]:
    """Wall seconds of ``tagger scan LIBRARY`` run from ``source`` with a fresh state, and its summary line."""
    command, where = tagger_command(source, {**os.environ, "TAGGER_STATE_DIR": str(state)})
    started = time.perf_counter()
    finished = subprocess.run([*command, "scan", str(library), "--jobs", "2", "--model", model, "-q",
                               *(["--write-tags"] if write else [])],
                              capture_output=True, text=True, check=True, **where)
    return time.perf_counter() - started, finished.stderr.strip().splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, default=80)
    parser.add_argument("--baseline", type=Path, help="a checkout to compare with (e.g. a git worktree of main)")
    parser.add_argument("--model", default="default")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="curated-") as scratch:
        library = Path(scratch) / "library"
        paths = make_library(library, arguments.tracks)
        for index, path in enumerate(paths):
            if index % 8:  # seven in eight have genres of their own
                tags = ID3()
                tags.add(TCON(encoding=3, text=["Shoegaze"]))
                tags.save(str(path))
        checkouts = [("this checkout", None)] + ([("baseline", arguments.baseline)] if arguments.baseline else [])
        rows = []
        for write in (False, True):
            first = None
            for name, source in checkouts:
                scanned = library
                if write:  # a library of its own: the other checkout's writes must not decide this one's work
                    scanned = Path(scratch) / f"library-{name}"
                    shutil.copytree(library, scanned)
                seconds, line = scan_seconds(scanned, source, arguments.model, Path(scratch) / f"state-{name}-{write}",
                                             write)
                first = first or seconds
                rows.append([name, "--write-tags" if write else "dry run", f"{seconds:.1f}", f"{seconds / first:.2f}",
                             line])
    with_genres = sum(1 for index in range(len(paths)) if index % 8)
    print(f"{len(paths)} tracks, {with_genres} of them with genres; model {arguments.model}; --jobs 2; {machine()}")
    print(table(["tagger", "run", "wall s", "ratio to this checkout", "summary"], rows))


if __name__ == "__main__":
    main()
