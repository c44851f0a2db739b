"""Regenerate the default model shipped in tagger/models/ from the labelled clips, with fixed seeds.

  python scripts/build_default_model.py --data ../shared/data/gtzan-part

The training recipe is TrainConfig's defaults, which scripts/ablate.py chose; its table (runs/ablations/
ablations.md) goes into the card when present.

Steps: `trainer compare` over the seed's grid on one track-level split (runs in --work, resumable) ->
the classical SVM baseline on the same split -> export of the winner (float32 and INT8) into
tagger/models/ -> the model card (MODEL_CARD.md) and confusion matrix next to it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from export.onnx_export import export_checkpoint  # noqa: E402
from tagger.model import DEFAULT_INFERENCE_WINDOWS, GenreModel  # noqa: E402
from trainer import stats  # noqa: E402
from trainer.audio_params import AudioParams  # noqa: E402
from trainer.baseline import fit_and_score  # noqa: E402
from trainer.compare import compare_candidates, markdown, train_grid, write_outputs  # noqa: E402
from trainer.config import TrainConfig  # noqa: E402
from trainer.data.prepare import prepare  # noqa: E402
from trainer.data.split import Split  # noqa: E402
from trainer.run_dir import CONFIG, CONFUSION, METRICS, SPLIT, read_json  # noqa: E402

MODELS = ROOT / "tagger" / "models"
# The seed's grid of scratch CNNs that chose the shipped model (issue 13 replaces this with a cross-validated
# choice that includes the pretrained backbone).
SEED_GRID = ("scratch-attention", "scratch-attention-focal", "scratch-plain", "scratch-plain-focal")
ABLATIONS = ROOT / "runs" / "ablations" / "ablations.md"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def baseline_on_split(run: Path, replicates: int) -> dict:
    """The SVM on the winner's exact split, with a bootstrap interval of its top-1 accuracy."""
    config = TrainConfig.from_dict(read_json(run / CONFIG))
    saved = read_json(run / SPLIT)
    sample_rate = AudioParams().sample_rate  # the rate the CNN runs were trained at
    data = prepare(config, sample_rate, lambda _: None, Split(saved["train"], saved["val"], saved["test"]))
    result = fit_and_score(data, sample_rate, log, seed=config.split_seed)
    correct = result["test_probabilities"].argmax(1) == data.sides["test"].targets.argmax(1)
    groups = np.array([track.id for track in data.sides["test"].tracks])
    samples = stats.bootstrap_indices(groups, replicates, 0)
    result["top1_interval"] = stats.mean_interval(correct, samples)
    result.pop("test_probabilities")
    return result


def speed(path: Path) -> float:
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
    return ["## How the recipe was chosen", "",
            "`python scripts/ablate.py --parallel 13` (each change alone against the seed's recipe, then the "
            "changes that helped, combined; split seeds 1-5, never the shipped model's split 0):", "", text.strip(), ""]


def selection_caveat(shipped_top1: float) -> list[str]:
    """The shipped figure is the best of four configurations on the same 16 tracks, so it flatters; the
    ablation study's pooled figure over five other splits is the better forecast for unseen music."""
    summary = ABLATIONS.with_suffix(".json")
    if not summary.is_file():
        return []
    combined = json.loads(summary.read_text())["judged"].get("combined")
    if combined is None:
        return []
    return [
        "",
        f"**Read this before quoting {shipped_top1:.2f}.** The winner was picked among four configurations by "
        "these same test tracks, which flatters it. The better forecast for unseen music is the ablation "
        f"study's: the same recipe (with attention) reached **{combined['pooled_top1']:.3f} top-1** pooled over "
        "80 test tracks of five other splits, against 0.10 for chance and "
        f"{combined['pooled_top1'] - combined['delta']:.3f} for the seed's recipe. That figure is not clean "
        "either: which changes to combine was decided on the same splits. Expect roughly 0.5 to 0.6 on music "
        "like GTZAN's, and less on other music.",
        "",
    ]


def relative(path: Path) -> str:
    """``path`` as the card shows it: relative to the repository, never this machine's absolute path."""
    return os.path.relpath(path.resolve(), ROOT)


