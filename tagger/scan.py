"""Scanning a library: find audio files, analyse them in worker processes, decide and write genres.

Workers only decode and run the model (the costly, parallel part); the main process owns the state
database and every tag write, so the journal's order always matches what happened to the files.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tagger import atomic, tags
from tagger.analysis import Analysis
from tagger.decision import DecisionRule
from tagger.formats import content_mismatch, handler_for, is_audio_file
from tagger.genres import (
    DEFAULT_MODE,
    DEFAULT_TOP_K,
    Mode,
    combine,
    join_values,
    own_genres,
    split_values,
)
from tagger.journal import settle_pending_held
from tagger.model import GenreModel, ModelInfo
from tagger.settings import GenreVocabulary
from tagger.sniff import audio_fingerprint
from tagger.state import ChangeStatus, FileKey, StateStore
from tagger.textenum import TextEnum
from tagger.workers import analyze_in_processes


class Status(TextEnum):
    """What happened to one file in a scan (the values appear in reports)."""

    TAGGED = "tagged"
    WOULD_TAG = "would-tag"
    UNCHANGED = "unchanged"
    KEPT = "kept"  # the file has genres of its own and the mode leaves them alone
    UNCERTAIN = "uncertain"  # the model's top genre is below --min-confidence: nothing is written
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass(frozen=True)
class ScanOptions:
    """Everything a scan may be asked to do differently; carried whole instead of many parameters."""

    write_tags: bool = False
    mode: Mode = DEFAULT_MODE
    threshold: float | None = None  # one threshold for every genre instead of the model's own
    min_confidence: float | None = None  # write nothing below this top-genre probability (None: the model's)
    top_k: int = DEFAULT_TOP_K
    windows: int | None = None  # windows analysed per track; None: the model's recommendation
    id3v23: bool = False
    separator: str | None = None  # write several genres as one value joined by this; None: a value per genre
    jobs: int = 1
    force: bool = False  # ignore cached results
    analyse_all: bool = False  # analyse files the mode leaves alone too, for their scores in the report
    vocabulary: GenreVocabulary = field(default_factory=GenreVocabulary)  # the user's genre names


@dataclass
class FileResult:
    """One record of the report."""

    path: str
    status: Status
    genres: list[str] = field(default_factory=list)
    previous: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    error: str = ""
    cached: bool = False
    analysed: bool = False  # the model heard it in this run (cached: its result was found instead)


def discover(paths: Iterable[Path], remove_stale_copies: bool = False, exclude: Iterable[str] = (),
             ) -> Iterator[Path | FileResult]:
    """Audio files under ``paths`` in a stable order, each once; problems come back as FileResults.

    Symbolic links to files are followed (each real file is analysed once), links to directories are
    not, so a link loop cannot trap the walk. macOS resource forks (``._name``) are ignored, and so are
    paths matching a glob pattern of ``exclude``. With ``remove_stale_copies``, temporary copies left by
    a killed tagger are deleted on the way.
    """
    seen: set[str] = set()
    patterns = list(exclude)

    def accept(candidate: Path) -> Path | FileResult | None:
        if not is_audio_file(candidate) or any(fnmatch.fnmatch(str(candidate), p) for p in patterns):
            return None
        real = os.path.realpath(candidate)
        if real in seen:
            return None
        seen.add(real)
        not_regular = not_a_regular_file(Path(real))
        if not_regular:
            return FileResult(str(candidate), Status.ERROR, error=not_regular)
        return Path(real)

    problems: list[OSError] = []  # directories os.walk could not list, reported where they were met
    for root in paths:
        if not root.is_dir():
            if not is_audio_file(root):
                yield FileResult(str(root), Status.ERROR, error=_not_an_audio_file(root))
            elif (found := accept(root)) is not None:
                yield found
        else:
            for directory, subdirectories, files in os.walk(root, onerror=problems.append):
                yield from (_unlisted(problem) for problem in problems)
                problems.clear()
                subdirectories.sort()
                for name in sorted(files):
                    if remove_stale_copies and name.endswith(atomic.TEMP_SUFFIX):
                        refused = _remove_stale_copy(Path(directory) / name)
                        if refused is not None:
                            yield refused
                        continue
                    found = accept(Path(directory) / name)
                    if found is not None:
                        yield found
            yield from (_unlisted(problem) for problem in problems)
            problems.clear()


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
                          error=f"a killed run's temporary copy that cannot be deleted ({error.strerror}); "
                                "delete it by hand")
    return None


# Main process -------------------------------------------------------------------------------------


class Scanner:
    """Runs one scan: analysis (cached or fresh), then the decision and the write for each file."""

    def __init__(self, model: GenreModel, store: StateStore, options: ScanOptions, run_id: int) -> None:
        self.model = model
        self.info: ModelInfo = model.info
        self.store = store
        self.options = options
        self.run_id = run_id
        self.windows = options.windows or self.info.inference_windows
        self.rule = DecisionRule.for_model(self.info, options.threshold, options.min_confidence, options.top_k,
                                           options.vocabulary)

    def run(self, found_files: Iterable[Path | FileResult], on_result: Callable[[FileResult], None]) -> None:
        """Scan what ``discover`` found, calling ``on_result`` once per file as soon as it is settled."""
        pending: list[tuple[Path, FileKey, atomic.Identity]] = []
        for found in found_files:
            if isinstance(found, FileResult):
                on_result(found)
                continue
            try:
                status = found.stat()
            except OSError as error:
                on_result(FileResult(str(found), Status.ERROR, error=f"cannot stat file: {error.strerror}"))
                continue
            key, identity = FileKey(str(found), status.st_size, status.st_mtime_ns), atomic.Identity.of(status)
            left_alone = self._left_alone(found)
            if left_alone is not None:
                on_result(left_alone)
                continue
            cached = None if self.options.force else self.store.cached_scores(key, self.info.model_id)
            if cached is not None:
                on_result(self._settle(found, key, identity, Analysis(str(found), scores=cached), cached=True))
            else:
                pending.append((found, key, identity))
        read_at = {str(path): (key, identity) for path, key, identity in pending}
        for analysis in self._analyses([str(path) for path, _, _ in pending]):
            on_result(self._settle(Path(analysis.path), *read_at[analysis.path], analysis, cached=False))

    def _left_alone(self, path: Path) -> FileResult | None:
        """The plan, before any audio is decoded: a file the mode will leave as it is whatever the model
        says (fill-empty, and the file has genres of its own) is ``kept`` without being analysed, unless
        ``analyse_all`` asks for its scores. None: the file needs listening to. A tag that cannot be read
        here is left to the analysis and the write, which report it as they do for every file."""
        if self.options.mode is not Mode.FILL_EMPTY or self.options.analyse_all:
            return None
        handler = handler_for(path)
        if handler is None or content_mismatch(path):
            return None
        try:
            previous = handler.read_genres(path)
        except (tags.TagError, OSError):
            return None
        existing = split_values(previous, self.options.separator)
        if not own_genres(existing):
            return None
        return FileResult(str(path), Status.KEPT, genres=existing, previous=previous)

    def _analyses(self, paths: list[str]) -> Iterator[Analysis]:
        return analyze_in_processes(paths, self.options.jobs, str(self.model.path), self.windows)

    def _settle(self, path: Path, key: FileKey, identity: atomic.Identity, analysis: Analysis,
                cached: bool) -> FileResult:
        """Decide (and write) one file's genres. ``identity`` is the file as it was when its analysis began:
        a file that moved since (still being downloaded, replaced by another song) is neither cached nor
        tagged with genres heard in other audio."""
        if analysis.error:
            return FileResult(str(path), Status.ERROR, error=analysis.error)
        if analysis.skip_reason:
            return FileResult(str(path), Status.SKIPPED, error=analysis.skip_reason)
        if analysis.scores is None:
            raise ValueError(f"analysis of {path} has neither scores nor a reason")
        if not cached and _identity_now(path) != identity:
            return FileResult(str(path), Status.SKIPPED, error="the file changed while it was being analysed (still "
                                                               "being written?); left as it was: scan it again")
        if not cached:
            self.store.store_scores(key, self.info.model_id, analysis.scores)
        decision = self.rule.decide(analysis.scores)
        result = FileResult(
            str(path),
            Status.UNCERTAIN if decision.uncertain else Status.UNCHANGED,
            genres=decision.genres,
            scores={label: float(score) for label, score in zip(self.info.labels, analysis.scores, strict=True)},
            error=decision.uncertain,
            cached=cached,
            analysed=not cached,
        )
        if decision.uncertain:
            return result
        if not result.genres:
            result.status = Status.SKIPPED
            result.error = "your settings (genres.map, genres.allow) drop every genre chosen"
            return result
        handler = handler_for(path)
        if handler is None:
            result.status, result.error = Status.SKIPPED, f"no genre tags for {path.suffix} files"
            return result
        mismatch = content_mismatch(path)
        if mismatch:
            result.status, result.error = Status.SKIPPED, mismatch  # analysed; only its tags are not ours to write
            return result
        lock = self.store.write_lock() if self.options.write_tags else contextlib.nullcontext()
        with lock:
            return self._apply(path, handler, result, analysis.scores, identity)

    def _apply(self, path: Path, handler: tags.GenreTags, result: FileResult, scores: list[float],
               identity: atomic.Identity) -> FileResult:
        """Compare with the file's genres and, when asked to, write the new ones."""
        try:
            result.previous = handler.read_genres(path)
            existing = split_values(result.previous, self.options.separator)
            target = combine(existing, result.genres, self.options.mode)
            result.genres = target
            if target == existing:
                if self.options.mode is Mode.FILL_EMPTY and own_genres(existing):
                    result.status = Status.KEPT
                return result
            if atomic.is_read_only(path):  # the owner's choice, not a failure
                result.status, result.error = Status.SKIPPED, "the file is read-only; left as it is"
                return result
            if not self.options.write_tags:
                result.status = Status.WOULD_TAG
                return result
            self._write(path, handler, join_values(target, self.options.separator), identity)
        except atomic.WriteRefusedError as error:
            result.status, result.error = Status.SKIPPED, str(error)
            return result
        except tags.TagError as error:  # no tag we can edit safely: a valid file, left as it is, with the reason
            result.status, result.error = Status.SKIPPED, f"{error}; file left as it was"
            return result
        except OSError as error:
            result.status, result.error = Status.ERROR, f"cannot write: {error.strerror or error}"
            return result
        result.status = Status.TAGGED
        self.store.store_scores(FileKey.of(path), self.info.model_id, scores)
        return result

    def _write(self, path: Path, handler: tags.GenreTags, genres: list[str], identity: atomic.Identity) -> None:
        """Journal (the change, and the audio's fingerprint so undo can tell a replaced file), write,
        confirm. A write cut off at any point (an error, Ctrl-C) is settled at once from what the file holds:
        ``done`` where the new file is in place, ``abandoned`` where the original is."""
        change_id = self.store.journal_pending(
            self.run_id, str(path), handler.name, handler.snapshot(path, id3v23=self.options.id3v23),
            {"genres": genres, "audio": audio_fingerprint(path)},
        )
        try:
            tags.write_genres(path, handler, genres, id3v23=self.options.id3v23, expected=identity,
                              on_in_place=lambda offset, before, after: self.store.journal_in_place(
                                  change_id, offset, before, after))
        except BaseException:
            settle_pending_held(self.store)
            raise
        self.store.set_change_status(change_id, ChangeStatus.DONE)


def _identity_now(path: Path) -> atomic.Identity | None:
    try:
        return atomic.Identity.of(path.stat())
    except OSError:
        return None
