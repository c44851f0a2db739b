"""Training and evaluating one configuration, writing everything into its run directory."""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from tagger.model import DEFAULT_THRESHOLD
from tagger.progress import tracked
from trainer import metrics, plots
from trainer.audio_params import AudioParams, audio_for
from trainer.calibrate import calibrate
from trainer.config import TrainConfig
from trainer.data.cache import FROZEN_FEATURES, cache_root
from trainer.data.features import FeatureWindows, FrozenFeatureCache
from trainer.data.prepare import PreparedData, SplitData, prepare
from trainer.data.split import SPLITS, Split, group_key
from trainer.data.windows import WindowDataset, grid_starts
from trainer.losses import make_loss
from trainer.model import GenreModel
from trainer.run_dir import (
    CHECKPOINT,
    CONFIG,
    CONFUSION,
    CURVES,
    HISTORY,
    METRICS,
    SPLIT,
    load_checkpoint,
    read_json,
    save_checkpoint,
    write_json,
)
from trainer.schedule import Schedule
from trainer.transfer import build_model

Log = Callable[[str], None]
EVAL_BATCH = 64


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def windows_of(side: SplitData, audio: AudioParams) -> WindowDataset:
    """Evaluation windows: exactly on the hop grid, unaugmented."""
    return WindowDataset(side.waveforms, side.targets, audio.window_samples, audio.hop_samples)


