"""The ``tagger`` command: a thin shell over the library that does all the talking to the terminal."""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click

from tagger.genres import DEFAULT_MODE, DEFAULT_TOP_K, Mode
from tagger.settings import SCAN_SETTINGS

EXIT_SOME_FAILED = 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT: what shells report for a run stopped by Ctrl-C
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE: what `yes | head` reports for the writer whose reader went away


def run() -> None:
    """The console script: ``main``, ended quietly when the program reading our output goes away
    (``tagger scan ... | head``), as standard tools end; a scan says its summary on standard error first."""
    try:
        main()
    except BrokenPipeError:
        _discard_closed_output()
        sys.exit(EXIT_CLOSED_PIPE)


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


def _model_option(function):
    return click.option(
        "--model",
        "model_path",
        metavar="NAME|FILE",
        callback=_resolve_model,
        help="A model shipped with the tagger by name (e.g. default.int8; an unknown name lists them) or an ONNX "
             "model file [default: the shipped default model].",
    )(function)


def _load_model(model_path: Path, threads: int = 1):
    from tagger.model import GenreModel, ModelError

    try:
        return GenreModel(model_path, threads=threads)
    except ModelError as error:
        raise click.ClickException(str(error)) from error


def _open_store(state_dir: Path | None, *, reading_will_do: bool = False):
    """The state store; where ``reading_will_do`` (a dry run, ``undo --list``), a read-only one when it
    cannot be written, with a warning. Otherwise a state that cannot be written is a one-line error."""
    from tagger.state import StateStore, default_state_dir, describe

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
    from tagger.state import StateError

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


MAX_JOBS = 256  # worker processes; more than this is a typo, and would start that many interpreters
MAX_WINDOWS = 2000  # windows per track: a whole hour-long mix at 2 s a window


_windows_option = click.option("--windows", type=click.IntRange(1, MAX_WINDOWS),
                               help="Windows analysed per track [default: the model's].")


def _decision_options(function):
    """--threshold, --top-k and --min-confidence: the genre-decision rule, shared by scan and predict."""
    function = click.option("--min-confidence", type=_Probability(), default=None, metavar="P",
                            help="Write nothing (status uncertain) when the top genre's calibrated probability is "
                                 "below P; 0 always writes [default: the model's, chosen on held-out tracks; "
                                 "`tagger info` shows it].")(function)
    function = click.option("--top-k", type=click.IntRange(1), default=DEFAULT_TOP_K, show_default=True,
                            help="At most this many genres.")(function)
    return click.option("--threshold", type=_Probability(), default=None,
                        help="One probability threshold for every genre [default: the model's per genre].")(function)


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
        for command_name, command in (("scan", scan), ("predict", predict))
    }


def _option_names(command: click.Command) -> set[str]:
    return {parameter.name for parameter in command.params if parameter.name}


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--write-tags", is_flag=True, help="Write genres into the files (default: dry run, nothing changes).")
@_model_option
@_decision_options
@click.option(
    "--mode",
    type=click.Choice([mode.value for mode in Mode]),
    default=DEFAULT_MODE.value,
    show_default=True,
    help="fill-empty: tag only files without a genre (blank, Other, Unknown and the like count as none) and "
         "keep the genres people chose; merge: add predicted genres to existing ones; replace: overwrite them.",
)
@click.option("--id3v23", is_flag=True, help="Write ID3v2.3 tags to MP3s (default: keep each file's version).")
@click.option("--separator", default=None, metavar="TEXT",
              help="Write several genres as one value joined by TEXT, e.g. '; ', for players that show only a "
                   "field's first value; existing values are split on it too [default: one value per genre].")
@click.option("--jobs", type=click.IntRange(1, MAX_JOBS), default=os.cpu_count() or 1,
              show_default="number of cores", help="Worker processes that decode and analyse files in parallel.")
@_windows_option
@click.option("--report", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="Write FILE.json or FILE.csv, or JSON lines to standard output with `-` (the other output "
                   "then goes to standard error).")
@click.option("--force", is_flag=True, help="Analyse again even files whose results are cached.")
@click.option("--analyse-all", is_flag=True,
              help="Analyse files the mode leaves alone too (fill-empty: those with genres of their own), for their "
                   "scores in the report [default: they are kept without being analysed].")
@click.option("--exclude", multiple=True, default=(), metavar="PATTERN",
              help="Never scan paths matching this glob pattern, e.g. '*/Podcasts/*' (repeat the option).")
