"""Regenerate the models shipped in tagger/models/ from the labelled clips, with fixed seeds.

  python scripts/build_default_model.py --data ../shared/data/gtzan-part [--folds 5] [--configs a,b,...]

Steps:
1. `trainer compare --folds K` over the grid (runs in --work/cv, resumable): every configuration trained on
   every fold, every track tested once, statistics over the pooled tracks;
2. the classical SVM baseline on the same folds, pooled the same way;
3. the winner is refit on all tracks (`trainer refit`) and exported as `default.onnx`; the best
   configuration of the scratch CNN, refit the same way, as `fast.onnx` for small devices (kept as it is
   when --configs names no scratch configuration); both also as INT8 copies. Windows per track: the
   fewest whose pooled top-1 is within WINDOW_TOLERANCE of the best count's (fewer windows, faster scans).
   The default is then given the broad genre Electronic (export/broad_genres.py), its gate fitted on the
   labelled tracks alone, where its embedding is musicnn's pretrained one;
4. the model card (MODEL_CARD.md) with the confusion matrix of the winner's pooled test tracks, and its
   calibration: reliability diagram and precision against coverage (calibration.png).

The training recipe is TrainConfig's defaults, which scripts/ablate.py chose for the scratch CNN; its
table (runs/ablations/ablations.md) goes into the card when present.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ood_signals  # noqa: E402  (beside this script)
import pooling_probe  # noqa: E402

from benchmarks import bench_ood, bench_windows  # noqa: E402
from export.broad_genres import give_broad_genres, recipes, reference_files  # noqa: E402
from export.onnx_export import export_checkpoint  # noqa: E402
from export.tag_agreement import give_tag_agreement  # noqa: E402
from tagger.calibration import Calibration  # noqa: E402
from tagger.graph_edit import GraphEditError  # noqa: E402
from tagger.model import GenreModel  # noqa: E402
from trainer import calibrate, compare, metrics, plots, stats  # noqa: E402
from trainer.audio_params import AudioParams  # noqa: E402
from trainer.baseline import fit_and_score  # noqa: E402
from trainer.config import TrainConfig  # noqa: E402
from trainer.data.prepare import cross_validation_splits, prepare  # noqa: E402
from trainer.refit import pooled_window_sweep, refit  # noqa: E402
from trainer.run_dir import METRICS, read_json  # noqa: E402
from trainer.train import WINDOW_TOLERANCE  # noqa: E402

MODELS = ROOT / "tagger" / "models"
ABLATIONS = ROOT / "runs" / "ablations" / "ablations.md"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
HEAD_FEATURES_SECTION = "Head features for the default (issue 28)"  # trainer compare's table in RESULTS
LICENSE_NOTICE = ROOT / "trainer" / "backbones" / "musicnn_msd.LICENSE"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def relative(path: Path) -> str:
    """``path`` as the card shows it: relative to the repository, never this machine's absolute path."""
    return os.path.relpath(path.resolve(), ROOT)


def baseline_on_folds(base: TrainConfig, splits: list, replicates: int) -> dict:
    """The SVM on the same folds (C and gamma tuned inside each fold's training tracks), pooled."""
    sample_rate = AudioParams().sample_rate
    tracks, correct = [], []
    for split in splits:
        data = prepare(base, sample_rate, lambda _: None, split)
        result = fit_and_score(data, sample_rate, log, seed=base.split_seed)
        tracks += [track.id for track in data.sides["test"].tracks]
        correct += list(result["test_predictions"] == data.sides["test"].targets.argmax(1))
    hits = np.array(correct)[np.argsort(tracks, kind="stable")]
    weights = stats.bootstrap_weights(np.array(sorted(tracks)), replicates, 0)
    return {"top1_accuracy": float(hits.mean()), "top1_interval": stats.mean_interval(hits, weights),
            "tracks": len(tracks)}


