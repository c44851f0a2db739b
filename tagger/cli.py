"""The ``tagger`` command: a thin shell over the library that does all the talking to the terminal."""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tagger import learning, scan_options, worker_start
from tagger.exit_status import ExitStatus
from tagger.scan_options import BY_NAME, DECISION, GENRE_OPTIONS, SETTINGS, ScanOption

if TYPE_CHECKING:
    from tagger.model import GenreModel
    from tagger.state import StateStore


def run() -> None:
    """The console script: ``main``, ended quietly when the program reading our output goes away
    (``tagger scan ... | head``), as standard tools end; a scan says its summary on standard error first."""
    worker_start.one_blas_thread()
    try:
        main()
    except BrokenPipeError:
        _discard_closed_output()
        sys.exit(ExitStatus.CLOSED_PIPE)


def _discard_closed_output() -> None:
    """Point standard output (and standard error, if it went to the same closed pipe) at /dev/null, so that
    the interpreter's last flush does not fail with a traceback of its own."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        if not _flushed(stream):
            os.dup2(devnull, stream.fileno())
    os.close(devnull)


def _flushed(stream) -> bool:
    try:
        stream.flush()
    except (OSError, ValueError):
        return False
    return True


def _state_dir_option(function):
    return click.option(
        "--state-dir",
        type=click.Path(path_type=Path),  # a file here is reported by _open_store, where a dry run goes on
        envvar="TAGGER_STATE_DIR",
        help="Where results and the undo journal live [default: $XDG_STATE_HOME/genre-tagger].",
    )(function)


def _resolve_model(_context: click.Context, _parameter: click.Parameter, value: str | None) -> Path:
    from tagger.model import ModelError, resolve_model

    try:
        return resolve_model(value)
    except ModelError as error:
        raise click.BadParameter(str(error)) from error


def _resolve_model_argument(context: click.Context, parameter: click.Parameter, value: str | None) -> Path | None:
    """A model named as an argument (``tagger info mine.onnx``), resolved as --model is; None when absent."""
    return None if value is None else _resolve_model(context, parameter, value)


class NotAModelError(click.ClickException):
    """The --model given is not a model the tagger can use: a usage error, said in one line."""

    exit_code = ExitStatus.USAGE


def _load_model(model_path: Path, threads: int = 1, *, session: bool = True):
    """The --model, checked; ``session``: with its onnxruntime session (a scan's main process needs none)."""
    from tagger.model import GenreModel, ModelError

    try:
        return GenreModel(model_path, threads=threads, session=session)
    except ModelError as error:
        raise NotAModelError(str(error)) from error


def _open_store(state_dir: Path | None, *, reading_will_do: bool = False):
    """The state store; where ``reading_will_do`` (a dry run, ``undo --list``), a read-only one when it
    cannot be written, with a warning. Otherwise a state that cannot be written is a one-line error."""
    from tagger.state import StateStore, default_state_dir
    from tagger.state_base import describe

    with _state_errors_end_the_command():
        directory = state_dir or default_state_dir()

    def say(message: str) -> None:
        click.echo(message, err=True)

    if reading_will_do:
        store, reason = StateStore.for_reading(directory, on_wait=say)
        if reason:
            say(f"warning: the state directory {directory} cannot be written ({reason}); "
                "reading it only, and caching nothing")
        return store
    try:
        return StateStore(directory, on_wait=say)
    except (OSError, sqlite3.Error) as error:
        damaged = isinstance(error, sqlite3.DatabaseError) and "not a database" in str(error)
        advice = "; it holds the undo journal: move it aside to start afresh" if damaged else ""
        raise click.ClickException(f"cannot open the state directory {directory}: {describe(error)}{advice}") \
            from error


@contextlib.contextmanager
def _state_errors_end_the_command() -> Iterator[None]:
    """A state database that cannot journal (locked, full, read-only) ends the command with its one line."""
    from tagger.state_base import StateError

    try:
        yield
    except StateError as error:
        raise click.ClickException(str(error)) from error


class _Probability(click.FloatRange):
    """A probability from 0 to 1; "nan", which every comparison lets through, is refused as well."""

    name = "probability"

    def __init__(self) -> None:
        super().__init__(0, 1)

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number from 0 to 1", param, ctx)
        return number


def _declared(*names: str, renamed: dict[str, str] | None = None):
    """The click options of the declared scan options ``names`` (``tagger.scan_options``), in that order;
    ``renamed``: a parameter name the command's function uses instead of the option's own."""

    def decorate(function):
        for name in reversed(names):
            function = _click_option(BY_NAME[name], (renamed or {}).get(name, name))(function)
        return function

    return decorate


def _click_option(option: ScanOption, parameter: str):
    values = option.values
    shown = option.shown_default or (option.default is not None and not isinstance(values, scan_options.Flag))
    settings = {"default": option.default, "help": option.help, "show_default": shown, "metavar": values.metavar}
    if isinstance(values, scan_options.Flag):
        settings.update(is_flag=True, show_default=False)
    elif isinstance(values, scan_options.Probability):
        settings["type"] = _Probability()
    elif isinstance(values, scan_options.Count):
        settings["type"] = click.IntRange(values.low, values.high)
    elif isinstance(values, scan_options.Choice):
        settings.update(type=click.Choice(values.choices), metavar=None)
    elif isinstance(values, scan_options.Patterns):
        settings.update(multiple=True, default=tuple(option.default))
    elif isinstance(values, scan_options.ModelName):
        settings["callback"] = _resolve_model
    return click.option(option.flag, parameter, **settings)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="genre-tagger")
