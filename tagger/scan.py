"""Scanning a library: find audio files, plan each from its tags, analyse in worker processes only the
files whose outcome depends on the audio, then decide (``tagger.outcome``) and write genres.

Workers only decode and run the model (the costly, parallel part); the main process owns the state
database and every tag write, so the journal's order always matches what happened to the files.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from tagger import __version__, atomic, tags
from tagger.analysis import Analysis
from tagger.change_journal import ChangeStatus
from tagger.decision import DecisionRule
from tagger.formats import TagHandlers, content_mismatch, is_audio_file
from tagger.genres import join_values, split_values
from tagger.model import GenreModel, ModelInfo
from tagger.outcome import Outcome, OutcomeRule, Plan, Status
from tagger.outcome_cache import SettledOutcome, identity_text, settings_key
from tagger.recovery import settle_pending_held
from tagger.result_cache import FileKey
from tagger.scan_options import ScanOptions
from tagger.state import StateStore


@dataclass
class FileResult:
    """One record of the report."""

    path: str
    status: Status
    genres: list[str] = field(default_factory=list)
    previous: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    reason: str = ""  # why a file was skipped or left uncertain
    error: str = ""  # why it failed (status error)
    cached: bool = False
    analysed: bool = False  # the model heard it in this run (cached: its result was found instead)


def discover(paths: Iterable[Path], remove_stale_copies: bool = False, exclude: Iterable[str] = (),
             ) -> Iterator[Path | FileResult]:
    """Audio files under ``paths`` in a stable order, each once; problems come back as FileResults.

    Symbolic links to files are followed (each real file is analysed once), links to directories are
    not, so a link loop cannot trap the walk. macOS resource forks (``._name``) are ignored, and so are
    paths matching a glob pattern of ``exclude``. With ``remove_stale_copies``, temporary copies left by
    a killed tagger are deleted on the way. Each folder's real path is found once, so a file that is no
    link costs its walk no system call of its own.
    """
    seen: set[str] = set()
    patterns = list(exclude)

    def accept(candidate: str, real: str) -> Path | FileResult | None:
        if not is_audio_file(Path(candidate)) or any(fnmatch.fnmatch(candidate, p) for p in patterns):
            return None
        if real in seen:
            return None
        seen.add(real)
        real_path = Path(real)
        not_regular = not_a_regular_file(real_path)
        if not_regular:
            return FileResult(candidate, Status.ERROR, error=not_regular)
        return real_path

    problems: list[OSError] = []  # directories the walk could not list, reported where they were met
    for root in paths:
        if not root.is_dir():
            if not is_audio_file(root):
                yield FileResult(str(root), Status.ERROR, error=_not_an_audio_file(root))
            elif (found := accept(str(root), os.path.realpath(root))) is not None:
                yield found
            continue
        for directory, files in _walk(str(root), problems):
            yield from (_unlisted(problem) for problem in problems)
            problems.clear()
            real_directory = os.path.realpath(directory)
            for entry in files:
                if remove_stale_copies and entry.name.endswith(atomic.TEMP_SUFFIX):
                    refused = _remove_stale_copy(Path(entry.path))
                    if refused is not None:
                        yield refused
                    continue
                real = os.path.realpath(entry.path) if entry.is_symlink() else os.path.join(real_directory, entry.name)
                found = accept(entry.path, real)
                if found is not None:
                    yield found
        yield from (_unlisted(problem) for problem in problems)
        problems.clear()


def _walk(directory: str, problems: list[OSError]) -> Iterator[tuple[str, list[os.DirEntry[str]]]]:
    """Like ``os.walk`` (top down, links to folders listed but not entered, a folder that cannot be listed
    added to ``problems``): each folder with its entries that are not folders, both in name order."""
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as error:
        problems.append(error)
        return
    folders = [entry for entry in entries if _is_folder(entry)]
    yield directory, [entry for entry in entries if not _is_folder(entry)]
    for folder in folders:
        if not folder.is_symlink():
            yield from _walk(folder.path, problems)


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


FILE_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
              (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"))


def not_a_regular_file(path: Path) -> str:
    """Why ``path`` (links followed) cannot be analysed without being opened, or "" for a regular file:
    a FIFO, a device or a socket is never opened, since reading one may block for ever."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "broken link: its target does not exist" if os.path.islink(path) else "no such file or directory"
    except OSError as error:
        return f"cannot stat file: {error.strerror}"
    if stat.S_ISREG(mode):
        return ""
    kind = next((name for test, name in FILE_KINDS if test(mode)), "something else")
    return f"not a regular file but {kind}; not opened"