def ship(name: str, comparison: dict, work: Path, shipped_as: str) -> dict:
    """Refit a compared configuration on all tracks and export it (float32 and INT8) as ``shipped_as``."""
    unit = Path(comparison["configurations"][name]["runs"][0])
    run = work / f"final-{name}"
    if not (run / METRICS).is_file():
        refit(unit, run, log)
    sweep = pooled_window_sweep([read_json(fold / METRICS) for fold in compare.fold_runs(unit)])
    report = export_checkpoint(run, MODELS / f"{shipped_as}.onnx", quantize="int8",  # windows: the refit's choice
                               model_version=f"gtzan-part-{name}-{time.strftime('%Y%m%d')}")
    export_lines = [line.replace(f"{ROOT}{os.sep}", "") for line in report.lines()]  # no machine's paths in the card
    return {"name": name, "unit": unit, "run": run, "sweep": sweep, "windows": report.inference_windows,
            "export": export_lines}


def speed(path: Path) -> float:
    """Milliseconds of model work per window on one thread."""
    model = GenreModel(path, threads=1)
    windows = np.zeros((model.info.inference_windows, model.info.window_samples), np.float32)
    model.predict(windows)
    started = time.perf_counter()
    for _ in range(20):
        model.predict(windows)
    return (time.perf_counter() - started) / 20 / len(windows) * 1000


def ablation_section() -> list[str]:
    """The ablation study's tables, one heading level down, if the study has been run here."""
    if not ABLATIONS.is_file():
        return []
    text = ABLATIONS.read_text().replace("\n# ", "\n### ").replace("\n## ", "\n### ")
    text = "### " + text.removeprefix("# ")
    return ["## How the scratch CNN's recipe was chosen", "",
            "`python scripts/ablate.py --parallel 13` (each change alone against the seed's recipe, then the "
            "changes that helped, combined; split seeds 1-5):", "", text.strip(), ""]


def model_section(title: str, shipped: dict, shipped_as: str, comparison: dict) -> list[str]:
    model = GenreModel(MODELS / f"{shipped_as}.onnx")
    int8 = MODELS / f"{shipped_as}.int8.onnx"
    chosen = comparison["configurations"][shipped["name"]]
    final = read_json(shipped["run"] / METRICS)
    sweep = " | ".join(f"{count}: {top1:.3f}" for count, top1 in shipped["sweep"].items())
    windows_table = results_section(bench_windows.section(f"{shipped_as}.onnx"))
    return [
        f"## {title}: `{shipped_as}.onnx`",
        "",
        f"Configuration `{shipped['name']}` ({json.dumps(compare.GRID[shipped['name']])}), "
        f"model id `{model.info.model_id}`, version `{model.info.model_version}`, {model.info.sample_rate} Hz "
        f"input in windows of {model.info.window_seconds:g} s, {chosen['trainable_parameters']:,} learning parameters.",
        f"- Cross-validated ({comparison['folds']} folds, {comparison['test_tracks']} tracks, each tested once): "
        f"top-1 {stats.with_interval(chosen['top1_accuracy'], chosen['top1_interval'])}, weighted F1 "
        f"{stats.with_interval(chosen['weighted_f1'], chosen['weighted_f1_interval'])}.",
        "- Refit on all tracks"
        + (f" for {final['epochs']} epochs (the folds kept {final['cross_validation']['kept_epochs']})"
           if "epochs" in final else f" (a logistic head, C {final['regularisation']:g})")
        + (f", after {final['probe_best_epoch']} epochs of probing the head on the frozen backbone"
           if "probe_best_epoch" in final else "")
        + "; thresholds tuned on the pooled out-of-fold probabilities: "
        + ", ".join(f"{label} {value:.2f}" for label, value in final["thresholds"].items()) + ".",
        f"- Windows per track: {shipped['windows']} (pooled top-1 by windows per track: {sweep}; the fewest "
        f"within {WINDOW_TOLERANCE} of the best)" + ("; against measured scan speed, "
                                                     "`benchmarks/bench_windows.py` (benchmarks/RESULTS.md):"
                                                     if windows_table else "."),
        *(["", windows_table, ""] if windows_table else []),
        f"- Size and speed: {(MODELS / f'{shipped_as}.onnx').stat().st_size / 1024:.0f} KiB, "
        f"{speed(MODELS / f'{shipped_as}.onnx'):.1f} ms per window on one thread (this machine)"
        + (f"; INT8 copy `{int8.name}`: {int8.stat().st_size / 1024:.0f} KiB, {speed(int8):.1f} ms per window"
           if int8.is_file() else "") + ".",
        "",
        "Export check:", "", "```", *shipped["export"], "```", "",
    ]


