"""One ``tagger scan`` from found files to closing lines: discovery, the scan with its progress and
per-file lines, the report, and how the run ended (``ScanEnding``: its closing lines and exit status).

The click command only turns flags into ``ScanOptions`` and hands them here, so that everything a scan
says and every exit status it chooses can be read (and tested) in one place.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click

from tagger.exit_status import ExitStatus
from tagger.model import GenreModel, ModelError
from tagger.outcome import Status
from tagger.printable import printable
from tagger.progress import InPathOrder, Progress
from tagger.report import STDOUT, ReportError, json_lines, skip_reasons, summary, write_report
from tagger.scan import FileResult, Scanner, discover
from tagger.scan_options import ScanOptions
from tagger.state import StateStore
from tagger.state_base import StateError

INTERRUPTED, CLOSED_PIPE = "interrupted", "stopped: standard output was closed"


@dataclass(frozen=True)
class Presentation:
    """How the run talks: the report's destination (``-``: JSON lines on standard output), ``-v`` and ``-q``."""

    report: Path | None = None
    verbose: bool = False
    quiet: bool = False

    @property
    def report_to_stdout(self) -> bool:
        return self.report is not None and str(self.report) == STDOUT


@dataclass
class ScanEnding:
    """How a scan ended: its records, and what stopped it early, if anything."""

    options: ScanOptions
    run_id: int
    verbose: bool
    found: int
    results: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    stopped_by: str = ""  # INTERRUPTED, CLOSED_PIPE, or "stopped" with a failure saying why
    failures: list[str] = field(default_factory=list)  # a report that could not be written, a state error
    cache_error: str = ""
    heard: str = Scanner.HEARD

    def lines(self) -> list[str]:
        """The closing lines, for standard error: the summary, why files were skipped, what stopped the
        run, and what to do next (undo, write, change the mode)."""
        results = self.results
        lines = [summary(results, self.seconds, self.heard)]
        reasons = [] if self.verbose else skip_reasons(results)
        if reasons:
            lines += ["skipped, and why (-v names each file):", *map(printable, reasons)]
        uncertain = sum(result.status == Status.UNCERTAIN for result in results)
        if uncertain and not self.verbose:
            lines.append(f"{uncertain} file(s) uncertain: their top genre was below --min-confidence, so nothing "
                         "was written (-v names each with its best guess)")
        if self.stopped_by:
            lines.append(f"{self.stopped_by}: {self.found - len(results)} file(s) not handled; "
                         "every change made so far is complete and journalled")
        lines += [f"error: {printable(failure)}" for failure in self.failures]
        if self.cache_error:
            lines.append(f"warning: results could not be cached ({self.cache_error}); a later scan analyses them "
                         "again")
        if self.options.write_tags and self._any(Status.TAGGED):
            lines.append(f"run {self.run_id}: undo with `tagger undo {self.run_id}`")
        elif not self.options.write_tags and self._any(Status.WOULD_TAG):
            lines.append("dry run: no file was changed; add --write-tags to write these genres")
        kept = sum(result.status == Status.KEPT for result in results)
        if kept:
            lines.append(f"{kept} file(s) kept the genres they had; --mode merge or --mode replace changes them")
        return lines

    def exit_status(self) -> ExitStatus:
        if self.stopped_by == INTERRUPTED:
            return ExitStatus.INTERRUPTED
        if self.stopped_by == CLOSED_PIPE:
            return ExitStatus.CLOSED_PIPE
        failed = self.failures or self._any(Status.ERROR)
        return ExitStatus.SOME_FAILED if failed else ExitStatus.OK

    def _any(self, status: Status) -> bool:
        return any(result.status == status for result in self.results)


