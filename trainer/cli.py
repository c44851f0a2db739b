"""The ``trainer`` command: train, evaluate and export genre models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from tagger.model import DEFAULT_INFERENCE_WINDOWS
from trainer.config import BACKBONES, HEAD_FEATURES, HEAD_FITS, SCHEDULES, TUNINGS, TrainConfig

RECIPE = TrainConfig(data="", out="")  # the defaults of every training option: the shipped recipe
TRAINING_MODULES = frozenset({"torch", "librosa", "sklearn", "scipy", "onnx", "onnxscript", "matplotlib"})
TRAINING_INSTALL = ("pip install 'genre-tagger[train]' --extra-index-url https://download.pytorch.org/whl/cpu "
                    "(the CPU build of torch; see the README)")


def _log(message: str) -> None:
    click.echo(message, err=True)


class TrainerGroup(click.Group):
    """Commands whose training packages are missing (the tagger's light install) end in one line that says
    how to install them, not in a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as error:
            missing = (error.name or "").partition(".")[0]
            if missing not in TRAINING_MODULES:
                raise
            raise click.ClickException(f"the trainer needs {missing}, which comes with the training install: "
                                       f"{TRAINING_INSTALL}") from error


@click.group(cls=TrainerGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Train genre models from audio, compare them, and export the winner to ONNX."""


def _parse_channels(value: str | tuple) -> tuple[int, int, int]:
    if isinstance(value, tuple):
        return value
    try:
        channels = tuple(int(part) for part in value.split(","))
    except ValueError:
        channels = ()
    if len(channels) != 3 or min(channels) < 1:
        raise click.BadParameter(f"{value!r}: give three positive integers, e.g. 16,32,64")
    return channels


def _recipe(field: str) -> dict[str, Any]:
    """An option's default, shown in --help, from the one home of the recipe: ``TrainConfig``."""
    return {"default": getattr(RECIPE, field), "show_default": True}


CACHE_HELP = ("Cache of decoded waveforms and frozen-backbone features [default: "
              "$XDG_CACHE_HOME/genre-tagger/trainer, else ~/.cache/genre-tagger/trainer]; `trainer cache` shows "
              "its size and clears it.")
DATA_HELP = ("Your labelled music: a folder with a subfolder per genre, a CSV manifest (path,genres[,artist]), or a "
             "tagged library with --labels-from-tags.")


def _training_options(data_required: bool):
    """The options `train` and `compare` share (compare sets attention and loss itself); ``--data`` is
    required by train, and by compare unless it compares existing --runs."""
    return lambda function: _with_training_options(function, data_required)


def _with_training_options(function, data_required: bool):
    options = [
        click.option("--data", type=click.Path(exists=True, path_type=Path), required=data_required,
                     help=DATA_HELP if data_required else f"{DATA_HELP} Needed unless --runs is given."),
        click.option("--labels-from-tags", is_flag=True, help="Take labels from the files' existing genre tags."),
        click.option("--epochs", type=click.IntRange(1), **_recipe("epochs"),
                     help="Most passes over the training tracks (early stopping may end sooner)."),
        click.option("--batch-size", type=click.IntRange(1), **_recipe("batch_size"), help="Windows per step."),
        click.option("--lr", "learning_rate", type=float, **_recipe("learning_rate"),
                     help="AdamW's learning rate (of the head, for a pretrained backbone)."),
        click.option("--weight-decay", type=float, **_recipe("weight_decay"), help="AdamW's decoupled weight decay."),
        click.option("--patience", type=click.IntRange(1), **_recipe("patience"),
                     help="Early-stopping patience (epochs)."),
        click.option("--select-by", type=click.Choice(["f1", "loss"]), **_recipe("select_by"),
                     help="Validation measure for early stopping and the kept checkpoint."),
        click.option("--seed", type=int, **_recipe("seed"), help="Weights, batch order, augmentation."),
        click.option("--split-seed", type=int, **_recipe("split_seed"), help="The train/val/test split."),
        click.option("--val-fraction", type=click.FloatRange(0, 0.5), **_recipe("val_fraction"),
                     help="Share of tracks held out for early stopping, thresholds and calibration."),
        click.option("--test-fraction", type=click.FloatRange(0, 0.5), **_recipe("test_fraction"),
                     help="Share of tracks held out for the final figures (never seen in training)."),
        click.option("--group-by", type=click.Choice(["track", "artist"]), **_recipe("group_by"),
                     help="Split whole tracks, or whole artists (no artist on both sides) where known."),
        click.option("--max-per-class", type=click.IntRange(1), help="Undersample training tracks per genre."),
        click.option("--min-tracks", type=click.IntRange(1), **_recipe("min_tracks"),
                     help="Drop rarer genres."),
        click.option("--dropout", type=click.FloatRange(0, 0.9), **_recipe("dropout"),
                     help="Dropout before the dense layers."),
        click.option("--frequency-channel/--no-frequency-channel", **_recipe("frequency_channel"),
                     help="Scratch CNN: give it each mel band's position as a second input channel."),
        click.option("--channels", type=_parse_channels, metavar="A,B,C", default=",".join(map(str, RECIPE.channels)),
                     show_default=True,
                     help="Scratch CNN: output channels of its three convolution blocks."),
        click.option("--hidden", type=click.IntRange(1), **_recipe("hidden"),
                     help="Width of the first dense layer (scratch CNN, musicnn's attention head)."),
        click.option("--label-smoothing", type=click.FloatRange(0, 0.5), **_recipe("label_smoothing"),
                     help="Pull the training targets this far from 0 and 1."),
        click.option("--lr-schedule", type=click.Choice(SCHEDULES), **_recipe("lr_schedule"),
                     help="plateau: ReduceLROnPlateau on validation loss; cosine; onecycle."),
        click.option("--time-shift/--no-time-shift", **_recipe("time_shift"),
                     help="Move training windows by up to half a hop at random."),
        click.option("--windows-per-track", type=click.IntRange(1),
                     help="Train on this many excerpts of every track per epoch, each from anywhere in it "
                          "[default: every window of its hop grid]. Not where a frozen part's outputs are cached."),
        click.option("--gain-db", type=click.FloatRange(0), **_recipe("gain_db"),
                     help="Augmentation: random level change within +-this many dB."),
        click.option("--noise-probability", type=click.FloatRange(0, 1), **_recipe("noise_probability"),
                     help="Augmentation: share of windows with white noise added (10-30 dB SNR)."),
        click.option("--mix-probability", type=click.FloatRange(0, 1), **_recipe("mix_probability"),
                     help="Augmentation: share of windows mixed with another track of the same genres."),
        click.option("--backbone-lr-scale", type=click.FloatRange(0, 1), **_recipe("backbone_lr_scale"),
                     help="Learning rate of a pretrained backbone's learning layers, as a share of --lr."),
        click.option("--probe-epochs", type=click.IntRange(0), **_recipe("probe_epochs"),
                     help="Partial or full tuning: first train the head alone on the frozen backbone for up to this "
                          "many epochs (linear probing, then fine-tuning: LP-FT), then every layer at the "
                          "backbone's learning rate."),
        click.option("--feature-cache/--no-feature-cache", **_recipe("feature_cache"),
                     help="Compute a frozen backbone's outputs once per window and keep them (fast; no waveform "
                          "augmentation), or run it on every augmented batch."),
        click.option("--cache-dir", type=click.Path(file_okay=False), help=CACHE_HELP),
        click.option("--threads", type=click.IntRange(1), help="Torch CPU threads [default: torch's choice]."),
        click.option("--device", **_recipe("device"), help="auto (CUDA when available), cpu or cuda."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@main.command()
@_training_options(data_required=True)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Run directory.")
@click.option("--backbone", type=click.Choice(BACKBONES), **_recipe("backbone"),
              help="scratch: a small CNN (three convolution blocks over the log-mel spectrogram) learned from "
                   "nothing; musicnn-msd: musicnn's network pretrained on the Million Song Dataset, with a genre "
                   "head.")
@click.option("--tuning", type=click.Choice(TUNINGS), **_recipe("tuning"),
              help="What of a pretrained backbone learns: nothing (frozen), its mid and back end (partial), all.")
@click.option("--attention/--no-attention", **_recipe("attention"),
              help="scratch: channel and spatial attention in every block; musicnn-msd: an attention head on "
                   "its frame features instead of a linear head on its embedding.")
@click.option("--head-features", type=click.Choice(HEAD_FEATURES), **_recipe("head_features"),
              help="musicnn-msd's linear head: on its embedding, its 50 Last.fm tag probabilities, or both.")
@click.option("--head-fit", type=click.Choice(HEAD_FITS), **_recipe("head_fit"),
              help="musicnn-msd's frozen linear head: trained by the epochs' loop (sigmoid outputs), or fitted as "
                   "tagger learn fits one (softmax outputs, multinomial logistic regression, its regularisation by "
                   "cross-validation within the training tracks).")
@click.option("--loss", type=click.Choice(["bce", "focal"]), **_recipe("loss"),
              help="bce: binary cross-entropy with class weights; focal: asymmetric focal loss.")
def train(**options) -> None:
    """Train one configuration; writes config, split, metrics, curves, confusion matrix and checkpoint."""
    from trainer.data.sources import DatasetError
    from trainer.train import train as run_training

    options["data"], options["out"] = str(options["data"]), str(options["out"])
    try:
        run_training(TrainConfig(**options), _log)
    except (DatasetError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    _log(f"run written to {options['out']}")


def _given(options: dict[str, Any]) -> frozenset[str]:
    """The options the command line set (not defaults)."""
    context = click.get_current_context()
    return frozenset(name for name in options if context.get_parameter_source(name) is ParameterSource.COMMANDLINE)


@main.command()
@_training_options(data_required=False)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output directory.")
@click.option("--runs", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Compare these existing runs instead of training (repeat the option).")
@click.option("--configs", help="Comma-separated configurations to train [default: "
              "scratch-attention, scratch-plain, musicnn-frozen-linear, musicnn-frozen-attention, musicnn-finetuned; "
              "also known: scratch-attention-focal, scratch-plain-focal, musicnn-frozen-tags, "
              "musicnn-frozen-embedding-tags, musicnn-partial].")
@click.option("--folds", type=click.IntRange(2), help="K-fold cross-validation: every configuration trains on "
              "every fold, every track is tested once, the statistics run over all pooled tracks.")
@click.option("--seeds", type=click.IntRange(1), default=1, show_default=True, help="Trainings per configuration.")
@click.option("--bootstrap", type=click.IntRange(100), default=2000, show_default=True, help="Bootstrap replicates.")
@click.option("--permutations", type=click.IntRange(100), default=2000, show_default=True,
              help="Permutations of the paired permutation test.")
def compare(out, runs, configs, folds, seeds, bootstrap, permutations, **options) -> None:
    """Train configurations on one split (or on every fold of a cross-validation) and compare them on the same
    test tracks, with honest statistics."""
    from trainer.compare import (
        DEFAULT_CONFIGS,
        GRID,
        Candidate,
        compare_candidates,
        markdown,
        train_grid,
        write_outputs,
    )
    from trainer.data.prepare import cross_validation_splits
    from trainer.data.sources import DatasetError

    if runs:
        candidates = [Candidate(run.name, [run]) for run in runs]
    else:
        if options["data"] is None:
            raise click.UsageError("give --data to train, or --runs to compare existing runs")
        names = [name.strip() for name in configs.split(",") if name.strip()] if configs else list(DEFAULT_CONFIGS)
        unknown = [name for name in names if name not in GRID]
        if unknown:
            raise click.BadParameter(f"unknown {', '.join(unknown)}; known: {', '.join(GRID)}", param_hint="--configs")
        options["data"] = str(options["data"])
        base = TrainConfig(out=str(out), **options)
        try:
            splits = cross_validation_splits(base, folds, _log) if folds else None
            candidates = train_grid(base, out, names, seeds, _log, splits, _given(options))
        except (DatasetError, ValueError) as error:
            raise click.ClickException(str(error)) from error
    try:
        result = compare_candidates(candidates, bootstrap, permutations)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    write_outputs(result, out)
    click.echo(markdown(result))
    _log(f"written: {out / 'comparison.json'}, {out / 'comparison.md'}, {out / 'bootstrap.png'}")


@main.command()
@click.argument("cross_validation", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Run directory.")
@click.option("--threads", type=click.IntRange(1), help="Torch CPU threads [default: the folds'].")
def refit(cross_validation, out, threads) -> None:
    """Train a cross-validated configuration (a folder `compare --folds` wrote) again on all its tracks.

    Epochs and thresholds come from the folds; the model carries the pooled cross-validated figures."""
    from trainer.data.sources import DatasetError
    from trainer.refit import refit as run_refit

    try:
        run_refit(cross_validation, out, _log, threads)
    except (DatasetError, ValueError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from error
    _log(f"run written to {out}; export it with: trainer export {out} --out model.onnx")


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--data", type=click.Path(exists=True), help="Evaluate on every track here instead of the test split.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def evaluate(run_dir, data, as_json) -> None:
    """Evaluate a trained run on its held-out test tracks (or on another dataset)."""
    from trainer.train import evaluate_run

    try:
        result = evaluate_run(run_dir, data, _log)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(result, indent=1))
    else:
        track = result["track"]
        click.echo(f"{track['n']} tracks: top-1 accuracy {track['top1_accuracy']:.3f}, "
                   f"F1 macro {track['macro']['f1']:.3f}, weighted {track['weighted']['f1']:.3f}, "
                   f"samples {track['samples']['f1']:.3f}")


@main.command("cache")
@click.option("--cache-dir", type=click.Path(file_okay=False), help=CACHE_HELP)
@click.option("--clear", is_flag=True, help="Delete the cached waveforms and features (they are made again when "
              "needed).")
def cache_command(cache_dir, clear) -> None:
    """Where the trainer's cache is and how big it is; --clear empties it."""
    from trainer.data.cache import cache_parts, cache_root, clear_cache

    root = cache_root(cache_dir)
    for part in cache_parts(root):
        click.echo(f"{part.name:16} {part.files:6d} files {part.size / 2**20:10.1f} MiB  {part.path}")
    if clear:
        click.echo(f"cleared: {clear_cache(root) / 2**20:.1f} MiB freed")


@main.command("export")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="ONNX file to write.")
@click.option("--quantize", type=click.Choice(["int8"]), help="Also quantize the CNN weights to INT8.")
@click.option("--windows", "inference_windows", type=click.IntRange(1),
              help="Windows per track the tagger should analyse (stored in the metadata) [default: the run's "
                   f"choice on its validation tracks, else {DEFAULT_INFERENCE_WINDOWS}].")
@click.option("--model-version", help="Version string stored in the metadata [default: from the run].")
@click.option("--force", is_flag=True, help="Export a model without a usable calibration, and keep an INT8 copy "
              "that disagrees with the float model.")
def export_command(source, out, quantize, inference_windows, model_version, force) -> None:
    """Export a run directory or checkpoint to one self-describing ONNX file, checked against PyTorch; say
    how good the model was on held-out tracks, and warn when that is near chance."""
    from export.onnx_export import ExportError, export_checkpoint

    try:
        report = export_checkpoint(source, out, quantize=quantize, inference_windows=inference_windows,
                                   model_version=model_version, force=force)
    except ExportError as error:
        raise click.ClickException(str(error)) from error
    for line in report.lines():
        click.echo(line, err=line.startswith("WARNING"))
