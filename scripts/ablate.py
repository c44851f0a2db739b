"""Ablation study: which training changes improve genre accuracy on tracks the model never saw?

  python scripts/ablate.py --data ../shared/data/gtzan-part --parallel 8

Every variant changes ONE thing against the baseline recipe (attention, weighted BCE, plateau schedule,
time shift only) and is trained on several track-level splits (split seeds 1..5 by default: NOT the
split of the shipped model, whose test tracks stay out of every decision made here). A variant is judged
by its top-1 accuracy pooled over the held-out test tracks of all splits, paired track by track with the
baseline (McNemar's exact test). Then the variants that helped are combined and trained once more on
the same splits, because gains measured one at a time need not add up; a second combination leaves the
model's width as it was, because width is the one change that costs time at inference.

Runs are resumable (a run with metrics.json is reused); the tables go to WORK/ablations.md and .json.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer import metrics as quality  # noqa: E402
from trainer import stats  # noqa: E402
from trainer.config import TrainConfig  # noqa: E402
from trainer.run_dir import METRICS, read_json  # noqa: E402

# The seed's recipe with every option of this study switched off (explicit, so that changing the
# trainer's defaults later does not change what "baseline" means here).
BASELINE = {"attention": True, "loss": "bce", "lr_schedule": "plateau", "label_smoothing": 0.0, "time_shift": True,
            "gain_db": 0.0, "noise_probability": 0.0, "mix_probability": 0.0, "channels": (16, 32, 64), "hidden": 64}
# name -> (group, overrides). Variants of one group exclude each other; the combination takes the best.
VARIANTS: dict[str, tuple[str, dict]] = {
    "no-time-shift": ("time shift", {"time_shift": False}),
    "gain-6dB": ("gain", {"gain_db": 6.0}),
    "noise": ("noise", {"noise_probability": 0.5}),
    "mix-same-genre": ("mixing", {"mix_probability": 0.5}),
    "narrow-8-16-32": ("width", {"channels": (8, 16, 32), "hidden": 32}),
    "wide-32-64-128": ("width", {"channels": (32, 64, 128), "hidden": 128}),
    "label-smoothing-0.1": ("label smoothing", {"label_smoothing": 0.1}),
    "cosine-lr": ("schedule", {"lr_schedule": "cosine"}),
    "onecycle-lr": ("schedule", {"lr_schedule": "onecycle"}),
}
COMBINED = "combined"
COMBINED_SAME_WIDTH = "combined-same-width"
INFERENCE_COST_GROUP = "width"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _train_one(config: TrainConfig) -> str:
    """Worker: one training run, its log in the run directory."""
    from trainer.train import train

    run = Path(config.out)
    run.mkdir(parents=True, exist_ok=True)
    with open(run / "train.log", "w") as stream:
        train(config, lambda message: print(message, file=stream, flush=True))
    return config.out


def train_all(configs: list[TrainConfig], parallel: int) -> None:
    pending = [c for c in configs if not (Path(c.out) / METRICS).is_file()]
    log(f"{len(configs) - len(pending)} runs reused, {len(pending)} to train, {parallel} at a time")
    if parallel == 1:
        for config in pending:
            log(f"done {_train_one(config)}")
        return
    with ProcessPoolExecutor(parallel, mp_context=get_context("spawn")) as pool:
        for out in pool.map(_train_one, pending):
            log(f"done {out}")


def run_configs(base: TrainConfig, work: Path, name: str, overrides: dict, splits: list[int]) -> list[TrainConfig]:
    return [replace(base, **{**BASELINE, **overrides}, split_seed=k, seed=k, out=str(work / name / f"split{k}"))
            for k in splits]


def load_variant(work: Path, name: str, splits: list[int]) -> dict:
    """Per-split held-out figures and the pooled per-track top-1 hits of one variant."""
    runs = [read_json(work / name / f"split{k}" / METRICS) for k in splits]
    hits = np.concatenate([quality.top1_hits(np.array(r["test_targets"]), np.array(r["test_track_probabilities"]))
                           for r in runs])
    return {
        "test_top1": [r["test"]["track"]["top1_accuracy"] for r in runs],
        "test_weighted_f1": [r["test"]["track"]["weighted"]["f1"] for r in runs],
        "val_top1": [r["validation_track"]["top1_accuracy"] for r in runs],
        "by_window_count": {count: float(np.mean([r["test_track_by_window_count"][count]["top1_accuracy"]
                                                   for r in runs]))
                            for count in runs[0]["test_track_by_window_count"]},
        "epochs": [r["epochs"] for r in runs],
        "hits": hits,
    }


def judge(variant: dict, baseline: dict, replicates: int = 2000) -> dict:
    """Pooled top-1 difference against the baseline on the same tracks, with a bootstrap interval."""
    difference = variant["hits"].astype(float) - baseline["hits"]
    weights = stats.bootstrap_weights(np.arange(len(difference)), replicates, 0)
    return {
        "pooled_top1": float(variant["hits"].mean()),
        "delta": float(difference.mean()),
        "delta_interval": stats.mean_interval(difference, weights),
        "mcnemar_p": stats.mcnemar_p(variant["hits"], baseline["hits"]),
    }


def combination(judged: dict[str, dict], leave_out: str | None = None) -> dict:
    """Overrides of every group (but ``leave_out``) whose best variant raised pooled top-1."""
    best_of_group: dict[str, tuple[float, str]] = {}
    for name, (group, _) in VARIANTS.items():
        if name in judged and judged[name]["delta"] > 0 and group != leave_out:
            best_of_group[group] = max(best_of_group.get(group, (-1.0, "")), (judged[name]["delta"], name))
    merged: dict = {}
    for _, name in best_of_group.values():
        merged.update(VARIANTS[name][1])
    return merged


def table(results: dict[str, dict], judged: dict[str, dict], splits: list[int], combinations: dict[str, dict]) -> str:
    lines = [
        f"# Ablations: top-1 accuracy on held-out test tracks of {len(splits)} splits "
        f"(split seeds {', '.join(map(str, splits))})",
        "",
        f"Pooled over {len(results['baseline']['hits'])} test-track predictions per variant (each split's test "
        "tracks are unseen by that split's model). Δ is against the baseline on the same tracks, with a 95 % "
        "bootstrap interval; McNemar's exact test pairs the tracks.",
        "",
        "| variant | changes | pooled top-1 | Δ top-1 [95 % CI] | McNemar p | test top-1 per split | "
        "mean weighted F1 | mean val top-1 | epochs |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, result in results.items():
        overrides = VARIANTS[name][1] if name in VARIANTS else combinations.get(name, {})
        changes = ", ".join(f"{k}={v}" for k, v in overrides.items()) or "seed recipe"
        j = judged.get(name)
        delta = (f"{j['delta']:+.3f} [{j['delta_interval'][0]:+.3f}, {j['delta_interval'][1]:+.3f}]" if j else "")
        mcnemar = f"{j['mcnemar_p']:.3f}" if j else ""
        lines.append(
            f"| {name} | {changes} | {result['hits'].mean():.3f} | {delta} | {mcnemar} "
            f"| {' '.join(f'{v:.2f}' for v in result['test_top1'])} | {np.mean(result['test_weighted_f1']):.3f} "
            f"| {np.mean(result['val_top1']):.3f} | {np.mean(result['epochs']):.0f} |"
        )
    counts = results["baseline"]["by_window_count"]
    lines += ["", "## Windows per track at inference (mean test top-1 over splits)", "",
              "| variant | " + " | ".join(f"{count} windows" for count in counts) + " |",
              "| --- |" + " --- |" * len(counts)]
    lines += [f"| {name} | " + " | ".join(f"{v:.3f}" for v in results[name]["by_window_count"].values()) + " |"
              for name in ("baseline", *combinations) if name in results]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "gtzan-part")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "ablations")
    parser.add_argument("--splits", default="1,2,3,4,5", help="Split seeds (comma-separated).")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--parallel", type=int, default=1, help="Trainings at a time.")
    parser.add_argument("--threads", type=int, default=1, help="Torch CPU threads per training.")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cache-dir", type=str, default=None)
    parser.add_argument("--variants", help="Comma-separated subset of variants [default: all].")
    parser.add_argument("--no-combined", action="store_true", help="Stop after the single-change variants.")
    args = parser.parse_args()
    splits = [int(k) for k in args.splits.split(",")]
    names = args.variants.split(",") if args.variants else list(VARIANTS)
    base = TrainConfig(data=str(args.data), out="", epochs=args.epochs, threads=args.threads, device=args.device,
                       cache_dir=args.cache_dir)
    configs = [c for name in ["baseline", *names]
               for c in run_configs(base, args.work, name, {} if name == "baseline" else VARIANTS[name][1], splits)]
    train_all(configs, args.parallel)
    results = {name: load_variant(args.work, name, splits) for name in ["baseline", *names]}
    judged = {name: judge(results[name], results["baseline"]) for name in names}
    combinations = {COMBINED: combination(judged), COMBINED_SAME_WIDTH: combination(judged, INFERENCE_COST_GROUP)}
    improved_groups = {VARIANTS[name][0] for name in names if judged[name]["delta"] > 0}
    if args.no_combined or len(improved_groups) < 2:
        combinations = {}
    train_all([c for name, overrides in combinations.items()
               for c in run_configs(base, args.work, name, overrides, splits)], args.parallel)
    for name in combinations:
        results[name] = load_variant(args.work, name, splits)
        judged[name] = judge(results[name], results["baseline"])
    report = table(results, judged, splits, combinations)
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "ablations.md").write_text(report)
    (args.work / "ablations.json").write_text(json.dumps(
        {"splits": splits, "baseline": BASELINE, "variants": {n: VARIANTS[n][1] for n in names},
         "combinations": combinations, "judged": judged,
         "results": {n: {k: v for k, v in r.items() if k != "hits"} for n, r in results.items()}},
        indent=1, default=list))
    print(report)


if __name__ == "__main__":
    main()