@click.pass_context
def main(context: click.Context) -> None:
    """Tag a music library with genres predicted from the audio.

    Settings: a TOML file, $XDG_CONFIG_HOME/genre-tagger/config.toml or $TAGGER_CONFIG (`tagger config`
    shows them); flags override it.
    """
    from tagger.settings import ConfigError, load_settings

    try:
        settings = load_settings()
    except ConfigError as error:
        raise click.UsageError(str(error)) from error
    context.obj = settings
    # Each command takes, as its defaults, the settings named like its own options (predict: the decision rule).
    context.default_map = {
        command_name: {name: value for name, value in settings.scan.items() if name in _option_names(command)}
        for command_name, command in (("scan", scan), ("predict", predict), ("info", info), ("learn", learn),
                                      ("batch", batch), ("apply", apply))
    }


def _option_names(command: click.Command) -> set[str]:
    return {parameter.name for parameter in command.params if parameter.name}


class ScanCommand(click.Command):
    """``tagger scan``, whose --help ends with what a person needs beside the options: the formats, the
    exit statuses, and where the state lives on this machine (resolved when help is asked for)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from tagger.formats import FORMATS
        from tagger.settings import config_path
        from tagger.state import default_state_dir
        from tagger.state_base import StateError
        from tagger.xdg import NoHomeError

        def where(find: Callable[[], Path]) -> str:
            try:
                return str(find())
            except (StateError, NoHomeError) as error:
                return str(error)

        with formatter.section("Formats"):
            formatter.write_dl([(f.name, " ".join(sorted(f.suffixes)) + ("" if f.tags else " (analysed; no genre "
                                                                                       "tag written)"))
                                for f in FORMATS])
        with formatter.section("Exit status"):
            formatter.write_dl([(str(int(status)), status.meaning) for status in ExitStatus])
        with formatter.section("Files"):
            formatter.write_dl([
                ("state", f"{where(default_state_dir)}: cached results and the undo journal (--state-dir, else "
                          "$TAGGER_STATE_DIR, else $XDG_STATE_HOME/genre-tagger, else ~/.local/state/genre-tagger)"),
                ("settings", f"{where(config_path)} ($TAGGER_CONFIG, else $XDG_CONFIG_HOME/genre-tagger/"
                             "config.toml, else ~/.config/genre-tagger/config.toml; `tagger config` shows them)"),
            ])


SCAN_FLAGS = ("write_tags", "model", *DECISION, "mode", "id3v23", "separator", "jobs", "windows")
ANALYSIS_FLAGS = ("force", "analyse_all", "exclude")


@main.command(cls=ScanCommand)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@_declared(*SCAN_FLAGS)
@click.option("--report", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="Write FILE.json or FILE.csv, or JSON lines to standard output with `-` (the other output "
                   "then goes to standard error).")
@_declared(*ANALYSIS_FLAGS)
@_state_dir_option
@click.option("-v", "--verbose", is_flag=True, help="List every file, and show tracebacks of unexpected errors.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no per-file lines: errors and the summary only.")
@click.pass_obj
def scan(settings, paths, report, state_dir, verbose, quiet, **values):
    """Predict genres for the audio files under PATHS and (with --write-tags) write them into the tags."""
    _scan_with(settings, paths, report, state_dir, verbose, quiet, values)


def _scan_with(settings, paths: tuple[Path, ...], report: Path | None, state_dir: Path | None, verbose: bool,
               quiet: bool, values: dict, scanner: Callable | None = None, model: GenreModel | None = None) -> None:
    """A scan of ``paths`` from the command line's values, to its exit status; ``scanner``: what builds the
    Scanner that hears the files, where not the decoder and the model (`tagger apply`); ``model``: the
    --model already loaded."""
    from tagger.recovery import settle_pending
    from tagger.report import ReportError, check_destination
    from tagger.scan import Scanner
    from tagger.scan_options import ScanOptions
    from tagger.scan_session import Presentation, run_scan

    presentation = Presentation(report, verbose, quiet)
    if report is not None and not presentation.report_to_stdout:
        try:
            check_destination(report)
        except ReportError as error:
            raise click.BadParameter(str(error), param_hint="--report") from error
    options = ScanOptions.from_values(values, settings.vocabulary)
    model = model or _load_model(values["model"], session=False)
    store = _open_store(state_dir, reading_will_do=not options.write_tags)
    _note_outputs_inside(paths, {"the state directory (cache and undo journal)": store.path.parent,
                                 "the report": None if report is None or presentation.report_to_stdout else report})
    try:
        with _state_errors_end_the_command():
            if not store.read_only:
                settle_pending(store)
            status = run_scan(paths, options, tuple(values.get("exclude", ())), model, store, presentation,
                              _discard_closed_output, scanner or Scanner)
    finally:
        store.close()
    if status is not ExitStatus.OK:
        sys.exit(status)


def _note_outputs_inside(roots: tuple[Path, ...], outputs: dict[str, Path | None]) -> None:
    """Say so where a file we write (the report, the state) lies inside a folder being scanned: it is the
    user's tree, and nothing of ours should land there unannounced."""
    from tagger.printable import printable

    folders = [root.resolve() for root in roots if root.is_dir()]
    for what, place in outputs.items():
        if place is None:
            continue
        inside = next((folder for folder in folders if place.resolve().is_relative_to(folder)), None)
        if inside is not None:
            click.echo(f"note: {what} {printable(str(place))} is inside the scanned folder {printable(str(inside))}",
                       err=True)