def calibration_section(default: dict, pooled: dict) -> list[str]:
    """How far the default's probabilities can be trusted (``pooled``: its configuration's out-of-fold
    tracks), and the --min-confidence default it records."""
    targets, raw = pooled["targets"], pooled["probabilities"]
    calibrated = calibrate.cross_fitted(targets, raw, pooled["fold_of_track"])
    before, after = calibrate.top_confidence(targets, raw), calibrate.top_confidence(targets, calibrated)
    shipped = Calibration.from_dict(read_json(default["run"] / METRICS)["calibration"])
    curve = calibrate.precision_coverage(*after)
    plots.plot_calibration(calibrate.reliability(*after), curve, shipped.min_confidence, MODELS / "calibration.png",
                           f"{default['name']}: pooled test tracks, each fold calibrated without its own tracks")
    shown = sorted({0.0, 0.3, 0.5, 0.7, 0.9, shipped.min_confidence or 0.0})
    rows = [row for row in curve if row["min_confidence"] in shown]
    return [
        "## Calibration and --min-confidence",
        f"- One temperature, {shipped.temperature:.3g}, fitted on {shipped.fitted_on}, rescales the default's "
        "averaged probabilities (sigmoid(logit(p) / T)); the model file records it and the tagger applies it, "
        "so thresholds and `--min-confidence` are on calibrated probabilities. It never changes the top genre.",
        "- Below, each fold's tracks are calibrated by a temperature fitted on the other folds' tracks, so the "
        "figures do not flatter: expected calibration error of the top genre's probability "
        f"{calibrate.expected_calibration_error(*before):.3f} before, "
        f"{calibrate.expected_calibration_error(*after):.3f} after.",
        "- The probabilities were fitted on averages over every window of a clip; the tagger averages fewer, "
        "which makes its probabilities a little more extreme than these.",
        f"- `--min-confidence` default: **{shipped.min_confidence or 0:g}**, the minimum with the most "
        "right-minus-wrong tags on the pooled tracks (a wrong genre costs as much as a missing one). Below it "
        "a scan writes nothing and reports the file `uncertain`; `--min-confidence 0` always writes.",
        "",
        "| --min-confidence | tracks tagged | top genre right among them | right minus wrong |",
        "| --- | --- | --- | --- |",
        *(f"| {row['min_confidence']:g} | {row['coverage']:.2f} | {row['precision']:.3f} | {row['net_correct']} |"
          for row in rows),
        "",
        "![reliability and precision against coverage](calibration.png)",
        "",
    ]


