"""Outside the ten genres: on a development set of music none of GTZAN's genres fits (or only one,
orchestral -> classical; scripts/fetch_ood_set.py lays it out), the share of files a dry run would tag and
the share it tags fairly, next to the same figures on gtzan-part out of fold, per model, in one run.

  python benchmarks/bench_ood.py --ood ~/ood-music [--model default:CV_UNIT] [--model fast] [--baseline CHECKOUT]

Each --model is a model name or file, optionally with the folder of one configuration of a
`trainer compare --folds K` run that matches it (its out-of-fold tracks give the gtzan-part column; the
model itself was refit on all of gtzan-part, so scanning gtzan-part with it would flatter). The scan is
this checkout's `tagger scan --mode replace` (a dry run: every file heard, nothing written) with its
default decision rule; --baseline runs another checkout's tagger on the same files for a before/after.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import machine, record, table, tagger_command
from tagger.genres import DEFAULT_TOP_K
from tagger.model import GenreModel, resolve_model
from tagger.vocabulary import genre_key

TAGGED = ("would-tag", "unchanged")  # a genre would be in the file after the run


def scan_records(folder: Path, model: str, source: Path | None) -> list[dict]:
    """The report records of a dry run over ``folder`` with ``model``, from ``source`` (None: this checkout)."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command, where = tagger_command(source, {**os.environ, "TAGGER_STATE_DIR": str(Path(scratch) / "state")})
        subprocess.run([*command, "scan", str(folder), "--mode", "replace", "--model", model, "--jobs", "2", "-q",
                        "--report", str(report)], capture_output=True, text=True, check=True, **where)
        return json.loads(report.read_text())


def ood_rows(folder: Path, model: str, source: Path | None, name: str) -> list[list[str]]:
    """Per style of the development set: files, tagged, tagged fairly, mean top probability."""
    manifest = {str(folder.resolve() / row["path"]): row for row in csv.DictReader((folder / "manifest.csv").open())}
    by_style: dict[str, list[tuple[bool, bool, float]]] = defaultdict(list)
    for entry in scan_records(folder, model, source):
        row = manifest.get(entry["path"])
        if row is None or entry["status"] == "error":
            continue
        fair = {genre_key(genre) for genre in row["fair_genres"].split(";") if genre}
        tagged = entry["status"] in TAGGED
        right = tagged and bool({genre_key(genre) for genre in entry["genres"]} & fair)
        by_style[row["style"]].append((tagged, right, max(entry["scores"].values(), default=float("nan"))))
    rows = []
    for style, files in sorted(by_style.items()):
        tagged, right, top = (np.array(column) for column in zip(*files, strict=True))
        fair = manifest_fair(manifest, style)
        rows.append([name, f"{style} (fair: {fair or 'none'})", str(len(files)), f"{tagged.mean():.2f}",
                     f"{right.mean():.2f}", f"{top.mean():.2f}"])
    return rows


def manifest_fair(manifest: dict[str, dict], style: str) -> str:
    return next((row["fair_genres"] for row in manifest.values() if row["style"] == style), "")


def gtzan_row(model: str, unit: Path, name: str) -> list[str]:
    """The same figures on gtzan-part's out-of-fold tracks under the model's own rule (thresholds, top-k,
    min-confidence), each track calibrated by a temperature fitted on the other folds."""
    from trainer import calibrate, compare, metrics

    pooled = compare.load_pooled(unit)
    calibrated = calibrate.cross_fitted(pooled["targets"], pooled["probabilities"], pooled["fold_of_track"])
    minimum = GenreModel(resolve_model(model)).info.min_confidence()
    written = metrics.written_genres(pooled["probabilities"], calibrated, pooled["thresholds"], DEFAULT_TOP_K,
                                     minimum)
    figures = metrics.tagging_figures(pooled["targets"], pooled["probabilities"], written)
    all_right = (figures["covered"] == 1) & (figures["right"] == figures["written"])
    return [name, f"gtzan-part, out of fold ({pooled['folds']} folds)", str(len(written)),
            f"{figures['covered'].mean():.2f}", f"{all_right.mean():.2f}", f"{calibrated.max(axis=1).mean():.2f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ood", type=Path, required=True, help="the folder scripts/fetch_ood_set.py wrote")
    parser.add_argument("--model", action="append", default=[], metavar="NAME[:CV_UNIT]")
    parser.add_argument("--baseline", type=Path, help="another checkout whose tagger scans the same files")
    arguments = parser.parse_args()
    rows = []
    for given in arguments.model or ["default"]:
        model, _, unit = given.partition(":")
        checkouts = [("", None)] + ([(" (baseline)", arguments.baseline)] if arguments.baseline else [])
        for suffix, source in checkouts:
            rows += ood_rows(arguments.ood, model, source, model + suffix)
        if unit:
            rows.append(gtzan_row(model, Path(unit), model))
    body = (f"`tagger scan --mode replace` dry runs, default rule (top-k {DEFAULT_TOP_K}, the model's thresholds and "
            f"--min-confidence), on {machine()}. Tagged: a genre would be written; fairly: the genre is one the "
            "set's manifest accepts for that style (none for chiptune and electronic, where abstaining is right); "
            "gtzan-part: the share tagged, and tagged with the right genre only.\n\n"
            + table(["model", "music", "files", "tagged", "tagged fairly", "mean top probability"], rows))
    print(body)
    record("Outside the ten genres (issue 28)", body)


if __name__ == "__main__":
    main()