def _extra_missing(extra: str, error: ImportError) -> click.ClickException:
    """The one line for a command whose optional dependencies are not installed."""
    return click.ClickException(f"this command needs the {extra} extra ({error.name} is missing): "
                                f"pip install 'genre-tagger[{extra}]'")


@main.command()
@click.argument("source")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="The results: a folder of Parquet parts, added to as the run goes (a rerun resumes).")
@_declared("model", *DECISION, "windows", "exclude")
@click.option("--address", envvar="RAY_ADDRESS", help="A Ray cluster to run on (ray://HOST:PORT, or RAY_ADDRESS) "
              "[default: a local Ray instance on this machine's cores].")
@click.option("--actors", type=click.IntRange(1), help="Model sessions analysing at once [default: one per CPU "
              "of the cluster].")
@click.pass_obj
def batch(settings, source, out, address, actors, **values):
    """Analyse the audio SOURCE names on a Ray cluster and write the results as a Parquet table; nothing is
    written into the audio files (`tagger apply` does that).

    SOURCE: a folder, a glob, a prefix in object storage (s3://bucket/music/), or a manifest (.txt with a
    path or URI per line, .csv or .parquet with a path column). Needs the cluster extra.
    """
    try:
        from tagger.batch.results import ResultsError
        from tagger.batch.run import run_batch
        from tagger.batch.sources import SourceError
    except ImportError as error:
        raise _extra_missing("cluster", error) from error
    from tagger.model import ModelError
    from tagger.printable import printable
    from tagger.scan_options import ScanOptions

    options = ScanOptions.from_values(values, settings.vocabulary)  # the decision rule and windows of a scan

    def say(line: str) -> None:
        click.echo(printable(line), err=True)

    try:
        summary = run_batch(source, out, values["model"], options, tuple(values["exclude"]), address, actors, say)
    except (SourceError, ResultsError, ModelError) as error:
        raise click.ClickException(str(error)) from error
    except OSError as error:  # storage that cannot be listed (no credentials, no such bucket), an unwritable --out
        raise click.ClickException(f"{error.strerror or error}") from error
    for line in summary.lines():
        say(line)