def broad_genre_section(shipped_as: str) -> list[str]:
    """What the model does with music outside its genres: the broad genres it was given
    (export/broad_genres.py), its tag agreement (export/tag_agreement.py), and the measurements."""
    info = GenreModel(MODELS / f"{shipped_as}.onnx").info
    lines = []
    for recipe in recipes(info):
        lines += [
            f"## Broad genre `{recipe.name}`: music outside the ten",
            f"- `{shipped_as}.onnx` also names **{recipe.name}**, from musicnn's own Last.fm tags "
            f"({', '.join(recipe.tags)}: the five of its 50 tags that name electronic genres). Per window "
            f"e = sigmoid((tag sum - {recipe.cut:g}) / {recipe.width:g}) is its probability and the trained "
            "genres' probabilities are multiplied by 1 - e, so the one decision rule chooses: clearly "
            "electronic music is tagged Electronic, borderline music falls below `--min-confidence`.",
            f"- The cut was fitted on {recipe.fitted_on} alone (none of them electronic): the lowest at which "
            f"at most {1 - recipe.keep:.0%} of them would be given Electronic ({recipe.reference_share:.1%} "
            "are). No music outside the ten was used to fit anything. The tag family was picked by name, but "
            "after seeing on the development set below that adding ambient, chillout and experimental made "
            "orchestral music Electronic: read that set's figures as a check, not an unbiased estimate.",
            "- Validated on: the trained genres' out-of-fold tracks (what Electronic takes from them) and the "
            "development set of free game music (`scripts/fetch_ood_set.py`: labelled by package, not by "
            "listening). Nothing labelled Electronic by a person was available.",
            "- Why no other broad genre: of musicnn's tags that name a genre outside the ten, folk, punk, soul, "
            "rnb and funk are neighbours of trained genres (country, rock and metal, blues, pop, disco), so a "
            "gate for one would take tracks from a trained genre that GTZAN's single labels cannot call right or "
            "wrong, and no labelled music of theirs was at hand to measure it; ambient, chillout and "
            "experimental fire on orchestral music (the development set, below). Electronic overlaps the "
            "ten least (disco's dance music aside) and was what the ten-genre model mislabelled most.",
            "",
        ]
    if agreement := info.tag_agreement:
        doubted = ", ".join(f"{label} ({' + '.join(tags)})" for label, tags in agreement["families"].items())
        spared = [label for label in info.labels if label not in agreement["families"] and label not in
                  info.broad_genres]
        lines += [
            "## Tag agreement: doubt a genre the network's own tags do not support",
            f"- Per window, the trained genre the head finds most probable is checked against musicnn's tags "
            f"that name it: {doubted}. With s their summed probability, the trained genres' probabilities are "
            f"multiplied by sigmoid((s - {agreement['cut']:g}) / {agreement['width']:g}), so music whose tags do "
            "not say what the head says falls below `--min-confidence` and is left `uncertain`. No tag names "
            f"{' or '.join(spared) or 'another trained genre'}: never doubted.",
            f"- The cut was fitted on {agreement['fitted_on']} alone: the highest at which at most "
            f"{1 - agreement['keep']:.0%} of the tracks the model tags lose or change their genre by it "
            f"({agreement['reference_share']:.1%} do), each decided by the model's own rule; it acts through "
            "`--min-confidence` (`--min-confidence 0` always writes the top genre). The families were "
            "chosen by name after seeing, on the development set below, which tags the files the default "
            "wrongly called blues or country lacked: read that set's figures as a check, not an unbiased "
            "estimate. `benchmarks/bench_ood.py` refits the cut on each fold's training tracks for the "
            "out-of-fold gtzan-part row.",
            "",
        ]
    if lines and (table := results_section(bench_ood.SECTION)):
        lines += ["`python benchmarks/bench_ood.py` (benchmarks/RESULTS.md; `default-COMMIT` names the shipped "
                  "default of that commit):", "", table, ""]
    if lines and (signals := results_section(ood_signals.SECTION)):
        lines += ["The signals measured before the tag agreement was built, each threshold set on gtzan-part "
                  "alone (benchmarks/RESULTS.md):", "", signals, "",
                  "None of them ships as a gate: those that flag most of the chiptune set flag GTZAN's classical "
                  "clips too (an abstention on real classical music), and those that spare classical flag under "
                  "a third of it. The chiptune files the default calls classical are ones the network's own tags "
                  "do not call electronic either (they say instrumental, jazz, rock; the set is labelled by "
                  "package, not by listening, so some of them may not be electronic music at all): in the "
                  "network's view they lie among GTZAN's classical clips, and the tag agreement cannot doubt "
                  "classical, which no tag names.", ""]
    return lines