class Inputs:
    """What the loops feed a network: waveform windows through the whole model or, when the model has a
    frozen part and the feature cache is on, that part's cached outputs through the rest of it."""

    def __init__(self, model: GenreModel, config: TrainConfig, log: Log) -> None:
        self.model, self.config = model, config
        self.cache: FrozenFeatureCache | None = None
        self.cached_sides: dict[int, FeatureWindows] = {}
        if model.has_frozen_weights() and config.feature_cache:
            self.cache = FrozenFeatureCache(cache_root(config.cache_dir) / FROZEN_FEATURES, model)
            if config.augmentation().active or config.time_shift:
                log("the frozen part's outputs are cached per window, so waveform augmentation and time shift "
                    "do not apply (--no-feature-cache applies them, running the frozen part on every batch)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.trainable_part(x) if self.cache is not None else self.model(x)

    def evaluation(self, side: SplitData) -> WindowDataset | FeatureWindows:
        """Windows exactly on the hop grid, unaugmented."""
        if self.cache is None:
            return windows_of(side, self.model.audio)
        if id(side) not in self.cached_sides:
            waveforms = tracked(side.waveforms, len(side.waveforms), "backbone features", "track")
            self.cached_sides[id(side)] = FeatureWindows([self.cache.windows(w) for w in waveforms], side.targets)
        return self.cached_sides[id(side)]

    def training(self, side: SplitData) -> WindowDataset | FeatureWindows:
        """Augmented windows when the whole network runs on every batch; the cached grid otherwise."""
        if self.cache is not None:
            return self.evaluation(side)
        audio, config = self.model.audio, self.config
        return WindowDataset(side.waveforms, side.targets, audio.window_samples, audio.hop_samples,
                             jitter=config.time_shift, seed=config.seed, augmentation=config.augmentation(),
                             per_track=config.windows_per_track)

    @torch.no_grad()
    def predict(self, dataset: WindowDataset | FeatureWindows) -> np.ndarray:
        """Window probabilities [windows, classes] in dataset order."""
        self.model.eval()
        loader = DataLoader(dataset, batch_size=EVAL_BATCH, shuffle=False)
        return np.concatenate([self.model.probabilities(self.forward(batch)).numpy() for batch, _, _ in loader])


def resolve_device(name: str) -> torch.device:
    """``auto`` takes the GPU when torch sees one; the CPU otherwise."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _epoch(inputs: Inputs, loader, loss_fn, device: torch.device, description: str, optimizer=None,
           schedule: Schedule | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """One pass, with a bar of its batches on a terminal; trains when an optimizer is given. Returns (mean
    loss, probabilities, targets)."""
    training = optimizer is not None
    inputs.model.train(training)
    total, count, outputs, targets = 0.0, 0, [], []
    with torch.set_grad_enabled(training):
        for batch, target, _ in tracked(loader, len(loader), description, "batch"):
            logits = inputs.forward(batch.to(device, non_blocking=True))
            loss = loss_fn(logits, target.to(device, non_blocking=True))
            if training:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if schedule is not None:
                    schedule.after_batch()
            total += loss.item() * len(batch)
            count += len(batch)
            outputs.append(inputs.model.probabilities(logits.detach()).cpu().numpy())
            targets.append(target.numpy())
    return total / max(count, 1), np.concatenate(outputs), np.concatenate(targets)


def fit(inputs: Inputs, data: PreparedData, config: TrainConfig, run: Path, log: Log) -> list[dict]:
    """Train with AdamW and a learning-rate schedule (one-cycle by default, which beat ReduceLROnPlateau on
    validation loss in the ablation study); keep the best weights; early-stop. Returns the history; the
    model ends on the CPU.

    "Best" is the validation macro F1 by default (``select_by``): with a few validation tracks the
    class-weighted loss is a noisy guide that picks under-trained early epochs. The curves are re-plotted
    after an epoch when PLOT_EVERY_SECONDS have passed since the last plot (every epoch of a long run, so
    it can be watched; a plot costs about a second), and at the end.
    """
    model = inputs.model
    device = resolve_device(config.device)
    model.to(device)
    log(f"training on {device}")
    train_side, val_side = data.sides["train"], data.sides["val"]
    generator = torch.Generator().manual_seed(config.seed)
    train_loader = DataLoader(inputs.training(train_side), batch_size=config.batch_size, shuffle=True,
                              generator=generator)
    val_loader = DataLoader(inputs.evaluation(val_side), batch_size=EVAL_BATCH) if val_side.tracks else None
    loss_fn = make_loss(config.loss, torch.as_tensor(train_side.targets), config.label_smoothing).to(device)
    optimizer = torch.optim.AdamW(model.parameter_groups(config.learning_rate, config.backbone_lr_scale),
                                  weight_decay=config.weight_decay)
    schedule = Schedule(config.lr_schedule, optimizer, config.epochs, len(train_loader), config.lr_patience)
    history: list[dict] = []
    best_score, best_state, stale = -float("inf"), copy.deepcopy(model.state_dict()), 0
    plotted = -float("inf")
    for epoch in range(1, config.epochs + 1):
        started = time.monotonic()
        entry: dict = {"epoch": epoch}
        sides = [("train", train_loader, optimizer)] + ([("val", val_loader, None)] if val_loader else [])
        for side, loader, side_optimizer in sides:
            loss, probabilities, targets = _epoch(inputs, loader, loss_fn, device, f"epoch {epoch} {side}",
                                                  side_optimizer, schedule)
            f1, accuracy = metrics.quick_scores(targets, probabilities)
            entry.update({f"{side}_loss": loss, f"{side}_f1": f1, f"{side}_accuracy": accuracy})
        entry.update(lr=optimizer.param_groups[0]["lr"], seconds=time.monotonic() - started)
        history.append(entry)
        schedule.after_epoch(entry.get("val_loss", entry["train_loss"]))
        score = selection_score(entry, config.select_by)
        improved = score > best_score + IMPROVEMENT
        if improved:
            best_score, best_state, stale = score, copy.deepcopy(model.state_dict()), 0
        else:
            stale += 1
        log(describe_epoch(entry) + ("  *" if improved else ""))
        write_json(run / HISTORY, history)
        if time.monotonic() - plotted >= PLOT_EVERY_SECONDS:
            plots.plot_curves(history, run / CURVES)
            plotted = time.monotonic()
        if stale >= config.patience:
            log(f"early stop: no better validation {config.select_by} for {config.patience} epochs")
            break
    plots.plot_curves(history, run / CURVES)
    model.load_state_dict(best_state)
    model.to("cpu")
    return history


PLOT_EVERY_SECONDS = 15.0
IMPROVEMENT = 1e-4  # the least change of the selection score that counts as better


def selection_score(entry: dict, select_by: str) -> float:
    """What "better" means for early stopping and the kept weights; without validation tracks (a refit on
    all tracks for a fixed number of epochs) the latest epoch is the best."""
    if "val_loss" not in entry:
        return float(entry["epoch"])
    return entry["val_f1"] if select_by == "f1" else -entry["val_loss"]


def best_epoch(history: list[dict], select_by: str) -> int:
    """The epoch whose weights ``fit`` kept."""
    best_score, best = -float("inf"), 0
    for entry in history:
        if selection_score(entry, select_by) > best_score + IMPROVEMENT:
            best_score, best = selection_score(entry, select_by), entry["epoch"]
    return best


def describe_epoch(entry: dict) -> str:
    """One log line: the training figures, then the validation figures when there are any, each named."""
    sides = [f"{side} loss {entry[f'{side}_loss']:.4f} F1 {entry[f'{side}_f1']:.3f} acc {entry[f'{side}_accuracy']:.3f}"
             for side in ("train", "val") if f"{side}_loss" in entry]
    return f"epoch {entry['epoch']:3d}  {'  |  '.join(sides)}  lr {entry['lr']:.1e}  {entry['seconds']:.1f}s"


def evaluate_side(inputs: Inputs, side: SplitData, thresholds: np.ndarray, labels: list[str]) -> dict:
    """Window-level and track-level metrics of one split side, plus the track probabilities."""
    dataset = inputs.evaluation(side)
    window_p = inputs.predict(dataset)
    track_of_window = dataset.track_indices()
    track_p = metrics.track_probabilities(window_p, track_of_window, len(side.tracks))
    return {
        "window": metrics.evaluate(side.targets[track_of_window], window_p, thresholds, labels),
        "track": metrics.evaluate(side.targets, track_p, thresholds, labels),
        "track_probabilities": track_p,
    }


WINDOW_COUNTS = (1, 2, 3, 5, 8)
WINDOW_TOLERANCE = 0.02  # top-1 a model may give up for fewer windows per track (faster scans)


def fewest_good_windows(top1_by_count: dict[int, float]) -> int:
    """The fewest windows per track whose top-1 is within WINDOW_TOLERANCE of the best count's."""
    best = max(top1_by_count.values())
    return min(count for count, top1 in top1_by_count.items() if top1 >= best - WINDOW_TOLERANCE)


def chosen_windows(sweep: dict[str, dict]) -> int | None:
    """Windows per track for the tagger, from a sweep on held-out tracks other than the test tracks; None
    when there was none to sweep."""
    return fewest_good_windows({int(count): row["top1_accuracy"] for count, row in sweep.items()}) if sweep else None


@torch.no_grad()
def window_count_sweep(model: GenreModel, side: SplitData, thresholds: np.ndarray, labels: list[str]) -> dict:
    """Track-level test figures when only N windows per track are analysed, placed as the tagger places
    them (``tagger.audio.window_starts``): how few windows can the tagger afford? Counts beyond the windows
    of the longest track's hop grid are left out (they would only repeat overlapping excerpts)."""
    from tagger.audio import fit_length, window_starts

    window = model.audio.window_samples
    longest = max((len(waveform) for waveform in side.waveforms), default=0)
    most = len(grid_starts(longest, window, model.audio.hop_samples))
    counts = [count for count in WINDOW_COUNTS if count <= most]
    by_count: dict[int, list[np.ndarray]] = {count: [] for count in counts}
    model.eval()
    for waveform in side.waveforms:
        starts = {count: window_starts(len(waveform), window, count) for count in counts}
        distinct = sorted({start for chosen in starts.values() for start in chosen})  # each window heard once
        excerpts = np.stack([fit_length(waveform[s : s + window], window) for s in distinct])
        heard = dict(zip(distinct, model.probabilities(model(torch.from_numpy(excerpts))).numpy(), strict=True))
        for count in counts:
            by_count[count].append(np.mean([heard[start] for start in starts[count]], axis=0))
    result = {}
    for count in counts:
        scores = metrics.evaluate(side.targets, np.stack(by_count[count]), thresholds, labels)
        result[str(count)] = {"top1_accuracy": scores["top1_accuracy"], "f1_weighted": scores["weighted"]["f1"]}
    return result


def finish_run(inputs: Inputs, data: PreparedData, run: Path, extra: dict, log: Log) -> dict:
    """Tune thresholds on validation tracks, evaluate the test tracks, write metrics and figures."""
    model = inputs.model
    val = evaluate_side(inputs, data.sides["val"], np.full(len(data.labels), DEFAULT_THRESHOLD), data.labels)
    thresholds = metrics.tune_thresholds(data.sides["val"].targets, val["track_probabilities"])
    test = evaluate_side(inputs, data.sides["test"], thresholds, data.labels)
    calibration = calibrate(data.sides["val"].targets, val["track_probabilities"],
                            f"{len(data.sides['val'].tracks)} validation tracks")
    validation_sweep = window_count_sweep(model, data.sides["val"], thresholds, data.labels)
    result = {
        "labels": data.labels,
        "thresholds": dict(zip(data.labels, map(float, thresholds), strict=True)),
        "calibration": calibration.to_dict(),
        "test": {"window": test["window"], "track": test["track"]},
        "validation_track": val["track"],
        "test_track_by_window_count": window_count_sweep(model, data.sides["test"], thresholds, data.labels),
        "validation_track_by_window_count": validation_sweep,
        "test_tracks": [track.id for track in data.sides["test"].tracks],
        "test_track_probabilities": test["track_probabilities"].round(6).tolist(),
        "test_targets": data.sides["test"].targets.astype(int).tolist(),
        **extra,
    }
    write_json(run / METRICS, result)
    matrix = metrics.top1_confusion(data.sides["test"].targets, test["track_probabilities"])
    plots.plot_confusion(matrix, data.labels, run / CONFUSION, "test tracks, top-1")
    save_checkpoint(run / CHECKPOINT, model, data.labels, [float(t) for t in thresholds],
                    {"metrics": summary_metrics(result["test"]["track"]), "training_data": data.description,
                     "calibration": calibration.to_dict(), "inference_windows": chosen_windows(validation_sweep)})
    log(test["track"]["classification_report"])
    log(format_summary(result))
    return result


def summary_metrics(track: dict, tracks_key: str = "test_tracks") -> dict:
    """The few held-out figures that travel with the model (checkpoint, ONNX metadata), from track-level
    metrics; ``tracks_key`` names where the held-out tracks came from."""
    return {
        tracks_key: track["n"],
        "top1_accuracy": round(track["top1_accuracy"], 4),
        "f1_macro": round(track["macro"]["f1"], 4),
        "f1_weighted": round(track["weighted"]["f1"], 4),
        "f1_samples": round(track["samples"]["f1"], 4),
    }


def format_summary(result: dict) -> str:
    lines = ["held-out test set:        window-level  track-level"]
    for name, key in (("top-1 accuracy", "top1_accuracy"), ("exact-match accuracy", "exact_match_accuracy")):
        lines.append(f"  {name:<22} {result['test']['window'][key]:>11.3f}  {result['test']['track'][key]:>11.3f}")
    for average in metrics.AVERAGES:
        for measure in ("precision", "recall", "f1"):
            window, track = result["test"]["window"][average][measure], result["test"]["track"][average][measure]
            lines.append(f"  {measure + ' (' + average + ')':<22} {window:>11.3f}  {track:>11.3f}")
    return "\n".join(lines)


def start_run(config: TrainConfig, log: Log, split: Split | None, required: tuple[str, ...],
              labels: list[str] | None = None, split_note: dict | None = None) -> tuple[Path, PreparedData, Inputs]:
    """What every training starts with: the run directory, threads and seeds, the decoded data (its
    ``required`` sides not empty), config.json and split.json, and the network with its inputs."""
    run = Path(config.out)
    run.mkdir(parents=True, exist_ok=True)
    if config.threads:
        torch.set_num_threads(config.threads)
    seed_everything(config.seed)
    audio = audio_for(config.backbone)
    data = prepare(config, audio.sample_rate, log, split, labels)
    if not all(data.sides[side].tracks for side in required):
        raise ValueError(f"the {', '.join(required)} sides all need tracks: give more data or lower --min-tracks")
    write_json(run / CONFIG, config.to_dict())
    write_json(run / SPLIT, {**data.split.to_dict(), "seed": config.split_seed, "group_by": config.group_by,
                             **(split_note or {})})
    model = build_model(config.model_config(len(data.labels)), audio, pretrained=True)
    log(f"{sum(p.numel() for p in model.parameters()):,} parameters, {model.trainable_parameters():,} of them "
        f"learning; labels: {', '.join(data.labels)}")
    return run, data, Inputs(model, config, log)


PROBE = "probe"  # the run's subdirectory where the head probe's history and curves go


def probe_head(inputs: Inputs, data: PreparedData, config: TrainConfig, run: Path, log: Log,
               epochs: int) -> tuple[TrainConfig, int | None]:
    """LP-FT (Kumar et al., ICLR 2022): before a pretrained backbone learns, train its head alone on the
    frozen backbone (on cached outputs: cheap), so that the backbone's first updates follow a head that
    already fits instead of tearing its features apart to suit a random one; then the head and the
    backbone's learning layers learn together at the backbone's rate. Returns the configuration of the
    fine-tuning and the epoch the probe kept (None where nothing was probed)."""
    twin = inputs.model.head_probe() if epochs else None
    if twin is None:
        return config, None
    probe_config = replace(config, tuning="frozen", epochs=epochs)
    log(f"probing the head on the frozen backbone for up to {epochs} epochs")
    (run / PROBE).mkdir(exist_ok=True)
    history = fit(Inputs(twin, probe_config, log), data, probe_config, run / PROBE, log)
    inputs.model.adopt_head(twin)
    log("fine-tuning the head and the backbone's learning layers")
    return (replace(config, learning_rate=config.learning_rate * config.backbone_lr_scale, backbone_lr_scale=1.0),
            best_epoch(history, config.select_by))


def timed_fit(inputs: Inputs, data: PreparedData, config: TrainConfig, run: Path, log: Log,
              probe_epochs: int | None = None) -> dict:
    """``fit`` (after ``probe_head`` for up to ``probe_epochs``, by default the configuration's), and what
    it cost: the figures every run records beside its metrics."""
    started = time.monotonic()
    tune_config, probe_kept = probe_head(inputs, data, config, run, log,
                                         config.probe_epochs if probe_epochs is None else probe_epochs)
    probed = time.monotonic()
    history = fit(inputs, data, tune_config, run, log)
    finished = time.monotonic()
    probe = ({"probe_best_epoch": probe_kept, "probe_seconds": round(probed - started, 1)}
             if probe_kept is not None else {})
    return {"training_seconds": round(finished - started, 1), "epochs": len(history),
            "best_epoch": best_epoch(history, config.select_by), **probe,
            "seconds_per_epoch": round((finished - probed) / max(len(history), 1), 2),
            "trainable_parameters": inputs.model.trainable_parameters()}


def fit_head_as_configured(inputs: Inputs, data: PreparedData, config: TrainConfig, run: Path, log: Log,
                           probe_epochs: int | None = None) -> dict:
    """The training loop (``timed_fit``), or for ``head_fit`` "logistic" a head fitted without one."""
    if config.head_fit == "logistic":
        from trainer.logistic_head import fit_logistic

        return fit_logistic(inputs, data, config, log)
    return timed_fit(inputs, data, config, run, log, probe_epochs)


def train(config: TrainConfig, log: Log, split: Split | None = None) -> dict:
    """Train one configuration end to end (on ``split`` when given, e.g. one fold of a cross-validation);
    returns the metrics written to ``metrics.json``."""
    run, data, inputs = start_run(config, log, split, required=SPLITS)
    extra = fit_head_as_configured(inputs, data, config, run, log)
    extra["test_groups"] = [group_key(track, config.group_by) for track in data.sides["test"].tracks]
    return finish_run(inputs, data, run, extra, log)


def evaluate_run(run: Path, data_path: str | None, log: Log) -> dict:
    """Evaluate a run's checkpoint again: on its own test split, or on every track of ``data_path``."""
    model, checkpoint = load_checkpoint(run)
    config = TrainConfig.from_dict(read_json(run / CONFIG))
    labels = checkpoint["labels"]
    thresholds = np.array(checkpoint["thresholds"])
    if data_path is None:
        saved = read_json(run / SPLIT)
        if not saved["test"]:
            raise ValueError(f"{run} held no tracks out (a refit on all tracks): evaluate it on other data (--data)")
        split = Split(saved["train"], saved["val"], saved["test"])
    else:
        config.data = data_path
        split = _everything_as_test(config, labels)
    side = prepare(config, model.audio.sample_rate, log, split, labels).sides["test"]
    result = evaluate_side(Inputs(model, config, log), side, thresholds, labels)
    log(result["track"]["classification_report"])
    return {"window": result["window"], "track": result["track"]}


def _everything_as_test(config: TrainConfig, labels: list[str]) -> Split:
    """Every track of another dataset that carries at least one genre the model knows, as test data."""
    from trainer.data.sources import load_dataset

    dataset = load_dataset(Path(config.data), config.labels_from_tags)
    known = set(labels)
    return Split([], [], [track.id for track in dataset.tracks if known & set(track.labels)])
