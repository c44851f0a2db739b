"""Reports of a scan: one record per file as JSON or CSV, and the closing summary."""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from tagger.scan import FileResult, Status
from tagger.state import stored_path

SUMMARY_ORDER = [Status.TAGGED, Status.WOULD_TAG, Status.UNCHANGED, Status.KEPT, Status.UNCERTAIN, Status.SKIPPED,
                 Status.ERROR]
CSV_FIELDS = ["path", "status", "genres", "previous", "error", "cached"]
STDOUT = "-"  # --report - : JSON lines on standard output


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


def write_report(results: list[FileResult], destination: Path, identity: dict[str, object],
                 labels: list[str]) -> None:
    """Write JSON (a list of records) or CSV (lists joined by ``;``, one ``score:<genre>`` column per genre
    of ``labels``), by the file's suffix."""
    suffix = destination.suffix.lower()
    if suffix == ".json":
        destination.write_text(json.dumps(records(results, identity), indent=1, ensure_ascii=False))
    elif suffix == ".csv":
        score_columns = [f"score:{label}" for label in labels]
        with destination.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=[*identity, *CSV_FIELDS, *score_columns])
            writer.writeheader()
            for record in records(results, identity):
                scores = record.pop("scores")
                record["genres"] = ";".join(record["genres"])
                record["previous"] = ";".join(record["previous"])
                record.update({f"score:{label}": f"{value:.4f}" for label, value in scores.items()})
                writer.writerow(record)
    else:
        raise ValueError(f"report must end in .json or .csv, not {destination.name!r}")


def summary(results: list[FileResult], seconds: float) -> str:
    """One line a person reads at the end of a run, with every count the issue asks for."""
    counts = Counter(result.status for result in results)
    fresh = sum(1 for result in results if not result.cached and result.status != Status.ERROR)
    parts = [f"{status if status != Status.ERROR else 'failed'} {counts.get(status, 0)}" for status in SUMMARY_ORDER]
    cached = sum(1 for result in results if result.cached)
    rate = fresh / seconds if seconds > 0 else 0.0
    return (
        f"scanned {len(results)} files in {seconds:.1f} s ({rate:.1f} tracks/s analysed): "
        + ", ".join(parts)
        + (f" ({cached} from cache)" if cached else "")
    )
