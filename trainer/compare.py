"""`trainer compare`: train configurations on one shared split and compare them on the same test tracks."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from trainer import stats
from trainer.config import TrainConfig
from trainer.run_dir import METRICS, read_json, write_json

Log = Callable[[str], None]
# name -> (attention, loss); "simpler" means without attention.
DEFAULT_GRID = {
    "attention-bce": (True, "bce"),
    "attention-focal": (True, "focal"),
    "plain-bce": (False, "bce"),
    "plain-focal": (False, "focal"),
}
SIGNIFICANCE = 0.05


@dataclass
class Candidate:
    name: str
    runs: list[Path]  # one per seed; the first is the one bootstrapped
    attention: bool | None = None


def train_grid(base: TrainConfig, out: Path, names: list[str], seeds: int, log: Log) -> list[Candidate]:
    """Train each configuration ``seeds`` times (seed, seed+1, ...) on the split of ``base.split_seed``.

    A run whose metrics.json exists is reused, so an interrupted comparison resumes where it stopped.
    """
    from trainer.train import train

    candidates = []
    for name in names:
        attention, loss = DEFAULT_GRID[name]
        runs = []
        for k in range(seeds):
            run = out / f"{name}-seed{base.seed + k}"
            if not (run / METRICS).is_file():
                log(f"== training {run.name}")
                train(replace(base, attention=attention, loss=loss, seed=base.seed + k, out=str(run)), log)
            runs.append(run)
        candidates.append(Candidate(name, runs, attention))
    return candidates


def _load(run: Path) -> dict:
    metrics = read_json(run / METRICS)
    return {
        "tracks": metrics["test_tracks"],
        "groups": np.array(metrics.get("test_groups") or metrics["test_tracks"]),
        "probabilities": np.array(metrics["test_track_probabilities"]),
        "targets": np.array(metrics["test_targets"], dtype=np.int64),
        "thresholds": np.array([metrics["thresholds"][label] for label in metrics["labels"]]),
        "weighted_f1": metrics["test"]["track"]["weighted"]["f1"],
    }


def compare_candidates(candidates: list[Candidate], replicates: int, permutations: int, seed: int = 0) -> dict:
    """Bootstrap, pairwise tests and the winner, as a JSON-serialisable dict."""
    loaded = {c.name: [_load(run) for run in c.runs] for c in candidates}
    reference = loaded[candidates[0].name][0]
    for name, runs in loaded.items():
        for run in runs:
            if run["tracks"] != reference["tracks"]:
                raise ValueError(f"{name}: evaluated on other test tracks; compare runs of one split only")
    targets = reference["targets"]
    samples = stats.bootstrap_indices(reference["groups"], replicates, seed)
    predictions = {
        name: stats.Predictions.from_probabilities(runs[0]["probabilities"], runs[0]["thresholds"])
        for name, runs in loaded.items()
    }
    replicate_f1 = {
        name: stats.replicate_scores(stats.weighted_f1, targets, p.decided, samples) for name, p in predictions.items()
    }
    configurations: dict[str, dict[str, Any]] = {}
    for candidate in candidates:
        p = predictions[candidate.name]
        correct = stats.top1_correct(targets, p)
        seed_f1 = [run["weighted_f1"] for run in loaded[candidate.name]]
        configurations[candidate.name] = {
            "runs": [str(run) for run in candidate.runs],
            "checkpoint": str(candidate.runs[0] / "checkpoint.pt"),
            "attention": candidate.attention,
            "weighted_f1": stats.weighted_f1(targets, p.decided),
            "weighted_f1_bootstrap_mean": float(replicate_f1[candidate.name].mean()),
            "weighted_f1_interval": stats.interval(replicate_f1[candidate.name]),
            "macro_f1": stats.macro_f1(targets, p.decided),
            "macro_f1_interval": stats.interval(
                stats.replicate_scores(stats.macro_f1, targets, p.decided, samples)),
            "top1_accuracy": float(correct.mean()),
            "top1_interval": stats.mean_interval(correct, samples),
            "seed_weighted_f1": seed_f1,
            "seed_mean": float(np.mean(seed_f1)),
            "seed_std": float(np.std(seed_f1, ddof=1)) if len(seed_f1) > 1 else None,
        }
    pairs: list[dict[str, Any]] = []
    for first, second in itertools.combinations([c.name for c in candidates], 2):
        differences = replicate_f1[first] - replicate_f1[second]
        pairs.append({
            "first": first,
            "second": second,
            "difference": stats.weighted_f1(targets, predictions[first].decided)
            - stats.weighted_f1(targets, predictions[second].decided),
            "difference_interval": stats.interval(differences),
            "bootstrap_p": stats.paired_bootstrap_p(differences),
            "permutation_p": stats.paired_permutation_p(
                stats.weighted_f1, targets, predictions[first].decided, predictions[second].decided, permutations,
                seed),
            "mcnemar_p": stats.mcnemar_p(stats.top1_correct(targets, predictions[first]),
                                         stats.top1_correct(targets, predictions[second])),
            "naive_replicate_t_test_p": stats.naive_replicate_t_test_p(replicate_f1[first], replicate_f1[second]),
        })
    for test in ("bootstrap_p", "permutation_p", "mcnemar_p"):
        for pair, adjusted in zip(pairs, stats.holm([pair[test] for pair in pairs]), strict=True):
            pair[f"{test}_holm"] = adjusted
    winner = choose_winner(configurations, pairs, use_seeds=len(candidates[0].runs) > 1)
    return {
        "test_tracks": len(targets),
        "bootstrap_replicates": replicates,
        "permutations": permutations,
        "resampling_unit": "artist groups" if any(str(g).startswith("artist:") for g in reference["groups"])
        else "tracks",
        "configurations": configurations,
        "pairs": pairs,
        "winner": winner,
        "replicate_weighted_f1": {name: values.round(5).tolist() for name, values in replicate_f1.items()},
    }


def choose_winner(configurations: dict, pairs: list[dict], use_seeds: bool) -> dict:
    """Best mean weighted F1 (over seeds when there are several), with a plain verdict on certainty."""
    key = "seed_mean" if use_seeds else "weighted_f1_bootstrap_mean"
    name = max(configurations, key=lambda n: configurations[n][key])
    verdicts, unclear = [], []
    for pair in pairs:
        if name not in (pair["first"], pair["second"]):
            continue
        other = pair["second"] if pair["first"] == name else pair["first"]
        significant = pair["permutation_p_holm"] < SIGNIFICANCE and pair["bootstrap_p_holm"] < SIGNIFICANCE
        if not significant:
            unclear.append(other)
        simpler = configurations[name]["attention"] and configurations[other]["attention"] is False
        if simpler and not significant:
            verdicts.append(f"{name} is NOT significantly better than the simpler {other} "
                            f"(Holm-adjusted permutation p = {pair['permutation_p_holm']:.3f}); "
                            f"the simpler model is as defensible a choice")
    if not unclear:
        verdicts.insert(0, f"{name} is significantly better than every other configuration")
    elif len(unclear) == len(configurations) - 1:
        verdicts.insert(0, f"{name} has the best mean weighted F1, but no difference to any other configuration "
                           f"is significant on these {SIGNIFICANCE:g}-level tests: the ranking may be luck")
    return {"name": name, "by": key, "checkpoint": configurations[name]["checkpoint"],
            "not_significantly_better_than": unclear, "verdict": verdicts}


def markdown(result: dict) -> str:
    """Tables a person reads."""
    lines = [
        f"# Comparison on {result['test_tracks']} held-out test tracks",
        "",
        f"Bootstrap: {result['bootstrap_replicates']} paired resamples of {result['resampling_unit']}; "
        f"permutation test: {result['permutations']} paired swaps. Intervals are 95 %.",
        "",
        "| configuration | weighted F1 [95 % CI] | macro F1 [95 % CI] | top-1 accuracy [95 % CI] "
        "| seeds: weighted F1 mean ± sd |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, c in result["configurations"].items():
        spread = (f"{c['seed_mean']:.3f} ± {c['seed_std']:.3f} (n={len(c['seed_weighted_f1'])})"
                  if c["seed_std"] is not None else "one seed")
        lines.append(
            f"| {name} | {stats.with_interval(c['weighted_f1'], c['weighted_f1_interval'])} "
            f"| {stats.with_interval(c['macro_f1'], c['macro_f1_interval'])} "
            f"| {stats.with_interval(c['top1_accuracy'], c['top1_interval'])} | {spread} |"
        )
    lines += [
        "",
        "| pair | Δ weighted F1 [95 % CI] | paired bootstrap p (Holm) | permutation p (Holm) | McNemar top-1 p (Holm) "
        "| seed's t-test over replicates p (invalid) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for p in result["pairs"]:
        lines.append(
            f"| {p['first']} − {p['second']} "
            f"| {stats.with_interval(p['difference'], p['difference_interval'], '+.3f')} "
            f"| {p['bootstrap_p']:.3f} ({p['bootstrap_p_holm']:.3f}) "
            f"| {p['permutation_p']:.3f} ({p['permutation_p_holm']:.3f}) "
            f"| {p['mcnemar_p']:.3f} ({p['mcnemar_p_holm']:.3f}) "
            f"| {p['naive_replicate_t_test_p']:.2g} |"
        )
    winner = result["winner"]
    lines += ["", f"**Winner: {winner['name']}** (best {winner['by'].replace('_', ' ')}).", ""]
    lines += [f"- {verdict}" for verdict in winner["verdict"]]
    lines += ["", "The last column is the seed's method, shown to expose it: a t-test that treats bootstrap "
              "replicates as independent samples. Its p-value falls toward 0 as replicates are added, whatever "
              "the true difference, so it must not be used to claim significance."]
    return "\n".join(lines) + "\n"


def plot_bootstrap(result: dict, destination: Path) -> None:
    from trainer.plots import _pyplot

    plt = _pyplot()
    names = list(result["replicate_weighted_f1"])
    figure, axis = plt.subplots(figsize=(1.8 + 1.6 * len(names), 4))
    axis.violinplot([result["replicate_weighted_f1"][n] for n in names], showmeans=True)
    axis.set_xticks(range(1, len(names) + 1), names, rotation=15)
    axis.set_ylabel("weighted F1 (bootstrap over test tracks)")
    axis.set_title(f"{result['bootstrap_replicates']} paired bootstrap replicates")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(destination, dpi=110)
    plt.close(figure)


def write_outputs(result: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "comparison.json", result)
    (out / "comparison.md").write_text(markdown(result))
    plot_bootstrap(result, out / "bootstrap.png")