def results_section(title: str) -> str | None:
    """The body of the section ``## title`` of benchmarks/RESULTS.md, when it was measured."""
    text, heading = (RESULTS.read_text() if RESULTS.is_file() else ""), f"\n## {title}\n"
    return text.split(heading, 1)[1].split("\n## ", 1)[0].strip() if heading in text else None


def head_features_section() -> list[str]:
    """The comparisons of what the default's linear head reads and how it is fitted (issue 28), when run."""
    table, pooling = results_section(HEAD_FEATURES_SECTION), results_section(pooling_probe.SECTION)
    lines = [] if table is None else [
        "## What the head reads: embedding, tags or both, and how it is fitted", "",
        "The same folds and recipe, a second `trainer compare` (benchmarks/RESULTS.md):", "", table, ""]
    if pooling is not None:
        lines += ["Pooling a track's windows before the head, research with one head fit for every view "
                  "(benchmarks/RESULTS.md):", "", pooling, "",
                  "Mean and std pooling gains about as much as the fold seeds move the figure, so the model file "
                  "keeps its per-window contract (a track's probabilities the mean of its windows').", ""]
    return lines


def kept_model_section(title: str, shipped_as: str) -> list[str]:
    """A shipped model this build did not retrain, described by its own metadata."""
    path = MODELS / f"{shipped_as}.onnx"
    info = GenreModel(path).info
    return [
        f"## {title}: `{shipped_as}.onnx` (not rebuilt: no scratch configuration in this build's grid)",
        "",
        f"Model id `{info.model_id}`, version `{info.model_version}`, {info.sample_rate} Hz input in windows of "
        f"{info.window_seconds:g} s, {info.inference_windows} per track; {path.stat().st_size / 1024:.0f} KiB, "
        f"{speed(path):.1f} ms per window on one thread. Trained on {info.training_data}; its held-out figures: "
        f"{json.dumps(info.metrics, sort_keys=True)}.",
        "",
    ]


