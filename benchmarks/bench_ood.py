"""Outside the ten genres: on a development set of music none of GTZAN's genres fits (scripts/fetch_ood_set.py
lays it out, with the genres fair for each style), the share of files a dry run would tag, tag fairly and
tag wrongly, next to the same figures on gtzan-part out of fold, per model, in one run.

  python benchmarks/bench_ood.py --ood ~/ood-music [--model MODEL[:CV_UNIT]]... [--gtzan DIR] [--baseline CHECKOUT]

Each --model is a model name or file, optionally with the folder of the `trainer compare --folds K`
configuration it was refit from (the refit model heard all of gtzan-part, so scanning gtzan-part with it
would flatter). For the gtzan-part row every fold's own model is exported, given the named model's broad
genres (export/broad_genres.py) and tag agreement (export/tag_agreement.py), each fitted on that fold's
training tracks only, and scanned over the fold's test tracks: what a user gets from a model that never
heard them. Every scan is this checkout's `tagger scan --mode replace` (a dry run: every file heard, nothing
written) with the model's own decision rule; --baseline runs another checkout's tagger on the development
set for a before/after.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
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

SECTION = "Outside the ten genres (issue 28)"  # its section of benchmarks/RESULTS.md
TAGGED = ("would-tag", "unchanged")  # a genre would be in the file after the run


def scan_records(folder: Path, model: str, source: Path | None) -> list[dict]:
    """The report records of a dry run over ``folder`` with ``model``, from ``source`` (None: this checkout)."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command, where = tagger_command(source, {**os.environ, "TAGGER_STATE_DIR": str(Path(scratch) / "state")})
        subprocess.run([*command, "scan", str(folder), "--mode", "replace", "--model", model, "--jobs", "2", "-q",
                        "--report", str(report)], capture_output=True, text=True, check=True, **where)
        return json.loads(report.read_text())


def outcome(entry: dict, fair: set[str]) -> tuple[bool, bool, float]:
    """Whether a report record tags its file, whether with a fair genre only, and its top probability."""
    tagged = entry["status"] in TAGGED
    right = tagged and {genre_key(genre) for genre in entry["genres"]} <= fair
    return tagged, right, max(entry["scores"].values(), default=float("nan"))


def figures(name: str, music: str, outcomes: list[tuple[bool, bool, float]]) -> list[str]:
    tagged, right, top = (np.array(column) for column in zip(*outcomes, strict=True))
    return [name, music, str(len(outcomes)), f"{tagged.mean():.2f}", f"{right.mean():.2f}",
            f"{(tagged & ~right).mean():.2f}", f"{top.mean():.2f}"]


def ood_rows(folder: Path, model: str, source: Path | None, name: str) -> list[list[str]]:
    """Per style of the development set: files, tagged, tagged fairly, tagged wrongly, mean top probability."""
    manifest = {str(folder.resolve() / row["path"]): row for row in csv.DictReader((folder / "manifest.csv").open())}
    by_style: dict[str, list[tuple[bool, bool, float]]] = defaultdict(list)
    for entry in scan_records(folder, model, source):
        row = manifest.get(entry["path"])
        if row is None or entry["status"] == "error":
            continue
        by_style[row["style"]].append(outcome(entry, {genre_key(genre) for genre in row["fair_genres"].split(";")
                                                      if genre}))
    fair = {row["style"]: row["fair_genres"] for row in manifest.values()}
    return [figures(name, f"{style} (fair: {fair[style] or 'none'})", outcomes)
            for style, outcomes in sorted(by_style.items())]


def gtzan_row(model: str, unit: Path, gtzan: Path, name: str) -> list[str]:
    """gtzan-part out of fold: each fold's model exported at the named model's windows, given its broad genres
    and its tag agreement (each fitted on the fold's training tracks), scanned over the fold's test tracks."""
    from export.broad_genres import gate_model, recipes
    from export.onnx_export import export_checkpoint
    from export.tag_agreement import doubt_model
    from trainer.compare import fold_runs
    from trainer.run_dir import SPLIT, read_json

    info = GenreModel(resolve_model(model)).info
    outcomes = []
    with tempfile.TemporaryDirectory() as scratch:
        for fold, run in enumerate(fold_runs(unit)):
            split = read_json(run / SPLIT)
            fold_model = Path(scratch) / f"fold{fold}.onnx"
            export_checkpoint(run, fold_model, inference_windows=info.inference_windows)
            training = [gtzan / track for track in split["train"] + split["val"]]
            for genre in recipes(info):
                gate_model(fold_model, fold_model, training, genre.keep, genre)
            if info.tag_agreement:
                doubt_model(fold_model, fold_model, training, info.tag_agreement["keep"])
            tests = Path(scratch) / f"test{fold}"
            for track in split["test"]:
                (tests / track).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(gtzan / track, tests / track)
            for entry in scan_records(tests, str(fold_model), None):
                truth = Path(entry["path"]).relative_to(tests.resolve()).parts[0]
                outcomes.append(outcome(entry, {genre_key(truth)}))
    return figures(name, f"gtzan-part, out of fold ({len(fold_runs(unit))} folds)", outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ood", type=Path, required=True, help="the folder scripts/fetch_ood_set.py wrote")
    parser.add_argument("--model", action="append", default=[], metavar="NAME[:CV_UNIT]")
    parser.add_argument("--gtzan", type=Path, help="gtzan-part, for the out-of-fold rows of models given a CV_UNIT")
    parser.add_argument("--baseline", type=Path, help="another checkout whose tagger scans the development set")
    arguments = parser.parse_args()
    rows = []
    for given in arguments.model or ["default"]:
        model, _, unit = given.partition(":")
        name = Path(model).stem if model.endswith(".onnx") else model
        checkouts = [("", None)] + ([(" (baseline)", arguments.baseline)] if arguments.baseline else [])
        for suffix, source in checkouts:
            rows += ood_rows(arguments.ood, model, source, name + suffix)
        if unit:
            if arguments.gtzan is None:
                parser.error("a CV_UNIT needs --gtzan")
            rows.append(gtzan_row(model, Path(unit), arguments.gtzan, name))
    body = (f"`tagger scan --mode replace` dry runs, each model's own rule (top-k {DEFAULT_TOP_K}, its thresholds "
            f"and --min-confidence), on {machine()}. Tagged: a genre would be written; fairly: only genres the "
            "set's manifest accepts for that style (gtzan-part: the track's own genre); wrongly: tagged, not "
            "fairly. Leaving a file uncertain is never counted wrong.\n\n"
            + table(["model", "music", "files", "tagged", "tagged fairly", "tagged wrongly", "mean top probability"],
                    rows))
    print(body)
    record(SECTION, body)


if __name__ == "__main__":
    main()
