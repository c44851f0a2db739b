"""Rescan of an unchanged library against its floor (walking the folders and stat'ing every file), in one run.

A library of N small files in album folders of 100 is laid out once (cached): 90 % MP3 and M4A with genres of
their own (a fill-empty scan keeps them, unheard) and 10 % MP3 and FLAC without genres. Each tagger gets a copy
of it and a state of its own, and tags it (`scan --write-tags`: the untagged files are heard and given genres,
or left uncertain); then each rescan, a dry run that changes nothing, is timed: the median wall time of
``--runs`` runs of the whole command, with its CPU time, and its ratio to the floor measured in the same run.
``--baseline CHECKOUT`` times another checkout (say a worktree of main) the same way (issue 32: 5,000 files
within 0.5 s, 20,000 within 2 s).

Usage: python benchmarks/bench_rescan.py [--files 5000,20000] [--runs 3] [--baseline CHECKOUT] [--folder DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import record, table, tagger_command
from tests.conftest import tone, write_audio

RATE, SECONDS = 22_050, 5.0
ALBUM = 100  # files per folder
# (suffix, genre or None, share of the library): what a real library mixes, tagged and untagged
KINDS = ((".mp3", "Rock", 0.55), (".m4a", "Jazz", 0.35), (".mp3", None, 0.07), (".flac", None, 0.03))


def recording(path: Path, seed: int, genre: str | None, seconds: float = SECONDS) -> None:
    """One recording of a tone over noise (the tests' own, encoded by its suffix), with a genre tag where
    ``genre`` is given."""
    import mutagen

    frequency = float(np.random.default_rng(seed).uniform(110, 880))
    write_audio(path, tone(seconds, RATE, frequencies=(frequency,), noise=0.05, seed=seed), RATE)
    if genre:
        tagged = mutagen.File(path, easy=True)
        if tagged.tags is None:
            tagged.add_tags()
        tagged["genre"] = [genre]
        tagged.save()


def make_library(folder: Path, files: int) -> Path:
    """``files`` copies of four recordings, in album folders, laid out once under ``folder``."""
    library = folder / f"library-{files}"
    if (library / ".complete").exists():
        return library
    shutil.rmtree(library, ignore_errors=True)
    originals = folder / "originals"
    originals.mkdir(parents=True, exist_ok=True)
    sources = []
    for index, (suffix, genre, share) in enumerate(KINDS):
        source = originals / f"kind{index}{suffix}"
        if not source.exists():
            recording(source, index, genre)
        sources += [source] * round(share * 100)
    for number in range(files):
        source = sources[number % len(sources)]
        target = library / f"album{number // ALBUM:04d}" / f"track{number % ALBUM:02d}{source.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    (library / ".complete").touch()
    return library


def floor_seconds(library: Path) -> float:
    """Walking the library and stat'ing each file: what no scan of it can go below."""
    started = time.perf_counter()
    for directory, _, names in os.walk(library):
        for name in names:
            os.stat(os.path.join(directory, name))
    return time.perf_counter() - started


def timed(command: list[str], where: dict[str, object]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command`` (its output read and thrown away)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True, **where)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def rescan(library: Path, work: Path, source: Path | None, runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of a dry-run rescan of a copy of ``library`` under ``work`` by the tagger at
    ``source``, once that tagger has tagged the copy."""
    copy = work / "library"
    shutil.copytree(library, copy)
    command, where = tagger_command(source, {**os.environ, "TAGGER_STATE_DIR": str(work / "state")})
    subprocess.run([*command, "scan", "--write-tags", "--jobs", "2", "-q", str(copy)], capture_output=True,
                   check=True, **where)
    scan = [*command, "scan", str(copy)]
    times = [timed(scan, where) for _ in range(runs)]
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", default="5000,20000", help="library sizes, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another checkout to time the same way")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "genre-tagger-rescan")
    arguments = parser.parse_args()
    checkouts = [("this checkout", None)] + ([("baseline", arguments.baseline)] if arguments.baseline else [])
    rows = []
    with tempfile.TemporaryDirectory() as works:
        for files in map(int, arguments.files.split(",")):
            library = make_library(arguments.folder, files)
            floor = statistics.median(floor_seconds(library) for _ in range(arguments.runs))
            rows.append([files, "walk and stat (floor)", f"{floor:.3f}", "-", "1.0"])
            for name, source in checkouts:
                wall, cpu = rescan(library, Path(works) / f"{name}-{files}", source, arguments.runs)
                rows.append([files, f"tagger scan, {name}", f"{wall:.3f}", f"{cpu:.3f}", f"{wall / floor:.1f}"])
                print(rows[-1], flush=True)
    body = (f"`python benchmarks/bench_rescan.py --files {arguments.files}`: a dry-run rescan of an unchanged "
            "library just tagged by the same tagger (90 % of it with genres of its own, 10 % heard and tagged or "
            f"left uncertain), the median of {arguments.runs} runs of the whole command, against walking and "
            "stat'ing the same files.\n\n"
            + table(["files", "what", "wall s", "CPU s", "wall / floor"], rows))
    print(body)
    record("Rescan of an unchanged library (issue 32)", body)


if __name__ == "__main__":
    main()