def model_card(args, comparison: dict, default: dict, fast: dict | None, baseline: dict) -> str:
    pooled = compare.load_pooled(default["unit"])
    report = metrics.evaluate(pooled["targets"], pooled["probabilities"], pooled["thresholds"], pooled["labels"])
    plots.plot_confusion(metrics.top1_confusion(pooled["targets"], pooled["probabilities"]), pooled["labels"],
                         MODELS / "confusion.png", f"{default['name']}: pooled test tracks, top-1")
    configurations = len(comparison["configurations"])
    lines = [
        "# Shipped genre models",
        "",
        "`tagger scan` uses `default.onnx`; `--model fast` picks `fast.onnx`, the scratch CNN, for small devices.",
        "",
        "## Data and its limits",
        f"- `{args.data.name}`: {comparison['test_tracks']} real 30-second excerpts of GTZAN (Tzanetakis & Cook, "
        "2002), 10 genres, 7 to 11 clips each. Single label per clip, treated as multi-label with one positive.",
        "- Small: read the intervals, not the point estimates. GTZAN has repeated artists (the folds are by "
        "track, as the data names no artists, so a fold's test tracks may share an artist with its training "
        "tracks) and some mislabelled clips, and its 10 genres are a narrow view of music.",
        "- GTZAN carries no copyright clearance: the models are for research and testing.",
        "",
        "## How the default was chosen",
        f"`python scripts/build_default_model.py --data {relative(args.data)} --folds {args.folds} "
        f"--epochs {args.epochs}` "
        f"(fixed seeds): {configurations} configurations, each trained on every one of {args.folds} folds "
        "stratified by genre, every track tested exactly once; the statistics run over all pooled tracks. "
        "Every configuration uses the recipe's settings (TrainConfig's defaults) but for what its entry in "
        "`trainer compare`'s grid changes; nothing was tuned per configuration on these tracks:",
        "",
        *(f"- `{name}`: `{json.dumps(compare.GRID[name])}`" for name in comparison["configurations"]),
        "",
        compare.markdown(comparison).split("\n", 2)[2].strip(),
        "",
        f"SVM baseline (MFCC, chroma, contrast; C and gamma tuned inside each fold's training tracks) on the same "
        f"folds: top-1 {stats.with_interval(baseline['top1_accuracy'], baseline['top1_interval'])}. Chance: 0.100.",
        "",
        f"**Forecast.** The winner was picked among {configurations} configurations on these same pooled tracks, "
        "which flatters its figure a little; the refit model saw all tracks, more than any fold's model. "
        "On music like GTZAN's expect about its cross-validated top-1, give or take its interval; on other "
        "music, with other recording styles and genres outside these ten, expect less.",
        "",
        "Per class, the default's configuration on the pooled test tracks (each decided by its own fold's "
        "thresholds):",
        "",
        "```",
        report["classification_report"].rstrip(),
        "```",
        "",
        "![confusion matrix](confusion.png)",
        "",
        *head_features_section(),
        *calibration_section(default, pooled),
        *broad_genre_section("default"),
        *model_section("Default model", default, "default", comparison),
        *(model_section("Fast model", fast, "fast", comparison) if fast else kept_model_section("Fast model", "fast")),
    ]
    if "musicnn" in default["name"] or (fast and "musicnn" in fast["name"]):
        lines += [
            "## Pretrained part",
            "musicnn's network (Pons & Serra, Music Technology Group, Universitat Pompeu Fabra, 2019), trained on "
            "the Million Song Dataset's 50 most frequent Last.fm tags; weights from the PyPI package "
            "`musicnn==0.1.0`, converted by `scripts/convert_musicnn.py`. Its licence notice travels inside the "
            "model file (`tagger info` prints it):",
            "",
            "```",
            LICENSE_NOTICE.read_text().strip(),
            "```",
            "",
        ]
    lines += ablation_section()
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "gtzan-part")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "default-model")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--configs", default=",".join(compare.DEFAULT_CONFIGS))
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs, help="the recipe's unless a quick check")
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    base = TrainConfig(data=str(args.data), out=str(args.work), threads=args.threads, epochs=args.epochs)
    splits = cross_validation_splits(base, args.folds, log)
    names = args.configs.split(",")
    given = frozenset({"epochs"} if args.epochs != TrainConfig.epochs else set())  # a quick check's epochs win
    candidates = compare.train_grid(base, args.work / "cv", names, 1, log, splits, given)
    comparison = compare.compare_candidates(candidates, args.bootstrap, args.bootstrap)
    compare.write_outputs(comparison, args.work / "cv")
    scratch = [name for name in names if compare.GRID[name]["backbone"] == "scratch"]
    if not scratch and not (MODELS / "fast.onnx").is_file():
        raise SystemExit("the grid needs a scratch configuration: there is no fast model to keep")
    MODELS.mkdir(parents=True, exist_ok=True)
    default = ship(comparison["winner"]["name"], comparison, args.work, "default")
    try:
        give_broad_genres(MODELS / "default.onnx", reference_files(args.data))
        give_tag_agreement(MODELS / "default.onnx", reference_files(args.data))
    except GraphEditError as error:
        log(f"default.onnx names no broad genre and doubts no genre: {error}")
    fast = None
    if scratch:
        best = max(scratch, key=lambda name: comparison["configurations"][name]["weighted_f1_bootstrap_mean"])
        fast = ship(best, comparison, args.work, "fast")
    else:
        log("no scratch configuration in the grid: fast.onnx is kept as it is")
    baseline = baseline_on_folds(base, splits, args.bootstrap)
    card = model_card(args, comparison, default, fast, baseline)
    (MODELS / "MODEL_CARD.md").write_text(card)
    (args.work / "baseline.json").write_text(json.dumps(baseline, indent=1))
    print(card)


if __name__ == "__main__":
    main()
