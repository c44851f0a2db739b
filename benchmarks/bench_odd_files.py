"""Scan and undo over the odd real-world files that tag libraries publish as their test media.

The files are not ours to ship: clone the libraries (the sources below) and name the clones; the script
copies their test media into a work folder (the clones are never written), runs ``tagger scan --write-tags
--mode replace`` over it, then ``tagger undo``, and prints one row per library:
- analysed: files whose audio was decoded and classified;
- refused: files skipped with a reason (no tag we can edit safely, read-only, and the like), or not audio;
- errors: files reported as errors (those FFmpeg decodes too are listed: each is a valid file we failed);
- damaged: files whose audio decodes differently after the write (or that changed without being tagged);
- undo exact: tagged files that are byte for byte the original after the undo, of those tagged.

Usage:
    git clone --depth 1 https://github.com/quodlibet/mutagen /tmp/mutagen
    git clone --depth 1 https://github.com/taglib/taglib /tmp/taglib
    python benchmarks/bench_odd_files.py mutagen=/tmp/mutagen taglib=/tmp/taglib [--model fast]
        [--tagger-source CHECKOUT]   # measure another checkout's tagger (the "before" of a change)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import machine, table, tagger_command

# Library -> (where its source lives, the folders of its test media inside a clone).
SOURCES = {
    "mutagen": ("https://github.com/quodlibet/mutagen", ("tests/data",)),
    "taglib": ("https://github.com/taglib/taglib", ("tests/data",)),
    "taglib-sharp": ("https://github.com/mono/taglib-sharp", ("tests/TaglibSharp.Tests/samples",)),
    "mediafile": ("https://github.com/beetbox/mediafile", ("test/rsrc",)),
    "picard": ("https://github.com/metabrainz/picard", ("test/data",)),
    "jaudiotagger": ("https://bitbucket.org/ijabz/jaudiotagger", ("testdata",)),
    "atl": ("https://github.com/Zeugma440/atldotnet", ("ATL.test/Resources",)),
    "flac-test-files": ("https://github.com/ietf-wg-cellar/flac-test-files", ("subset", "uncommon")),
}
SCAN_TIMEOUT = 1800


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _decoded_digest(path: Path) -> str | None:
    """A digest of every sample FFmpeg decodes from the file's first audio stream, or None where it decodes
    nothing: what "the audio is the same" means here, whichever decoder the tagger used."""
    import av
    import numpy as np

    digest, frames = hashlib.sha256(), 0
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                return None
            for frame in container.decode(container.streams.audio[0]):
                digest.update(np.ascontiguousarray(frame.to_ndarray()).tobytes())
                frames += 1
    except (av.FFmpegError, OSError, ValueError, UnicodeError):
        return None
    return digest.hexdigest() if frames else None


def _copy_media(clone: Path, folders: tuple[str, ...], destination: Path) -> list[Path]:
    """Copy the clone's media folders into ``destination``; the clone itself is never written."""
    found = [folder for folder in folders if (clone / folder).is_dir()]
    if not found:
        raise SystemExit(f"{clone} has none of {', '.join(folders)}: is it a clone of the library?")
    for folder in found:
        shutil.copytree(clone / folder, destination / folder, symlinks=True)
    return sorted(path for path in destination.rglob("*") if path.is_file() and not path.is_symlink())


def _run(arguments: list[str], tagger_source: Path | None, state: Path) -> subprocess.CompletedProcess:
    command, where = tagger_command(tagger_source, {**os.environ, "TAGGER_STATE_DIR": str(state)})
    return subprocess.run([*command, *arguments], capture_output=True, text=True, timeout=SCAN_TIMEOUT, check=False,
                          **where)


def measure(name: str, clone: Path, model: str, tagger_source: Path | None, work: Path) -> tuple[list, list[str]]:
    """One row of the table, and the errors on files FFmpeg decodes (valid files we failed)."""
    folder = work / name
    files = _copy_media(clone, SOURCES[name][1], folder)
    before = {path: _digest(path) for path in files}
    decoded = {path: _decoded_digest(path) for path in files}
    report, state = work / f"{name}.json", work / f"{name}-state"
    scan = _run(["scan", str(folder), "--write-tags", "--mode", "replace", "--min-confidence", "0", "--model", model,
                 "--jobs", "2", "--report", str(report), "-q"], tagger_source, state)
    if not report.is_file():
        raise SystemExit(f"{name}: the scan wrote no report (exit {scan.returncode}):\n{scan.stderr[-2000:]}")
    records = {Path(record["path"]).resolve(): record for record in json.loads(report.read_text())}
    statuses = Counter(record["status"] for record in records.values())
    tagged = {path for path, record in records.items() if record["status"] == "tagged"}
    damaged = [path for path in files if (path.resolve() in tagged and decoded[path] is not None
                                          and _decoded_digest(path) != decoded[path])
               or (path.resolve() not in tagged and _digest(path) != before[path])]
    _run(["undo"], tagger_source, state)
    inexact = [path for path in files if path.resolve() in tagged and _digest(path) != before[path]]
    failures = [f"error on a valid file: {path.relative_to(work)}: {records[path.resolve()]['error']}"
                for path in files if records.get(path.resolve(), {}).get("status") == "error" and decoded[path]]
    failures += [f"damaged: {path.relative_to(work)}" for path in damaged]
    failures += [f"undo not byte-exact: {path.relative_to(work)}" for path in inexact]
    analysed = sum(1 for record in records.values() if record.get("scores"))
    valid_errors = sum(line.startswith("error on a valid file") for line in failures)
    row = [name, len(files), analysed, statuses["skipped"] + statuses["uncertain"], statuses["error"],
           valid_errors, len(damaged), f"{len(tagged) - len(inexact)} of {len(tagged)}"]
    return row, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clones", nargs="+", metavar="LIBRARY=CLONE", help=f"libraries: {', '.join(SOURCES)}")
    parser.add_argument("--model", default="fast", help="the model to scan with [fast: the quicker one]")
    parser.add_argument("--tagger-source", type=Path, help="a checkout whose tagger to measure instead of this one")
    parser.add_argument("--list-failures", action="store_true",
                        help="name each valid file that got an error, each damaged file and each inexact undo")
    arguments = parser.parse_args()
    rows, failures = [], []
    with tempfile.TemporaryDirectory(prefix="odd-media-") as scratch:
        for given in arguments.clones:
            name, _, clone = given.partition("=")
            if name not in SOURCES or not clone:
                parser.error(f"{given!r}: expected LIBRARY=CLONE with LIBRARY one of {', '.join(SOURCES)}")
            row, failed = measure(name, Path(clone), arguments.model, arguments.tagger_source, Path(scratch))
            rows.append(row)
            failures += failed
    totals = ["all", *(sum(row[index] for row in rows) for index in range(1, 7)),
              f"{sum(int(row[7].split()[0]) for row in rows)} of {sum(int(row[7].split()[2]) for row in rows)}"]
    print(f"tagger: {arguments.tagger_source or 'this checkout'}; model {arguments.model}; {machine()}")
    print(table(["library", "files", "analysed", "refused with reason", "errors", "errors on files FFmpeg decodes",
                 "damaged", "undo exact"], [*rows, totals]))
    if arguments.list_failures:
        print("\n".join(["", *failures]))


if __name__ == "__main__":
    main()