def model_card(args, comparison: dict, winner_run: Path, baseline: dict, export_lines: list[str]) -> str:
    metrics = read_json(winner_run / METRICS)
    config = read_json(winner_run / CONFIG)
    split = read_json(winner_run / SPLIT)
    track = metrics["test"]["track"]
    chosen = comparison["configurations"][comparison["winner"]["name"]]
    model = GenreModel(MODELS / "default.onnx")
    int8 = MODELS / "default.int8.onnx"
    thresholds = ", ".join(f"{label} {value:.2f}" for label, value in metrics["thresholds"].items())
    lines = [
        "# Default genre model",
        "",
        f"`default.onnx` (model id `{model.info.model_id}`, version `{model.info.model_version}`): "
        f"{comparison['winner']['name']} SpectrogramCNN, {', '.join(model.info.genre_names)}.",
        "",
        "## Data and its limits",
        f"- `{args.data.name}`: 94 real 30-second excerpts of GTZAN (Tzanetakis & Cook, "
        "2002), 10 genres, 7 to 11 clips each. Single label per clip, treated as multi-label with one positive.",
        "- Small: the held-out test set has "
        f"{track['n']} tracks, so one track moves accuracy by {100 / track['n']:.0f} points; read the "
        "intervals, not the point estimates. GTZAN has repeated artists and some mislabelled clips, and its "
        "10 genres are a narrow view of music: expect mistakes on anything outside them.",
        "- GTZAN carries no copyright clearance: the model is for research and testing.",
        "",
        "## Split",
        f"Track-level, stratified by genre, split seed {split['seed']}: {len(split['train'])} training, "
        f"{len(split['val'])} validation (early stopping, learning-rate schedule, threshold tuning) and "
        f"{len(split['test'])} test tracks that neither training nor tuning saw. The track ids are in "
        f"`{relative(winner_run)}/split.json` after regeneration.",
        "",
        "## Training",
        f"`python scripts/build_default_model.py --data {relative(args.data)} --epochs {args.epochs} "
        f"--seeds {args.seeds}` "
        f"(fixed seeds). Winner's configuration: attention {config['attention']}, loss {config['loss']}, "
        f"learning rate {config['learning_rate']}, dropout {config['dropout']}, weight decay {config['weight_decay']}, "
        f"{metrics['epochs']} epochs ({metrics['seconds_per_epoch']} s each, device {config.get('device', 'cpu')}); "
        f"recipe: {config['channels']} channels, {config.get('lr_schedule', 'plateau')} learning-rate schedule, label "
        f"smoothing {config.get('label_smoothing', 0)}, augmentation gain ±{config.get('gain_db', 0)} dB, noise "
        f"{config.get('noise_probability', 0)}, same-genre mixing {config.get('mix_probability', 0)}. "
        f"The tagger analyses {DEFAULT_INFERENCE_WINDOWS} windows per track.",
        "",
        "## Held-out test metrics (track level: window probabilities averaged per track)",
        "",
        "| measure | CNN (shipped) | SVM baseline (MFCC, chroma, contrast) | chance | majority |",
        "| --- | --- | --- | --- | --- |",
        f"| top-1 accuracy | {stats.with_interval(track['top1_accuracy'], chosen['top1_interval'])} "
        f"| {stats.with_interval(baseline['test_top1_accuracy'], baseline['top1_interval'])} "
        f"| 0.100 | {max(np.bincount(np.array(metrics['test_targets']).argmax(1))) / track['n']:.3f} |",
        f"| weighted F1 | {stats.with_interval(track['weighted']['f1'], chosen['weighted_f1_interval'])} | | | |",
        f"| macro F1 | {stats.with_interval(track['macro']['f1'], chosen['macro_f1_interval'])} | | | |",
        f"| samples F1 | {track['samples']['f1']:.3f} | | | |",
        "",
        *selection_caveat(track["top1_accuracy"]),
        f"95 % intervals: {comparison['bootstrap_replicates']} bootstrap resamples of the test tracks. The SVM's "
        f"C and gamma were tuned by cross-validation on the training tracks only ({baseline['parameters']}).",
        "",
        "Per class on the test tracks:",
        "",
        "```",
        track["classification_report"].rstrip(),
        "```",
        "",
        "![confusion matrix](confusion.png)",
        "",
        "## Comparison of configurations",
        "",
        markdown(comparison).split("\n", 2)[2].strip(),
        "",
        *ablation_section(),
        "## Decision thresholds (tuned per genre on validation tracks)",
        thresholds,
        "",
        "## Size and speed",
        f"- `default.onnx`: {(MODELS / 'default.onnx').stat().st_size / 1024:.0f} KiB, "
        f"{speed(MODELS / 'default.onnx'):.1f} ms per 4 s window on one thread (this machine).",
    ]
    if int8.is_file():
        lines.append(f"- `default.int8.onnx` (CNN weights INT8, front end float): "
                     f"{int8.stat().st_size / 1024:.0f} KiB, {speed(int8):.1f} ms per window.")
    lines += ["", "Export check:", "", "```", *export_lines, "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "gtzan-part")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "default-model")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    base = TrainConfig(data=str(args.data), out=str(args.work), epochs=args.epochs, threads=args.threads)
    candidates = train_grid(base, args.work, list(SEED_GRID), args.seeds, log)
    comparison = compare_candidates(candidates, args.bootstrap, args.bootstrap)
    write_outputs(comparison, args.work)
    winner_run = Path(comparison["configurations"][comparison["winner"]["name"]]["runs"][0])
    log(f"winner: {winner_run}")
    baseline = baseline_on_split(winner_run, args.bootstrap)
    MODELS.mkdir(parents=True, exist_ok=True)
    report = export_checkpoint(winner_run, MODELS / "default.onnx", quantize="int8",
                               inference_windows=DEFAULT_INFERENCE_WINDOWS,
                               model_version=f"gtzan-part-{comparison['winner']['name']}-{time.strftime('%Y%m%d')}")
    shutil.copyfile(winner_run / CONFUSION, MODELS / "confusion.png")
    card = model_card(args, comparison, winner_run, baseline, report.lines())
    (MODELS / "MODEL_CARD.md").write_text(card)
    (args.work / "baseline.json").write_text(json.dumps(baseline, indent=1))
    print(card)


if __name__ == "__main__":
    main()
