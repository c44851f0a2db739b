"""Reports of a scan: one record per file as JSON or CSV, and the closing summary."""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from tagger.scan import FileResult, Status

SUMMARY_ORDER = [Status.TAGGED, Status.WOULD_TAG, Status.UNCHANGED, Status.KEPT, Status.SKIPPED, Status.ERROR]
CSV_FIELDS = ["path", "status", "genres", "previous", "scores", "error", "cached"]


def write_report(results: list[FileResult], destination: Path) -> None:
    """Write ``results`` as JSON (a list of objects) or CSV (lists joined by ``;``), by file suffix."""
    suffix = destination.suffix.lower()
    if suffix == ".json":
        destination.write_text(json.dumps([asdict(result) for result in results], indent=1, ensure_ascii=False))
    elif suffix == ".csv":
        with destination.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
            writer.writeheader()
            for result in results:
                row = asdict(result)
                row["genres"] = ";".join(result.genres)
                row["previous"] = ";".join(result.previous)
                row["scores"] = json.dumps(result.scores)
                writer.writerow(row)
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