@main.command()
@click.argument("results", type=click.Path(exists=True, path_type=Path))
@_declared("write_tags", "model", *DECISION, "mode", "id3v23", "separator")
@click.option("--report", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="Write FILE.json or FILE.csv, as `tagger scan --report`.")
@_state_dir_option
@click.option("-v", "--verbose", is_flag=True, help="List every file.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no per-file lines.")
@click.pass_obj
def apply(settings, results, report, state_dir, verbose, quiet, **values):
    """Write the genres of a `tagger batch` table into the local files it names, exactly as `tagger scan
    --write-tags` would (dry run unless --write-tags; fill-empty unless --mode; `tagger undo` restores)."""
    import functools

    try:
        from tagger.batch.apply import ApplyScanner, rows_by_path
        from tagger.batch.results import ResultsError
    except ImportError as error:
        raise _extra_missing("cluster", error) from error

    loaded = _load_model(values["model"])
    try:
        rows = rows_by_path(results, loaded.info.model_id, loaded.info.labels)
    except ResultsError as error:
        raise click.ClickException(str(error)) from error
    present = tuple(Path(path) for path in rows if os.path.lexists(path))
    for path in sorted(set(rows) - set(map(str, present))):
        click.echo(f"error: {path}: no such file (named in {results})", err=True)
    if not present:
        raise click.ClickException(f"none of the files {results} names is here")
    _scan_with(settings, present, report, state_dir, verbose, quiet, {**values, "force": True},
               functools.partial(ApplyScanner, rows), loaded)


@main.command("config")
@click.pass_obj
def config_command(settings) -> None:
    """Show the effective settings and where each came from (the settings file or the built-in default)."""
    from tagger.printable import printable

    state = "found" if settings.found else "not found: built-in defaults apply"
    click.echo(f"settings file: {settings.path} ({state})")
    genres = {"map": settings.vocabulary.mapping, "allow": settings.vocabulary.allow}
    rows = [(option.name, option, settings.scan.get(option.name), option.name in settings.scan)
            for option in SETTINGS.values()]
    rows += [(f"genres.{option.name}", option, genres[option.name], genres[option.name] != option.default)
             for option in GENRE_OPTIONS]
    for key, option, found, from_file in rows:
        value = found if from_file else option.default
        shown = option.shown_default if value is None and option.shown_default else _shown(value)
        click.echo(f"  {key:<15} {printable(shown):<28} ({'settings file' if from_file else 'default'})")


def _shown(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key} -> {target or '(dropped)'}" for key, target in value.items()) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "none"
    return "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


@main.command()
@click.argument("run_id", type=int, required=False)
@click.option("--list", "list_runs", is_flag=True, help="List runs that changed tags, newest first.")
@click.option("--force", is_flag=True, help="Restore even files whose genres were changed since the run.")
@_state_dir_option
def undo(run_id, list_runs, force, state_dir):
    """Restore exactly the genre tags that a run changed (default: the latest run with changes)."""
    from tagger.printable import printable
    from tagger.recovery import settle_pending, undo_run

    store = _open_store(state_dir, reading_will_do=list_runs)
    if list_runs:
        for identifier, started, command, undoable in store.journal.runs_with_changes():
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
            click.echo(f"{identifier:>5}  {stamp}  {undoable or 0:>6} undoable  {printable(command)}")
        return
    with _state_errors_end_the_command():
        settle_pending(store)  # a change a crash left pending is undoable like any other
    run_id, nothing = _run_to_undo(store, run_id)
    if nothing:
        click.echo(f"nothing to undo: {nothing} (`tagger undo --list` shows the runs)", err=True)
        return
    with _state_errors_end_the_command():
        outcomes = undo_run(store, run_id, force=force)
    for outcome in outcomes:
        if not outcome.restored:
            click.echo(f"not restored: {printable(outcome.path)}: {printable(outcome.message)}", err=True)
    restored = sum(outcome.restored for outcome in outcomes)
    click.echo(f"run {run_id}: restored {restored} of {len(outcomes)} files", err=True)
    store.close()
    if restored < len(outcomes):
        sys.exit(ExitStatus.SOME_FAILED)