@_state_dir_option
@click.option("-v", "--verbose", is_flag=True, help="List every file, and show tracebacks of unexpected errors.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no per-file lines: errors and the summary only.")
@click.pass_obj
def scan(settings, paths, write_tags, model_path, threshold, top_k, min_confidence, mode, id3v23, separator, jobs,
         windows, report, force, analyse_all, exclude, state_dir, verbose, quiet):
    """Predict genres for the audio files under PATHS and (with --write-tags) write them into the tags."""
    from tagger.journal import settle_pending
    from tagger.outcome import Status
    from tagger.printable import printable
    from tagger.progress import InPathOrder, Progress
    from tagger.report import (
        STDOUT,
        ReportError,
        check_destination,
        json_lines,
        skip_reasons,
        summary,
        write_report,
    )
    from tagger.scan import Scanner, ScanOptions, discover
    from tagger.state import StateError

    to_stdout = report is not None and str(report) == STDOUT
    if report is not None and not to_stdout:
        try:
            check_destination(report)
        except ReportError as error:
            raise click.BadParameter(str(error), param_hint="--report") from error
    options = ScanOptions(write_tags=write_tags, mode=Mode(mode), threshold=threshold, min_confidence=min_confidence,
                          top_k=top_k, windows=windows, id3v23=id3v23, separator=separator or None, jobs=jobs,
                          force=force, analyse_all=analyse_all,
                          vocabulary=settings.vocabulary)
    model = _load_model(model_path)
    store = _open_store(state_dir, reading_will_do=not write_tags)
    _note_outputs_inside(paths, {"the state directory (cache and undo journal)": store.path.parent,
                                 "the report": None if report is None or to_stdout else report})
    with _state_errors_end_the_command():
        if not store.read_only:
            settle_pending(store)
        run_id = store.begin_run(" ".join(["tagger", *sys.argv[1:]]))
    try:
        found = list(discover(paths, remove_stale_copies=write_tags, exclude=exclude))
    except KeyboardInterrupt:
        store.finish_run(run_id)
        store.close()
        click.echo("interrupted while looking for audio files; no file was analysed or changed", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if not found:
        click.echo(f"no audio files found under {printable(', '.join(map(str, paths)))}", err=True)
        store.close()
        return
    progress = Progress(len(found), enabled=not quiet)
    results = []

    def show(result) -> None:
        if result.status == Status.ERROR:
            progress.say(f"error: {printable(result.path)}: {printable(result.error)}", err=True)
        elif not quiet and (result.status in (Status.TAGGED, Status.WOULD_TAG) or verbose):
            explained = result.status in (Status.SKIPPED, Status.UNCERTAIN)
            was = "" if explained else f" (was: {', '.join(result.previous) or 'none'})"
            detail = result.reason if explained else ", ".join(result.genres) + was
            progress.say(f"{result.status}: {printable(result.path)}: {printable(detail)}", err=to_stdout)

    in_order = InPathOrder([str(item if isinstance(item, Path) else item.path) for item in found], show)

    def on_result(result) -> None:
        results.append(result)
        progress.advance()
        in_order.add(result)

    started = time.monotonic()
    interrupted, closed_pipe, stopped, report_failure = False, False, "", ""
    try:
        Scanner(model, store, options, run_id).run(found, on_result)
    except KeyboardInterrupt:  # Ctrl-C: what was done stays done (and journalled); say so, then stop
        interrupted = True
    except BrokenPipeError:  # the reader of our output went away (| head): stop as if by Ctrl-C, say why
        _discard_closed_output()
        closed_pipe = True
    except StateError as error:  # no journal, no writes: stop, having said why
        stopped = str(error)
    finally:
        in_order.flush()
        progress.close()
        store.finish_run(run_id)
    seconds = time.monotonic() - started
    identity = {"run_id": run_id, "model_id": model.info.model_id}
    if to_stdout:
        for line in json_lines(results, identity):
            click.echo(line)
    elif report is not None:
        try:
            write_report(results, report, identity, model.info.labels)
        except ReportError as error:
            report_failure = str(error)
    click.echo(summary(results, seconds), err=True)
    reasons = [] if verbose else skip_reasons(results)
    if reasons:
        click.echo("skipped, and why (-v names each file):", err=True)
        for line in reasons:
            click.echo(printable(line), err=True)
    if report_failure:
        click.echo(f"error: {printable(report_failure)}", err=True)
    if interrupted or closed_pipe or stopped:
        why = "interrupted" if interrupted else "stopped: standard output was closed" if closed_pipe else "stopped"
        click.echo(f"{why}: {len(found) - len(results)} file(s) not handled; "
                   "every change made so far is complete and journalled", err=True)
    if stopped:
        click.echo(f"error: {printable(stopped)}", err=True)
    if store.cache_error:
        click.echo(f"warning: results could not be cached ({store.cache_error}); a later scan analyses them again",
                   err=True)
    if write_tags and any(result.status == Status.TAGGED for result in results):
        click.echo(f"run {run_id}: undo with `tagger undo {run_id}`", err=True)
    elif not write_tags and any(result.status == Status.WOULD_TAG for result in results):
        click.echo("dry run: no file was changed; add --write-tags to write these genres", err=True)
    kept = sum(result.status == Status.KEPT for result in results)
    if kept:
        click.echo(f"{kept} file(s) kept the genres they had; --mode merge or --mode replace changes them", err=True)
    store.close()
    if interrupted:
        sys.exit(EXIT_INTERRUPTED)
    if closed_pipe:
        sys.exit(EXIT_CLOSED_PIPE)
    if stopped or report_failure or any(result.status == Status.ERROR for result in results):
        sys.exit(EXIT_SOME_FAILED)


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


@main.command("config")
@click.pass_obj
def config_command(settings) -> None:
    """Show the effective settings and where each came from (the settings file or the built-in default)."""
    from tagger.printable import printable

    state = "found" if settings.found else "not found: built-in defaults apply"
    click.echo(f"settings file: {settings.path} ({state})")
    scan_context = click.Context(scan)
    defaults = {parameter.name: parameter.get_default(scan_context) for parameter in scan.params}
    for name in SCAN_SETTINGS:
        value, source = (settings.scan[name], "settings file") if name in settings.scan else (defaults[name], "default")
        shown = FROM_THE_MODEL if value is None and name in ("threshold", "min_confidence") else _shown(value)
        click.echo(f"  {name:<15} {printable(shown):<28} ({source})")
    vocabulary = settings.vocabulary
    mapping = ", ".join(f"{key} -> {value or '(dropped)'}" for key, value in vocabulary.mapping.items()) or "none"
    allow = ", ".join(vocabulary.allow) if vocabulary.allow is not None else "every genre"
    click.echo(f"  {'genre map':<15} {printable(mapping)}")
    click.echo(f"  {'allowed':<15} {printable(allow)}")


FROM_THE_MODEL = "the model's (tagger info)"


def _shown(value: object) -> str:
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
    from tagger.journal import settle_pending, undo_run
    from tagger.printable import printable

    store = _open_store(state_dir, reading_will_do=list_runs)
    if list_runs:
        for identifier, started, command, undoable in store.runs_with_changes():
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
            click.echo(f"{identifier:>5}  {stamp}  {undoable or 0:>6} undoable  {printable(command)}")
        return
    with _state_errors_end_the_command():
        settle_pending(store)  # a change a crash left pending is undoable like any other
    if run_id is not None and run_id not in {row[0] for row in store.runs_with_changes()}:
        raise click.UsageError(f"run {run_id} changed no tags (`tagger undo --list` shows the runs that did)")
    run_id = run_id if run_id is not None else store.last_undoable_run()
    if run_id is None:
        raise click.ClickException("no run with tag changes to undo")
    with _state_errors_end_the_command():
        outcomes = undo_run(store, run_id, force=force)
    for outcome in outcomes:
        if not outcome.restored:
            click.echo(f"not restored: {printable(outcome.path)}: {printable(outcome.message)}", err=True)
    restored = sum(outcome.restored for outcome in outcomes)
    click.echo(f"run {run_id}: restored {restored} of {len(outcomes)} files", err=True)
    store.close()
    if restored < len(outcomes):
        sys.exit(EXIT_SOME_FAILED)


@main.command()
@_model_option
def info(model_path):
    """Show what the model predicts and how it was made (its metadata)."""
    import json

    from tagger.printable import printable

    model = _load_model(model_path)
    meta = model.info
    click.echo(f"model file:     {printable(str(model.path))}")
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
    if meta.metrics:
        click.echo("held-out metrics: " + json.dumps(meta.metrics, sort_keys=True))
    for part, notice in meta.licenses.items():
        click.echo(f"licence of {printable(part)}:")
        for line in notice.strip().splitlines():
            click.echo("  " + printable(line))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_model_option
@_decision_options
@_windows_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def predict(settings, files, model_path, threshold, top_k, min_confidence, windows, as_json):
    """Print genre probabilities for each file, most likely first, marking (*) the genres a scan would
    choose and saying why each genre was taken or left."""
    import json

    from tagger.decision import DecisionRule
    from tagger.printable import printable
    from tagger.scan import not_a_regular_file
    from tagger.workers import analyze_in_processes

    model = _load_model(model_path)
    names = model.info.genre_names
    rule = DecisionRule.for_model(model.info, threshold, min_confidence, top_k, settings.vocabulary)
    problems = {str(path): "a folder: `tagger predict` takes audio files, `tagger scan` analyses folders"
                if path.is_dir() else not_a_regular_file(path) for path in files}
    analyses = {analysis.path: analysis for analysis in analyze_in_processes(
        [path for path, problem in problems.items() if not problem], 1, str(model.path),
        windows or model.info.inference_windows)}
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
        sys.exit(EXIT_SOME_FAILED)