def _not_an_audio_file(path: Path) -> str:
    """Why a path given on the command line is not scanned: it does not exist, or is not audio we know."""
    return not_a_regular_file(path) or f"not an audio file this tagger knows (by its suffix {path.suffix or 'none'})"


def _unlisted(problem: OSError) -> FileResult:
    """A folder the walk could not enter (no permission, a name over the system's limit): its files are
    not scanned, and the report says so instead of skipping them in silence."""
    reason = problem.strerror or str(problem)
    return FileResult(str(problem.filename), Status.ERROR, error=f"cannot list this folder ({reason}); its files "
                                                                  "were not scanned")


def _remove_stale_copy(path: Path) -> FileResult | None:
    """Delete a killed run's temporary copy; one that cannot be deleted is reported and left, never fatal."""
    try:
        atomic.remove_if_stale(path)
    except OSError as error:
        return FileResult(str(path), Status.SKIPPED,
                          reason=f"a killed run's temporary copy that cannot be deleted ({error.strerror}); "
                                "delete it by hand")
    return None


# Main process -------------------------------------------------------------------------------------


class Scanner:
    """Runs one scan: each file's plan (its tags read before any audio is decoded), analysis (cached or
    fresh) for the files whose outcome depends on it, then the outcome and the write."""

    HEARD = "analysed"  # how the summary says a file was heard in this run

    def __init__(self, model: GenreModel, store: StateStore, options: ScanOptions, run_id: int) -> None:
        self.model = model
        self.info: ModelInfo = model.info
        self.store = store
        self.options = options
        self.run_id = run_id
        self.windows = self.info.windows_per_track(options.windows)
        self.scores_key = self.info.scores_key(self.windows)  # the cache's, and the outcomes'
        self.tag_handlers = TagHandlers(id3v23=options.id3v23)
        self.outcome_settings = settings_key(self._settings_of_outcomes())

    @cached_property
    def rule(self) -> OutcomeRule:
        """The outcome rule, built when a file first needs it (its thresholds need numpy, which a rescan of an
        unchanged library never loads)."""
        options = self.options
        return OutcomeRule(DecisionRule.for_model(self.info, options.threshold, options.min_confidence,
                                                  options.top_k, options.vocabulary), options.mode, options.analyse_all)

    def _settings_of_outcomes(self) -> dict[str, object]:
        """Everything of this run, besides the file and the model, that an outcome depends on: what the decision
        rule is made of, the mode, how genres are written, the user whose permissions decide what is read-only,
        and the tagger's version (whose rules may differ)."""
        info, options = self.info, self.options
        return {"tagger": __version__, "names": info.genre_names, "thresholds": info.thresholds,
                "threshold": options.threshold, "calibration": info.calibration.to_dict(),
                "min_confidence": info.min_confidence(options.min_confidence), "top_k": options.top_k,
                "map": options.vocabulary.mapping, "allow": options.vocabulary.allow, "mode": str(options.mode),
                "analyse_all": options.analyse_all, "separator": options.separator, "id3v23": options.id3v23,
                "user": [os.geteuid(), os.getegid(), sorted(os.getgroups())]}

    def run(self, found_files: Iterable[Path | FileResult], on_result: Callable[[FileResult], None]) -> None:
        """Scan what ``discover`` found, calling ``on_result`` once per file as soon as it is settled. A file
        whose outcome was settled before, on the file as it is now, is reported from the state alone."""
        known = {} if self.options.force else self.store.outcomes.load(self.outcome_settings, self.scores_key)
        pending: list[tuple[Path, FileKey, atomic.Identity, Plan]] = []
        try:
            for found in found_files:
                if isinstance(found, FileResult):
                    on_result(found)
                    continue
                try:
                    status = found.stat()
                    identity = atomic.Identity.of(status)
                    remembered = known.get(str(found))
                    if remembered is not None and self._still_holds(remembered, identity):
                        on_result(self._remembered(found, remembered))
                        continue
                    plan = self._plan(found)
                except OSError as error:
                    on_result(FileResult(str(found), Status.ERROR,
                                         error=f"cannot read file: {error.strerror or error}"))
                    continue
                key = FileKey(str(found), status.st_size, status.st_mtime_ns)
                settled = self.rule.before_listening(plan)
                if settled is not None:
                    on_result(self._remember(found, identity, _result(found, plan, settled), heard=None))
                    continue
                cached = None if self.options.force else self.store.cache.cached_scores(key, self.scores_key)
                if cached is not None:
                    analysis = Analysis(str(found), scores=cached)
                    on_result(self._remember(found, identity, self._heard(found, key, identity, plan, analysis,
                                                                          cached=True), heard=cached))
                else:
                    pending.append((found, key, identity, plan))
            read_at = {str(path): (key, identity, plan) for path, key, identity, plan in pending}
            for analysis in self._analyses([str(path) for path, _, _, _ in pending]):
                key, identity, plan = read_at[analysis.path]
                result = self._heard(Path(analysis.path), key, identity, plan, analysis, cached=False)
                on_result(self._remember(Path(analysis.path), identity, result, heard=analysis.scores))
        finally:
            self.store.outcomes.flush()

    def _still_holds(self, remembered: SettledOutcome, identity: atomic.Identity) -> bool:
        """Whether an outcome settled before is this file's now: the file is as it was, and the outcome needs
        no action in this run (a file due a write is read again under the write lock)."""
        return (remembered.identity == identity_text(identity)
                and not (remembered.status is Status.WOULD_TAG and self.options.write_tags))

    def _remembered(self, path: Path, remembered: SettledOutcome) -> FileResult:
        """The report's record of a file whose outcome was settled before, as a full look would give it."""
        scores = {} if remembered.scores is None else dict(zip(self.info.labels, remembered.scores, strict=True))
        return FileResult(str(path), remembered.status, remembered.genres, remembered.previous, scores,
                          remembered.reason, cached=remembered.scores is not None)

    def _remember(self, path: Path, identity: atomic.Identity, result: FileResult, heard: list[float] | None,
                  ) -> FileResult:
        """Keep ``result``, settled on the file of ``identity`` (``heard``: the scores it was decided on, or
        None: decided without them), for the next scan; ``result`` is given back."""
        self.store.outcomes.remember(str(path), self.outcome_settings, self.scores_key, SettledOutcome(
            identity_text(identity), result.status, result.genres, result.previous, result.reason, heard))
        return result

    def _plan(self, path: Path) -> Plan:
        """What the file's name, content and tags say before it is listened to. A tag that cannot be
        parsed blocks the write (we never replace a tag we could not read); OSError: it cannot be read."""
        handler = self.tag_handlers.handler_for(path)
        if handler is None:
            return Plan(blocked=f"no genre tags for {path.suffix} files")
        mismatch = content_mismatch(path)
        if mismatch is not None:
            return Plan(blocked=mismatch.reason, heard_to_be_sure=not mismatch.recognised)
        try:
            previous = handler.read_genres(path)
        except tags.TagError as error:  # a damaged file, or a tag we cannot parse: the decoder tells which
            return Plan(blocked=f"{error}; file left as it was", heard_to_be_sure=True)
        read_only = "the file is read-only; left as it is" if atomic.is_read_only(path) else ""
        return Plan(split_values(previous, self.options.separator), blocked=read_only, previous=previous,
                    ours=bool(previous) and self._written_by_us(path, handler, previous))

    def _written_by_us(self, path: Path, handler: tags.GenreTags, previous: list[str]) -> bool:
        """Whether the file's genres are what this tagger last wrote into it, with this model."""
        change = self.store.journal.last_written(str(path))
        return (change is not None and change.after.get("model") == self.info.model_id
                and handler.holds(previous, change.after["genres"]))

    def _analyses(self, paths: list[str]) -> Iterator[Analysis]:
        from tagger.workers import analyze_in_processes  # its process pools are loaded when a file is heard

        return analyze_in_processes(paths, self.options.jobs, str(self.model.path), self.windows)

    def _heard(self, path: Path, key: FileKey, identity: atomic.Identity, plan: Plan, analysis: Analysis,
                cached: bool) -> FileResult:
        """One file's outcome once it was heard, carried out. ``identity`` is the file as it was planned: a
        file that moved since (still being downloaded, replaced by another song) is neither cached nor
        tagged with genres heard in other audio."""
        if analysis.error:
            return FileResult(str(path), Status.ERROR, error=analysis.error)
        if analysis.skip_reason:
            return FileResult(str(path), Status.SKIPPED, reason=analysis.skip_reason)
        if analysis.scores is None:
            raise ValueError(f"analysis of {path} has neither scores nor a reason")
        if not cached and _identity_now(path) != identity:
            return FileResult(str(path), Status.SKIPPED, reason="the file changed while it was being analysed (still "
                                                                "being written?); left as it was: scan it again")
        if not cached:
            self.store.cache.store_scores(key, self.scores_key, analysis.scores)
        result = replace(_result(path, plan, self.rule.after_listening(plan, analysis.scores)), cached=cached,
                         analysed=not cached, scores={label: float(score) for label, score
                                                      in zip(self.info.labels, analysis.scores, strict=True)})
        if result.status is Status.WOULD_TAG and self.options.write_tags:
            with self.store.write_lock():
                return self._write_planned(path, result, analysis.scores, identity, key)
        return result

    def _write_planned(self, path: Path, result: FileResult, scores: list[float], identity: atomic.Identity,
                       key: FileKey) -> FileResult:
        """Write the genres the outcome chose, under the write lock; the tags are read again first, so a
        change another program made since the plan is decided on afresh, never overwritten. The audio's
        fingerprint (``key.content_identity``) is read once: the write must leave the audio as planned, so
        the journal and the cache entry of the new version share it."""
        try:
            plan = self._plan(path)
            outcome = self.rule.after_listening(plan, scores)
            if outcome.status is not Status.WOULD_TAG:
                return replace(result, status=outcome.status, genres=outcome.genres, previous=plan.previous,
                               reason=outcome.reason)
            handler = self.tag_handlers.handler_for(path)
            assert handler is not None  # the plan found it
            change_id = self._write(path, handler, join_values(outcome.genres, self.options.separator), identity,
                                    key.content_identity)
        except atomic.WriteRefusedError as error:
            return replace(result, status=Status.SKIPPED, reason=str(error))
        except tags.TagError as error:  # no tag we can edit safely: a valid file, left as it is, with the reason
            return replace(result, status=Status.SKIPPED, reason=f"{error}; file left as it was")
        except OSError as error:
            return replace(result, status=Status.ERROR, error=f"cannot write: {error.strerror or error}")
        with self.store.transaction(durable=False):  # the file is written: a crash now loses only a cache row
            self.store.journal.set_status(change_id, ChangeStatus.DONE)
            self.store.cache.store_scores(FileKey.of(path), self.scores_key, scores, key.content_identity)
        self._remember_as_written(path, scores)
        return replace(result, status=Status.TAGGED, genres=outcome.genres, previous=plan.previous)

    def _remember_as_written(self, path: Path, scores: list[float]) -> None:
        """Keep what the next scan will make of the file just written (its tags read again: unchanged, as a
        rule), so that the rescan after a tagging run is decided from ``stat`` too."""
        try:
            identity = atomic.Identity.of(path.stat())
            plan = self._plan(path)
        except OSError:
            return
        settled = self.rule.before_listening(plan)
        outcome = settled or self.rule.after_listening(plan, scores)
        self._remember(path, identity, _result(path, plan, outcome), heard=None if settled else scores)

    def _write(self, path: Path, handler: tags.GenreTags, genres: list[str], identity: atomic.Identity,
               audio: str) -> int:
        """Journal (the change, and the audio's fingerprint ``audio`` so undo can tell a replaced file), then
        write; the change's id, for the caller to confirm. A write cut off at any point (an error, Ctrl-C) is
        settled at once from what the file holds: ``done`` where the new file is in place, ``abandoned`` where
        the original is; one written but not yet confirmed is settled so by the next run."""
        change_id = self.store.journal.pending(
            self.run_id, str(path), handler.name, handler.snapshot(path),
            {"genres": genres, "audio": audio, "model": self.info.model_id},
        )
        try:
            tags.write_genres(path, handler, genres, expected=identity,
                              on_in_place=lambda offset, before, after: self.store.journal.in_place(
                                  change_id, offset, before, after))
        except BaseException:
            settle_pending_held(self.store)
            raise
        return change_id


def _result(path: Path, plan: Plan, outcome: Outcome) -> FileResult:
    """The report's record of one file's outcome."""
    return FileResult(str(path), outcome.status, genres=outcome.genres, previous=plan.previous, reason=outcome.reason)


def _identity_now(path: Path) -> atomic.Identity | None:
    try:
        return atomic.Identity.of(path.stat())
    except OSError:
        return None
