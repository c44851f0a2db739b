"""`trainer compare`: train configurations on one shared split, or on every fold of a cross-validation, and
compare them on the same test tracks (pooled over the folds)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from tagger.calibration import Calibration
from tagger.genres import DEFAULT_TOP_K
from trainer import metrics, stats
from trainer.config import TrainConfig
from trainer.data.split import Split
from trainer.run_dir import METRICS, read_json, write_json

Log = Callable[[str], None]
# name -> the options it changes in the recipe (TrainConfig). "Simpler" means fewer learning parameters.
GRID: dict[str, dict[str, Any]] = {
    "scratch-attention": {"backbone": "scratch", "attention": True},
    "scratch-plain": {"backbone": "scratch", "attention": False},
    "scratch-attention-focal": {"backbone": "scratch", "attention": True, "loss": "focal"},
    "scratch-plain-focal": {"backbone": "scratch", "attention": False, "loss": "focal"},
    "musicnn-frozen-linear": {"backbone": "musicnn-msd", "tuning": "frozen", "attention": False},
    "musicnn-frozen-tags": {"backbone": "musicnn-msd", "tuning": "frozen", "attention": False,
                            "head_features": "tags"},
    "musicnn-frozen-embedding-tags": {"backbone": "musicnn-msd", "tuning": "frozen", "attention": False,
                                      "head_features": "embedding+tags"},
    "musicnn-frozen-logistic": {"backbone": "musicnn-msd", "tuning": "frozen", "attention": False,
                                "head_fit": "logistic"},
    "musicnn-frozen-attention": {"backbone": "musicnn-msd", "tuning": "frozen", "attention": True},
    "musicnn-partial": {"backbone": "musicnn-msd", "tuning": "partial", "attention": False},
    # LP-FT: the frozen-linear recipe first, then every layer for a short while (trainer.train.probe_head),
    # on two random excerpts per track and epoch: under a minute an epoch on two CPU cores instead of 140-230 s.
    "musicnn-finetuned": {"backbone": "musicnn-msd", "tuning": "full", "attention": False, "probe_epochs": 40,
                          "epochs": 10, "windows_per_track": 2},
}
DEFAULT_CONFIGS = ("scratch-attention", "scratch-plain", "musicnn-frozen-linear", "musicnn-frozen-attention",
                   "musicnn-finetuned")
SIGNIFICANCE = 0.05
FOLD_PREFIX = "fold"


@dataclass
class Candidate:
    name: str
    runs: list[Path]  # one per seed, each a run directory or a cross-validation's folder of fold runs


def train_grid(base: TrainConfig, out: Path, names: list[str], seeds: int, log: Log,
               folds: list[Split] | None = None, given: frozenset[str] = frozenset()) -> list[Candidate]:
    """Train each configuration ``seeds`` times (seed, seed+1, ...): on the split of ``base.split_seed``, or
    on every one of ``folds`` (runs ``<name>-seed<s>/fold<k>``). A configuration's own settings replace
    ``base``'s, except the options in ``given`` (those the user set: ``--epochs 3`` for a quick check).

    A run whose metrics.json exists is reused, so an interrupted comparison resumes where it stopped.
    """
    from trainer.train import train

    candidates = []
    for name in names:
        units = []
        for k in range(seeds):
            unit = out / f"{name}-seed{base.seed + k}"
            own = {option: value for option, value in GRID[name].items() if option not in given}
            config = replace(base, **own, seed=base.seed + k)
            for number, split in enumerate(folds or [None], 1):
                run = unit / f"{FOLD_PREFIX}{number}" if split is not None else unit
                if not (run / METRICS).is_file():
                    log(f"== training {run.relative_to(out)}")
                    train(replace(config, out=str(run)), log, split)
            units.append(unit)
        candidates.append(Candidate(name, units))
    return candidates


def fold_runs(unit: Path) -> list[Path]:
    """The runs behind a candidate's unit: its fold runs (in fold order), or the unit itself."""
    folds = [path.parent for path in unit.glob(f"{FOLD_PREFIX}*/{METRICS}")]
    return sorted(folds, key=lambda path: int(path.name.removeprefix(FOLD_PREFIX))) or [unit]