def run_scan(paths: tuple[Path, ...], options: ScanOptions, exclude: tuple[str, ...], model: GenreModel,
             store: StateStore, presentation: Presentation, on_closed_output: Callable[[], None],
             scanner: Callable[[GenreModel, StateStore, ScanOptions, int], Scanner] = Scanner) -> ExitStatus:
    """Scan ``paths`` and say how it went; the exit status. ``on_closed_output`` silences the closed
    standard output when the reader of the output went away; ``scanner``: how files are heard (`tagger
    apply` hears them in a results table)."""
    run_id = store.journal.begin_run(" ".join(["tagger", *sys.argv[1:]]))
    try:
        found = list(discover(paths, remove_stale_copies=options.write_tags, exclude=exclude))
    except KeyboardInterrupt:
        store.journal.finish_run(run_id)
        click.echo("interrupted while looking for audio files; no file was analysed or changed", err=True)
        return ExitStatus.INTERRUPTED
    if not found:
        click.echo(f"no audio files found under {printable(', '.join(map(str, paths)))}", err=True)
        store.journal.finish_run(run_id)
        return ExitStatus.OK
    active = scanner(model, store, options, run_id)
    ending = ScanEnding(options, run_id, presentation.verbose, len(found), heard=active.HEARD)
    try:
        _scan_found(found, active, ending, presentation, on_closed_output)
    finally:
        store.journal.finish_run(run_id)
    ending.cache_error = store.cache.error or ""
    _report(ending, presentation, {"run_id": run_id, "model_id": model.info.model_id}, model.info.labels)
    for line in ending.lines():
        click.echo(line, err=True)
    return ending.exit_status()


def _scan_found(found: list[Path | FileResult], scanner: Scanner, ending: ScanEnding, presentation: Presentation,
                on_closed_output: Callable[[], None]) -> None:
    """Run the scan with its progress bar and per-file lines, filling ``ending`` as files are settled."""
    progress = Progress(len(found), enabled=not presentation.quiet)
    show = _per_file_lines(progress, presentation)
    in_order = InPathOrder([str(item if isinstance(item, Path) else item.path) for item in found], show)

    def on_result(result: FileResult) -> None:
        ending.results.append(result)
        progress.advance()
        in_order.add(result)

    started = time.monotonic()
    try:
        scanner.run(found, on_result)
    except KeyboardInterrupt:  # Ctrl-C: what was done stays done (and journalled); say so, then stop
        ending.stopped_by = INTERRUPTED
    except BrokenPipeError:  # the reader of our output went away (| head): stop as if by Ctrl-C, say why
        on_closed_output()
        ending.stopped_by = CLOSED_PIPE
    except (StateError, ModelError) as error:  # no journal, or a model that does not run: stop, saying why
        ending.stopped_by = "stopped"
        ending.failures.append(str(error))
    finally:
        in_order.flush()
        progress.close()
    ending.seconds = time.monotonic() - started


def _per_file_lines(progress: Progress, presentation: Presentation) -> Callable[[FileResult], None]:
    """What is said of each file: errors always; changes unless ``-q``; every file with ``-v``."""

    def show(result: FileResult) -> None:
        if result.status == Status.ERROR:
            progress.say(f"error: {printable(result.path)}: {printable(result.error)}", err=True)
        elif not presentation.quiet and (result.status in (Status.TAGGED, Status.WOULD_TAG) or presentation.verbose):
            explained = result.status in (Status.SKIPPED, Status.UNCERTAIN)
            was = "" if explained else f" (was: {', '.join(result.previous) or 'none'})"
            detail = result.reason if explained else ", ".join(result.genres) + was
            progress.say(f"{result.status}: {printable(result.path)}: {printable(detail)}",
                         err=presentation.report_to_stdout)

    return show


def _report(ending: ScanEnding, presentation: Presentation, identity: dict[str, object], labels: list[str]) -> None:
    """Write the report where it was asked for; one that cannot be written is the run's failure."""
    if presentation.report_to_stdout:
        for line in json_lines(ending.results, identity):
            click.echo(line)
    elif presentation.report is not None:
        try:
            write_report(ending.results, presentation.report, identity, labels)
        except ReportError as error:
            ending.failures.insert(0, str(error))
