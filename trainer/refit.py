"""`trainer refit`: after a cross-validation has chosen a configuration, train it once more on ALL tracks.

Nothing is held out, so what held-out tracks decided in a single run comes from the folds instead: the
number of epochs (and of a head probe's epochs) is the median of the epochs the folds kept, each chosen
on that fold's validation tracks, and the decision thresholds and the calibration are fitted on the
pooled out-of-fold probabilities of every track.
The figures that travel with the model are the cross-validation's pooled ones: the honest forecast for
the refit model, which saw more data than any fold's model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from trainer import metrics
from trainer.calibrate import calibrate
from trainer.compare import fold_runs, load_pooled
from trainer.config import TrainConfig
from trainer.data.split import Split
from trainer.run_dir import CHECKPOINT, CONFIG, HISTORY, METRICS, read_json, save_checkpoint, write_json
from trainer.train import (
    PROBE,
    best_epoch,
    fewest_good_windows,
    fit_head_as_configured,
    start_run,
    summary_metrics,
)

Log = Callable[[str], None]
# Where a refit model's figures come from (its metrics' key for the number of tracks): no held-out tracks remain.
CROSS_VALIDATED_TRACKS = "cross_validated_tracks"


def pooled_window_sweep(runs: list[dict]) -> dict[int, float]:
    """Pooled top-1 by windows per track over a cross-validation's folds (every track tested once)."""
    counts = set.intersection(*(set(run["test_track_by_window_count"]) for run in runs))
    total = sum(len(run["test_tracks"]) for run in runs)
    return {int(count): sum(run["test_track_by_window_count"][count]["top1_accuracy"] * len(run["test_tracks"])
                            for run in runs) / total for count in sorted(counts, key=int)}


def median_epochs(kept: list[int]) -> int:
    return max(1, round(float(np.median(kept))))


def refit(cross_validation: Path, out: Path, log: Log, threads: int | None = None) -> dict:
    """Train the configuration of ``cross_validation`` (a folder of fold runs) on all of its tracks into
    the run directory ``out`` (with ``threads`` torch threads, by default the folds'); returns the metrics
    written to its ``metrics.json``."""
    runs = fold_runs(cross_validation)
    if len(runs) < 2:
        raise ValueError(f"{cross_validation} holds no fold runs: refit the folder `trainer compare --folds` wrote")
    config = TrainConfig.from_dict(read_json(runs[0] / CONFIG))
    histories = [run / HISTORY for run in runs]
    looped = all(history.is_file() for history in histories)  # a logistic head is fitted without epochs
    kept_epochs = [best_epoch(read_json(history), config.select_by) for history in histories] if looped else []
    epochs = median_epochs(kept_epochs) if looped else config.epochs
    probe_histories = [run / PROBE / HISTORY for run in runs]
    probe_epochs = (median_epochs([best_epoch(read_json(history), config.select_by) for history in probe_histories])
                    if all(history.is_file() for history in probe_histories) else None)
    pooled = load_pooled(cross_validation)
    labels = pooled["labels"]
    window_sweep = pooled_window_sweep([read_json(run / METRICS) for run in runs])
    thresholds = metrics.tune_thresholds(pooled["targets"], pooled["probabilities"])
    calibration = calibrate(pooled["targets"], pooled["probabilities"],
                            f"out-of-fold probabilities of {len(pooled['tracks'])} tracks ({len(runs)} folds)")
    # Every track decided by its own fold's thresholds: the pooled thresholds were tuned on these very tracks.
    cross_validated = metrics.evaluate(pooled["targets"], pooled["probabilities"], pooled["thresholds"], labels)
    log(f"refit on all {len(pooled['tracks'])} tracks" + (f" for {epochs} epochs (the folds kept {kept_epochs})"
                                                         if looped else f" ({config.head_fit} head)"))
    config = replace(config, out=str(out), epochs=epochs, threads=threads or config.threads)
    run, data, inputs = start_run(config, log, Split(pooled["tracks"], [], []), required=("train",), labels=labels,
                                  split_note={"refit_of": str(cross_validation)})
    result = {
        "labels": labels,
        "thresholds": dict(zip(labels, map(float, thresholds), strict=True)),
        "calibration": calibration.to_dict(),
        "cross_validation": {"folds": len(runs), "runs": [str(run) for run in runs], "kept_epochs": kept_epochs,
                             "pooled_track": cross_validated,
                             "pooled_top1_by_window_count": {str(count): top1 for count, top1 in window_sweep.items()}},
        **fit_head_as_configured(inputs, data, config, run, log, probe_epochs),
    }
    write_json(run / METRICS, result)
    save_checkpoint(run / CHECKPOINT, inputs.model, labels, [float(t) for t in thresholds], {
        "metrics": summary_metrics(cross_validated, CROSS_VALIDATED_TRACKS),
        "training_data": f"{data.description}; all {len(pooled['tracks'])} tracks, after {len(runs)}-fold "
                         "cross-validation",
        "calibration": calibration.to_dict(),
        "inference_windows": fewest_good_windows(window_sweep),
    })
    log(f"cross-validated (pooled over {len(runs)} folds): top-1 {cross_validated['top1_accuracy']:.3f}, "
        f"weighted F1 {cross_validated['weighted']['f1']:.3f}")
    return result