def _run_to_undo(store: StateStore, asked: int | None) -> tuple[int, str]:
    """The run to undo (the one asked for, else the latest with changes left to restore), or why there is
    nothing to: the same answer whether the run was named or not. A run that does not exist is a usage error."""
    undoable = {row[0]: row[3] or 0 for row in store.journal.runs_with_changes()}
    run_id = asked if asked is not None else store.journal.last_undoable_run() or max(undoable, default=None)
    if run_id is None:
        return 0, "no run has changed tags yet"
    if run_id not in undoable:
        if not store.journal.has_run(run_id):
            raise click.UsageError(f"there is no run {run_id} (`tagger undo --list` shows the runs)")
        return run_id, f"run {run_id} changed no tags"
    if undoable[run_id] == 0:
        return run_id, f"run {run_id}'s changes were undone already"
    return run_id, ""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The model file to write (.onnx); `tagger scan --model FILE` then uses it.")
@_declared("model")
@click.option("--windows", type=click.IntRange(1, 64), default=None, show_default="the model's windows per track",
              help="Windows embedded per track, and analysed per track by the learned model.")
@click.option("--min-tracks", type=click.IntRange(2), default=learning.MIN_TRACKS, show_default=True,
              help="Learn a genre only from at least this many tracks.")
@click.option("--group-by", type=click.Choice(learning.GROUPINGS), default=learning.GROUPINGS[0], show_default=True,
              help="Keep each album (or artist) on one side of the cross-validation; without the tag, a track "
                   "is its own group.")
@_declared("jobs", "separator", "exclude")
@_state_dir_option
@click.pass_obj
def learn(settings, paths, out, model, windows, min_tracks, group_by, jobs, separator, exclude, state_dir):
    """Learn your own genres from the genre tags of the files under PATHS, and write them as a model file.

    Needs the `learn` extra: pip install 'genre-tagger[learn]'. Nothing under PATHS is changed.
    """
    try:
        from tagger.learning.learn import LearnError, LearnOptions
        from tagger.learning.learn import learn as learn_genres
    except ImportError as error:
        raise _extra_missing("learn", error) from error
    from tagger.graph_edit import GraphEditError
    from tagger.model import ModelError
    from tagger.printable import printable

    if out.suffix.lower() != ".onnx":
        raise click.BadParameter(f"{printable(str(out))} is not a .onnx file name", param_hint="--out")
    base = _load_model(model)
    store = _open_store(state_dir)
    options = LearnOptions(out, windows, min_tracks, group_by, jobs, separator or None, tuple(exclude),
                           settings.vocabulary)
    try:
        learned = learn_genres(paths, base, store.embeddings, options,
                               lambda line: click.echo(printable(line), err=line.startswith("error:")))
    except (LearnError, ModelError, GraphEditError) as error:
        raise click.ClickException(str(error)) from error
    except OSError as error:  # the model file cannot be written there
        raise click.ClickException(f"cannot write {printable(str(out))}: {error.strerror or error}") from error
    finally:
        store.close()
    click.echo(f"wrote {printable(str(learned.model.path))}: {len(learned.labels.names)} genres, "
               f"{learned.model.info.inference_windows} windows per track")
    click.echo(f"next: tagger scan --model {printable(str(learned.model.path))} FOLDER  (a dry run; "
               "--write-tags writes)")