def load_pooled(unit: Path) -> dict:
    """A unit's test tracks, pooled over its folds: every fold's tracks decided by that fold's own
    thresholds, then ordered by track id so that units of one cross-validation line up."""
    runs = [read_json(run / METRICS) for run in fold_runs(unit)]
    labels = runs[0]["labels"]
    if any(run["labels"] != labels for run in runs):
        raise ValueError(f"{unit}: its folds predict different genres")
    tracks = [track for run in runs for track in run["test_tracks"]]
    if len(set(tracks)) != len(tracks):
        raise ValueError(f"{unit}: a track is tested in more than one fold")
    probabilities = np.concatenate([np.array(run["test_track_probabilities"]) for run in runs])
    thresholds = np.concatenate([np.tile([run["thresholds"][label] for label in labels], (len(run["test_tracks"]), 1))
                                 for run in runs])
    targets = np.concatenate([np.array(run["test_targets"], dtype=np.int64) for run in runs])
    written, minimums = _written_by_each_fold(runs, labels)
    order = np.argsort(tracks, kind="stable")
    parameters = {run["trainable_parameters"] for run in runs}
    return {
        "tracks": [tracks[i] for i in order],
        "labels": labels,
        "folds": len(runs) if len(runs) > 1 else None,
        "groups": np.concatenate([np.array(run["test_groups"]) for run in runs])[order],
        "fold_of_track": np.concatenate([np.full(len(run["test_tracks"]), k) for k, run in enumerate(runs)])[order],
        "targets": targets[order],
        "probabilities": probabilities[order],
        "thresholds": thresholds[order],  # per track: its fold's
        "predictions": stats.Predictions.from_probabilities(probabilities[order], thresholds[order]),
        "tagging": {name: values[order] for name, values in metrics.tagging_figures(targets, probabilities,
                                                                                      written).items()},
        "min_confidences": minimums,
        "trainable_parameters": parameters.pop() if len(parameters) == 1 else None,
    }


def _written_by_each_fold(runs: list[dict], labels: list[str]) -> tuple[np.ndarray, list[float | None]]:
    """What `tagger scan` with a model trained as each fold was would write on that fold's test tracks (in
    the runs' order): its thresholds, the default --top-k, and its own calibration and --min-confidence default,
    both fitted on its validation tracks (a run without a calibration never abstains). Also each fold's
    minimum."""
    written, minimums = [], []
    for run in runs:
        probabilities = np.array(run["test_track_probabilities"])
        calibration = Calibration.from_dict(run.get("calibration"))
        written.append(metrics.written_genres(probabilities, calibration.apply(probabilities),
                                              np.array([run["thresholds"][label] for label in labels]),
                                              DEFAULT_TOP_K, calibration.min_confidence))
        minimums.append(calibration.min_confidence)
    return np.concatenate(written), minimums


