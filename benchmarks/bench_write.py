"""What writing costs: `tagger scan --write-tags` against a dry run of the same files, per file, in one run.

N untagged files of ``--seconds`` (MP3, M4A, FLAC in turn) are laid out once (cached). For each tagger and each of
``--runs`` rounds, a fresh copy is scanned once as a dry run (untimed: it hears the files and caches their
scores), then timed: the same dry run again, and the run that writes. Their difference over N is what a
write costs a file (issue 32: at most 25 ms of wall time on local disk), wall and CPU, medians of the rounds.
``--baseline CHECKOUT`` measures another checkout (say a worktree of main) the same way.

Usage: python benchmarks/bench_write.py [--files 60] [--seconds 240] [--runs 3] [--baseline CHECKOUT] [--folder DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_rescan import RATE, recording, timed
from benchmarks.common import record, table, tagger_command

SUFFIXES = (".mp3", ".m4a", ".flac")


def make_library(folder: Path, files: int, seconds: float) -> Path:
    """``files`` untagged recordings, a few distinct ones copied in turn, laid out once under ``folder``."""
    library = folder / f"untagged-{files}x{seconds:g}s"
    if (library / ".complete").exists():
        return library
    shutil.rmtree(library, ignore_errors=True)
    library.mkdir(parents=True)
    for number in range(files):
        suffix = SUFFIXES[number % len(SUFFIXES)]
        source = folder / f"untagged{number % 6}-{seconds:g}s{suffix}"
        if not source.exists():
            recording(source, 100 + number % 6, None, seconds)
        shutil.copyfile(source, library / f"track{number:04d}{suffix}")
    (library / ".complete").touch()
    return library


def one_round(library: Path, work: Path, source: Path | None) -> tuple[float, float, float, float]:
    """Wall and CPU seconds of a dry run and of the writing run, on a fresh copy with its scores cached."""
    shutil.rmtree(work, ignore_errors=True)
    copy = work / "library"
    shutil.copytree(library, copy)
    command, where = tagger_command(source, {**os.environ, "TAGGER_STATE_DIR": str(work / "state")})
    scan = [*command, "scan", "-q", "--min-confidence", "0", str(copy)]
    subprocess.run(scan, capture_output=True, check=True, **where)
    dry = timed(scan, where)
    written = timed([*scan, "--write-tags"], where)
    return (*dry, *written)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=240.0, help="length of each file")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another checkout to time the same way")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "genre-tagger-write")
    arguments = parser.parse_args()
    library = make_library(arguments.folder, arguments.files, arguments.seconds)
    checkouts = [("this checkout", None)] + ([("baseline", arguments.baseline)] if arguments.baseline else [])
    rows = []
    with tempfile.TemporaryDirectory() as works:
        for name, source in checkouts:
            rounds = [one_round(library, Path(works) / name, source) for _ in range(arguments.runs)]
            dry_wall, dry_cpu, write_wall, write_cpu = (statistics.median(r[i] for r in rounds) for i in range(4))
            wall_ms, cpu_ms = ((write - dry) / arguments.files * 1000 for write, dry in ((write_wall, dry_wall),
                                                                                        (write_cpu, dry_cpu)))
            rows.append([name, f"{dry_wall:.2f}", f"{write_wall:.2f}", f"{write_wall / arguments.files * 1000:.1f}",
                         f"{wall_ms:.1f}", f"{cpu_ms:.1f}"])
            print(rows[-1], flush=True)
    body = (f"`python benchmarks/bench_write.py --files {arguments.files} --seconds {arguments.seconds:g}`: "
            f"{arguments.files} untagged {arguments.seconds:g}-second files at {RATE} Hz ({', '.join(SUFFIXES)} in "
            f"turn), their scores cached; the median of {arguments.runs} rounds on fresh copies. \"Over the dry "
            f"run\" is the write run less the same tagger's dry run; a dry run that answers from the state without "
            f"reading the files makes that difference include the whole plan, so the write run per file is shown "
            f"too.\n\n"
            + table(["tagger", "dry run s", "--write-tags s", "write run ms per file", "wall ms per file over the "
                     "dry run", "CPU ms per file over the dry run"], rows))
    print(body)
    record("Writing tags (issue 32)", body)


if __name__ == "__main__":
    main()