@main.command()
@click.argument("model_file", required=False, metavar="[MODEL]", callback=_resolve_model_argument)
@_declared("model")
def info(model_file, model):
    """Show what MODEL (a shipped model's name or a model file; default: --model) predicts and how it was
    made (its metadata)."""
    import json

    from tagger.printable import printable

    loaded = _load_model(model_file or model)
    meta = loaded.info
    click.echo(f"model file:     {printable(str(loaded.path))}")
    click.echo(f"model id:       {meta.model_id}  (version {meta.model_version})")
    click.echo(f"input:          {meta.window_seconds:g} s mono windows at {meta.sample_rate} Hz, "
               f"{meta.inference_windows} per track")
    click.echo(f"training data:  {printable(str(meta.training_data))}")
    calibration = meta.calibration
    click.echo(f"calibration:    temperature {calibration.temperature:.3g}"
               + (f", fitted on {calibration.fitted_on}" if calibration.fitted_on else " (not calibrated)"))
    minimum = meta.min_confidence()
    click.echo("min confidence: " + (f"{minimum:g} (below it a scan writes nothing)" if minimum else "none"))
    click.echo("genres and thresholds (calibrated):")
    for name, threshold in zip(meta.genre_names, meta.threshold_array(), strict=True):
        click.echo(f"  {printable(name):<14} {threshold:.2f}")
    for label, recipe in meta.broad_genres.items():
        try:
            described = (f"musicnn's tags {' + '.join(recipe['tags'])} summed past {recipe['cut']:g}; it takes "
                         f"{recipe['reference_share']:.1%} of the {recipe['fitted_on']} it was set on")
        except (KeyError, TypeError, ValueError):  # not what export/broad_genres.py writes
            described = json.dumps(recipe, sort_keys=True)
        click.echo(printable(f"broad genre {label}: {described}"))
    if recipe := meta.tag_agreement:
        try:
            described = (f"a genre is doubted where musicnn's tags for it sum below {recipe['cut']:g} "
                         f"({', '.join(recipe['families'])}); it changes what is written on "
                         f"{recipe['reference_share']:.1%} of the tagged {recipe['fitted_on']} it was set on")
        except (KeyError, TypeError, ValueError):  # not what export/tag_agreement.py writes
            described = json.dumps(recipe, sort_keys=True)
        click.echo(printable(f"tag agreement: {described}"))
    per_genre = meta.metrics.get("per_genre")
    overall = {key: value for key, value in meta.metrics.items() if key != "per_genre"}
    if overall:
        click.echo("held-out metrics: " + json.dumps(overall, sort_keys=True))
    if per_genre is not None:  # a learned model's cross-validated figures, genre by genre
        from tagger.learning.report import genre_table

        try:
            lines = genre_table({str(name): row for name, row in per_genre.items()})
        except (AttributeError, KeyError, TypeError, ValueError):  # not what `tagger learn` writes
            lines = ["  per genre: " + json.dumps(per_genre, sort_keys=True)]
        for line in lines:
            click.echo(printable(line))
    for part, notice in meta.licenses.items():
        click.echo(f"licence of {printable(part)}:")
        for line in notice.strip().splitlines():
            click.echo("  " + printable(line))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_declared("model", *DECISION, "windows", renamed={"model": "model_file"})
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def predict(settings, files, model_file, threshold, top_k, min_confidence, windows, as_json):
    """Print genre probabilities for each file, most likely first, marking (*) the genres a scan would
    choose and saying why each genre was taken or left."""
    import json

    from tagger.decision import DecisionRule
    from tagger.printable import printable
    from tagger.scan import not_a_regular_file
    from tagger.workers import analyze_in_processes

    model = _load_model(model_file)
    names = model.info.genre_names
    rule = DecisionRule.for_model(model.info, threshold, min_confidence, top_k, settings.vocabulary)
    problems = {str(path): "a folder: `tagger predict` takes audio files, `tagger scan` analyses folders"
                if path.is_dir() else not_a_regular_file(path) for path in files}
    analyses = {analysis.path: analysis for analysis in analyze_in_processes(
        [path for path, problem in problems.items() if not problem], 1, str(model.path),
        model.info.windows_per_track(windows))}
    failed, records = False, []
    for path in files:
        problem = problems[str(path)]
        analysis = None if problem else analyses[str(path)]
        if analysis is None or analysis.scores is None:
            failed = True
            reason = problem if analysis is None else analysis.error or analysis.skip_reason
            click.echo(f"error: {printable(str(path))}: {printable(reason)}", err=True)
            continue
        scores = analysis.scores
        decision, reasons = rule.decide(scores), rule.explain(scores)
        ranked = sorted(range(len(names)), key=lambda index: -scores[index])
        records.append({"path": str(path), "chosen": decision.chosen, "uncertain": bool(decision.uncertain),
                        "would_write": decision.genres,
                        "scores": {names[index]: float(scores[index]) for index in ranked},
                        "reasons": {names[index]: reasons[index] for index in ranked}})
        if not as_json:
            click.echo(printable(str(path)))
            for index in ranked:
                mark = "*" if names[index] in decision.chosen else " "
                bar = "#" * round(float(scores[index]) * 30)
                click.echo(f" {mark}{printable(names[index]):<14} {scores[index]:6.3f}  {bar:<30}  "
                           f"{printable(reasons[index])}")
            if decision.uncertain:
                click.echo(f"  uncertain: {decision.uncertain}; a scan writes nothing")
            elif decision.genres != decision.chosen:
                written = ", ".join(decision.genres) or "nothing"
                click.echo(f"  your settings (genres.map, genres.allow) write: {printable(written)}")
    if as_json:
        click.echo(json.dumps(records, indent=1, ensure_ascii=False))
    if failed:
        sys.exit(ExitStatus.SOME_FAILED)