def compare_candidates(candidates: list[Candidate], replicates: int, permutations: int, seed: int = 0) -> dict:
    """Bootstrap, pairwise tests and the winner, as a JSON-serialisable dict."""
    loaded = {c.name: [load_pooled(run) for run in c.runs] for c in candidates}
    reference = loaded[candidates[0].name][0]
    for name, runs in loaded.items():
        for run in runs:
            if run["tracks"] != reference["tracks"]:
                raise ValueError(f"{name}: evaluated on other test tracks; compare runs of one split only")
    targets = reference["targets"]
    weights = stats.bootstrap_weights(reference["groups"], replicates, seed)
    predictions = {name: runs[0]["predictions"] for name, runs in loaded.items()}
    counts = {name: stats.ClassCounts.per_track(targets, p.decided) for name, p in predictions.items()}
    replicate_f1 = {name: stats.replicate_scores(stats.weighted_f1_of, counts[name], weights) for name in predictions}
    configurations: dict[str, dict[str, Any]] = {}
    for candidate in candidates:
        p = predictions[candidate.name]
        correct = stats.top1_correct(targets, p)
        seed_f1 = [stats.weighted_f1(targets, run["predictions"].decided) for run in loaded[candidate.name]]
        configurations[candidate.name] = {
            "runs": [str(run) for run in candidate.runs],
            "trainable_parameters": loaded[candidate.name][0]["trainable_parameters"],
            "weighted_f1": float(stats.weighted_f1_of(counts[candidate.name].total())),
            "weighted_f1_bootstrap_mean": float(replicate_f1[candidate.name].mean()),
            "weighted_f1_interval": stats.interval(replicate_f1[candidate.name]),
            "macro_f1": float(stats.macro_f1_of(counts[candidate.name].total())),
            "macro_f1_interval": stats.interval(
                stats.replicate_scores(stats.macro_f1_of, counts[candidate.name], weights)),
            "top1_accuracy": float(correct.mean()),
            "top1_interval": stats.mean_interval(correct, weights),
            **_tagging_figures(loaded[candidate.name][0], weights),
            "seed_weighted_f1": seed_f1,
            "seed_mean": float(np.mean(seed_f1)),
            "seed_std": float(np.std(seed_f1, ddof=1)) if len(seed_f1) > 1 else None,
            "per_genre_f1": dict(zip(reference["labels"], map(float, counts[candidate.name].total().per_class_f1()),
                                     strict=True)),
        }
    pairs: list[dict[str, Any]] = []
    for first, second in itertools.combinations([c.name for c in candidates], 2):
        differences = replicate_f1[first] - replicate_f1[second]
        pairs.append({
            "first": first,
            "second": second,
            "difference": configurations[first]["weighted_f1"] - configurations[second]["weighted_f1"],
            "difference_interval": stats.interval(differences),
            "bootstrap_p": stats.paired_bootstrap_p(differences),
            "permutation_p": stats.paired_permutation_p(stats.weighted_f1_of, counts[first], counts[second],
                                                        permutations, seed),
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
        "folds": reference["folds"],
        "labels": reference["labels"],
        "bootstrap_replicates": replicates,
        "permutations": permutations,
        "resampling_unit": "artist groups" if any(str(g).startswith("artist:") for g in reference["groups"])
        else "tracks",
        "configurations": configurations,
        "pairs": pairs,
        "winner": winner,
        "replicate_weighted_f1": {name: values.round(5).tolist() for name, values in replicate_f1.items()},
    }


def _tagging_figures(pooled: dict, weights: np.ndarray) -> dict[str, Any]:
    """What a user meets: the share of tracks given a genre (coverage) and the share of written genres that
    are right, each with its bootstrap interval, and the --min-confidence defaults that produced them."""
    tagging = pooled["tagging"]
    ones = np.ones(len(tagging["covered"]))
    return {
        "coverage": stats.ratio(tagging["covered"], ones),
        "coverage_interval": stats.ratio_interval(tagging["covered"], ones, weights),
        "written_precision": stats.ratio(tagging["right"], tagging["written"]),
        "written_precision_interval": stats.ratio_interval(tagging["right"], tagging["written"], weights),
        "min_confidences": pooled["min_confidences"],
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
        if not significant and _simpler(configurations[other], configurations[name]):
            verdicts.append(f"{name} is NOT significantly better than the simpler {other} "
                            f"(Holm-adjusted permutation p = {pair['permutation_p_holm']:.3f}); "
                            f"the simpler model is as defensible a choice")
    if len(configurations) == 1:
        verdicts.insert(0, f"{name} is the only configuration: nothing was compared")
    elif not unclear:
        verdicts.insert(0, f"{name} is significantly better than every other configuration")
    elif len(unclear) == len(configurations) - 1:
        verdicts.insert(0, f"{name} has the best mean weighted F1, but no difference to any other configuration "
                           f"is significant on these {SIGNIFICANCE:g}-level tests: the ranking may be luck")
    else:
        beaten = [other for other in configurations if other not in (name, *unclear)]
        verdicts.insert(0, f"{name} is significantly better than {', '.join(beaten)}, but not than "
                           f"{', '.join(unclear)} on these {SIGNIFICANCE:g}-level tests: among those the ranking "
                           f"may be luck")
    return {"name": name, "by": key, "runs": configurations[name]["runs"],
            "not_significantly_better_than": unclear, "verdict": verdicts}


def _simpler(first: dict, second: dict) -> bool:
    """Whether ``first`` learns fewer parameters than ``second`` (unknown where a unit's runs differ in it)."""
    counts = first["trainable_parameters"], second["trainable_parameters"]
    return None not in counts and counts[0] < counts[1]


def markdown(result: dict) -> str:
    """Tables a person reads."""
    pooled = f", pooled over {result['folds']} cross-validation folds" if result.get("folds") else ""
    lines = [
        f"# Comparison on {result['test_tracks']} held-out test tracks{pooled}",
        "",
        f"Bootstrap: {result['bootstrap_replicates']} paired resamples of {result['resampling_unit']}; "
        f"permutation test: {result['permutations']} paired swaps. Intervals are 95 %.",
        "",
        "| configuration | top-1 accuracy [95 % CI] | weighted F1 [95 % CI] | macro F1 [95 % CI] "
        "| written genres right [95 % CI] | tracks tagged [95 % CI] | --min-confidence "
        "| seeds: weighted F1 mean ± sd | learning parameters |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    configurations = result["configurations"]
    for name, c in configurations.items():
        spread = (f"{c['seed_mean']:.3f} ± {c['seed_std']:.3f} (n={len(c['seed_weighted_f1'])})"
                  if c["seed_std"] is not None else "one seed")
        parameters = f"{c['trainable_parameters']:,}" if c["trainable_parameters"] is not None else "?"
        lines.append(
            f"| {name} | {stats.with_interval(c['top1_accuracy'], c['top1_interval'])} "
            f"| {stats.with_interval(c['weighted_f1'], c['weighted_f1_interval'])} "
            f"| {stats.with_interval(c['macro_f1'], c['macro_f1_interval'])} "
            f"| {stats.with_optional_interval(c['written_precision'], c['written_precision_interval'])} "
            f"| {stats.with_optional_interval(c['coverage'], c['coverage_interval'])} "
            f"| {_minimums(c['min_confidences'])} | {spread} | {parameters} |"
        )
    lines += ["", "Per genre (F1 on the same tracks):", "", "| genre | " + " | ".join(configurations) + " |",
              "| --- |" + " --- |" * len(configurations)]
    for label in result["labels"]:
        lines.append(f"| {label} | " + " | ".join(f"{c['per_genre_f1'][label]:.3f}" for c in configurations.values())
                     + " |")
    lines += [
        "",
        "| pair | Δ weighted F1 [95 % CI] | paired bootstrap p (Holm) | permutation p (Holm) | McNemar top-1 p (Holm) "
        "| naive t-test over replicates p (invalid) |",
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
    lines += ["", "The last column is a common mistake (the first version of this project made it), shown to "
              "expose it: a t-test that treats bootstrap replicates as independent samples. Its p-value falls "
              "toward 0 as replicates are added, whatever the true difference, so it must not be used to claim "
              "significance."]
    return "\n".join(lines) + "\n"


def _minimums(minimums: list[float | None]) -> str:
    """The folds' --min-confidence defaults, as a range where they differ ("none": that fold never abstains)."""
    values = sorted({minimum for minimum in minimums if minimum is not None})
    shown = [f"{value:g}" for value in values] + (["none"] if None in minimums else [])
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown) if None in minimums else f"{shown[0]}-{shown[-1]}"


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
