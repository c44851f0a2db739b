"""`tagger learn` on real music in a vocabulary of the user's own: what its cross-validation reports, what
embedding costs per track against a dry-run scan of the same files with the default model (same run), and
what fitting costs, for several window counts.

  python benchmarks/bench_learn.py [--data ../shared/data/gtzan-part] [--windows 2,4,8] [--jobs 1] [--record]

The clips of gtzan-part are copied into a temporary library (never into the project) and tagged, with the
tagger's own writer, in a made-up vocabulary that merges and renames GTZAN's genres (VOCABULARY). GTZAN
names no albums or artists, so the folds are by track (`--group-by track`); GTZAN repeats artists, so
expect a little less on music by other artists. The default model's head was fitted on these same clips,
but its backbone, whose embedding `learn` uses, never saw them.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import machine, record, table, tagger_command
from tagger import tags
from tagger.formats import handler_for
from tagger.learning.embeddings import embed_files
from tagger.learning.learn import LearnOptions, learn
from tagger.model import GenreModel
from tagger.state import StateStore

ROOT = Path(__file__).resolve().parents[1]
# GTZAN's folder -> the genre the made-up user tagged it with: seven genres, two of them merged from two.
VOCABULARY = {"hiphop": "Rap", "classical": "Klassik", "jazz": "Jazz & Blues", "blues": "Jazz & Blues",
              "metal": "Rock", "rock": "Rock", "disco": "Pop", "pop": "Pop", "country": "Country",
              "reggae": "Reggae"}


def tagged_library(data: Path, destination: Path) -> list[Path]:
    """A copy of every clip, its genre tag set to the user's name for its folder."""
    files = []
    for clip in sorted(data.glob("*/*")):
        if clip.parent.name not in VOCABULARY or handler_for(clip) is None:
            continue
        copy = destination / clip.name
        shutil.copyfile(clip, copy)
        tags.write_genres(copy, handler_for(copy), [VOCABULARY[clip.parent.name]])
        files.append(copy)
    return files


def scan_seconds(library: Path, state: Path, jobs: int) -> float:
    """Wall seconds of a dry run over ``library`` with the default model, every file heard."""
    command, keywords = tagger_command(None, dict(os.environ))
    started = time.perf_counter()
    subprocess.run([*command, "scan", str(library), "--mode", "replace", "--jobs", str(jobs), "-q", "--state-dir",
                    str(state)], check=True, capture_output=True, **keywords)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "gtzan-part")
    parser.add_argument("--windows", default="2,4,8")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--record", action="store_true", help="write the table into benchmarks/RESULTS.md")
    args = parser.parse_args()
    base = GenreModel()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        library = Path(scratch) / "library"
        library.mkdir()
        files = tagged_library(args.data, library)
        scan = scan_seconds(library, Path(scratch) / "scan-state", args.jobs) / len(files)
        for windows in map(int, args.windows.split(",")):
            store = StateStore(Path(scratch) / f"state-{windows}")
            started = time.perf_counter()
            embed_files(files, base, windows, args.jobs, store.embeddings, lambda path, reason: None)
            embedding = (time.perf_counter() - started) / len(files)
            started = time.perf_counter()  # the embeddings are cached now: this is reading, fitting, writing
            learned = learn([library], base, store.embeddings,
                            LearnOptions(Path(scratch) / f"mine-{windows}.onnx", windows, grouping="track",
                                         jobs=args.jobs), lambda line: None)
            fitting = time.perf_counter() - started
            store.close()
            figures = learned.figures
            low, high = figures.top1_interval
            rows.append([windows, f"{figures.top1:.3f} [{low:.3f}, {high:.3f}]", f"{figures.coverage:.2f}",
                         f"{figures.written_precision:.3f}", f"{embedding * 1000:.0f} ({embedding / scan:.2f}x)",
                         f"{fitting:.1f}"])
    body = "\n".join([
        f"`python benchmarks/bench_learn.py --windows {args.windows} --jobs {args.jobs}`: {len(files)} clips of "
        f"{args.data.name} tagged in {len(set(VOCABULARY.values()))} made-up genres, {figures.folds} folds by "
        f"track; a dry-run scan with the default model costs {scan * 1000:.0f} ms per track here (--jobs "
        f"{args.jobs}, same run).", "",
        table(["windows per track", "CV top-1 [95 %]", "tagged at its --min-confidence", "written genres right",
               "embedding ms/track (x scan)", "fit + CV + write, s"], rows)])
    print(body)
    print(f"\n{machine()}")
    if args.record:
        record("tagger learn (bench_learn.py)", body)


if __name__ == "__main__":
    main()
