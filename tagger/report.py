"""Reports of a scan: one record per file as JSON or CSV, and the closing summary.

A report never costs the user a file: it replaces only an earlier report of ours (``check_destination``),
and it is written to a copy beside its place, flushed and checked, then renamed, so a full disk leaves the
previous report whole.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from tagger import atomic
from tagger.outcome import Status
from tagger.scan import FileResult
from tagger.state_base import stored_path

SUMMARY_ORDER = [Status.TAGGED, Status.WOULD_TAG, Status.UNCHANGED, Status.KEPT, Status.UNCERTAIN, Status.SKIPPED,
                 Status.ERROR]
CSV_FIELDS = ["path", "status", "genres", "previous", "reason", "error", "cached", "analysed"]
IDENTITY_FIELDS = ["run_id", "model_id"]  # every record starts with them (``records``)
STDOUT = "-"  # --report - : JSON lines on standard output
REPORT_SUFFIXES = (".json", ".csv")


class ReportError(Exception):
    """The report cannot be written where it was asked for; one line for the user."""


def display_path(path: str) -> str:
    """A path as text anyone can print or parse: bytes of a name that are not valid UTF-8 (held by Python as
    surrogate escapes, kept raw by the database) are shown as ``\\xe9``, instead of breaking a UTF-8 report
    or the terminal."""
    stored = stored_path(path)
    return stored.decode("utf-8", "backslashreplace") if isinstance(stored, bytes) else stored


def records(results: list[FileResult], identity: dict[str, object]) -> list[dict]:
    """One record per file, each carrying ``identity`` (the run id and model id) so reports of several
    runs can be told apart and joined with `tagger undo --list`."""
    return [{**identity, **asdict(result), "path": display_path(result.path)} for result in results]


def json_lines(results: list[FileResult], identity: dict[str, object]) -> list[str]:
    return [json.dumps(record, ensure_ascii=False) for record in records(results, identity)]


def check_destination(destination: Path) -> None:
    """Raise ReportError unless ``destination`` is a place a report may be written: a new file in a folder
    that exists, or an earlier report of ours (which it replaces). Anything else there, an audio file above
    all, belongs to the user and is never overwritten."""
    if destination.suffix.lower() not in REPORT_SUFFIXES:
        raise ReportError("must end in .json or .csv, or be - for standard output")
    if not destination.resolve().parent.is_dir():
        raise ReportError(f"no directory {destination.resolve().parent} to write it in")
    if not os.path.lexists(destination):
        return
    if destination.is_symlink() or not destination.is_file():
        raise ReportError(f"{destination} exists and is not a regular file; name a new file")
    if not _is_a_report(destination):
        raise ReportError(f"{destination} exists and is not a report of this tagger; it is left alone: name a new "
                          "file, or delete it yourself")


def _is_a_report(path: Path) -> bool:
    """Whether ``path`` holds a report as ``write_report`` writes them: a JSON list of our records, or a
    CSV file whose header is ours."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            if path.suffix.lower() == ".csv":
                return next(csv.reader([handle.readline()]), [])[: len(IDENTITY_FIELDS) + 2] == [
                    *IDENTITY_FIELDS, *CSV_FIELDS[:2]]
            content = json.load(handle)
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(content, list) and all(
        isinstance(record, dict) and {*IDENTITY_FIELDS, "path", "status"} <= record.keys() for record in content)


def write_report(results: list[FileResult], destination: Path, identity: dict[str, object],
                 labels: list[str]) -> None:
    """Write JSON (a list of records) or CSV (lists joined by ``;``, one ``score:<genre>`` column per genre
    of ``labels``), by the file's suffix, crash-safely: the old report (if any) or the complete new one.
    Raises ReportError with the cause (a full disk) where it cannot be written."""
    suffix = destination.suffix.lower()
    if suffix == ".json":
        text = json.dumps(records(results, identity), indent=1, ensure_ascii=False)
    elif suffix == ".csv":
        text = _csv_text(results, identity, labels)
    else:
        raise ReportError(f"report must end in .json or .csv, not {destination.name!r}")
    try:
        _replace_with(destination, text.encode("utf-8"))
    except OSError as error:
        raise ReportError(f"cannot write the report {destination}: {error.strerror or error}; "
                          "no report was written") from error


def _csv_text(results: list[FileResult], identity: dict[str, object], labels: list[str]) -> str:
    score_columns = [f"score:{label}" for label in labels]
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=[*identity, *CSV_FIELDS, *score_columns])
    writer.writeheader()
    for record in records(results, identity):
        scores = record.pop("scores")
        record["genres"] = ";".join(record["genres"])
        record["previous"] = ";".join(record["previous"])
        record.update({f"score:{label}": f"{value:.4f}" for label, value in scores.items()})
        writer.writerow(record)
    return buffer.getvalue()


def _replace_with(destination: Path, data: bytes) -> None:
    """Write ``data`` to a private copy beside ``destination``, flush it, check its size, and rename it over."""
    temporary = atomic.temp_path_for(destination)
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
        try:
            atomic.write_all(descriptor, data, 0)
            os.fsync(descriptor)
            if os.fstat(descriptor).st_size != len(data):
                raise OSError(f"the report written is {os.fstat(descriptor).st_size} bytes, not {len(data)}")
        finally:
            os.close(descriptor)
        os.replace(temporary, destination)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


REASONS_SHOWN = 5  # the most frequent reasons for skipping, in the closing lines


def skip_reasons(results: list[FileResult]) -> list[str]:
    """Why files were skipped, most frequent first, with how many each: a library's thousand WAV files are
    one line here, not a thousand (``-v`` names every file)."""
    counts = Counter(result.reason for result in results if result.status == Status.SKIPPED)
    lines = [f"  {count} x {reason}" for reason, count in counts.most_common(REASONS_SHOWN)]
    if len(counts) > REASONS_SHOWN:
        lines.append(f"  and {len(counts) - REASONS_SHOWN} other reason(s)")
    return lines


def summary(results: list[FileResult], seconds: float, heard: str) -> str:
    """One line a person reads at the end of a run, with every count the issue asks for; ``heard``: how the
    files were heard (`tagger apply` reads them from a table)."""
    counts = Counter(result.status for result in results)
    analysed = sum(1 for result in results if result.analysed)
    parts = [f"{status if status != Status.ERROR else 'failed'} {counts.get(status, 0)}" for status in SUMMARY_ORDER]
    cached = sum(1 for result in results if result.cached)
    rate = f" ({analysed / seconds:.1f} tracks/s)" if seconds > 0 else ""
    counted = f"{analysed} {heard}{rate}" if analysed else f"none {heard}"
    return (
        f"scanned {len(results)} {'file' if len(results) == 1 else 'files'} in {seconds:.1f} s, {counted}"
        + (f", {cached} from cache" if cached else "")
        + ": " + ", ".join(parts)
    )
