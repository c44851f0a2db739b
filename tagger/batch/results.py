"""The results of `tagger batch`: a Parquet table, one row per track, written in parts as the run goes.

RESULTS is a folder of ``part-*.parquet`` files (pandas, DuckDB, Spark and pyarrow read it as one table).
Each part is written under a temporary name and renamed, so a run that is stopped leaves only whole parts,
and a rerun over the same SOURCE with the same model skips the tracks they hold (resume). A table holds one
analysis (one model, one count of windows per track, recorded in each part's schema metadata). One column per
genre, ``score:<label>``, holds its calibrated probability.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PART_GLOB = "part-*.parquet"
SCORE_PREFIX = "score:"
SCORES_KEY = b"tagger:scores_key"  # a part's schema metadata: the analysis its rows are of (ModelInfo.scores_key)
COLUMNS = ("uri", "size", "fingerprint", "model_id", "genres", "status", "reason", "error", "bytes_read")


class ResultsError(Exception):
    """The results table cannot be used as given."""


def score_column(label: str) -> str:
    return f"{SCORE_PREFIX}{label}"


def error_row(uri: str, size: int | None, model_id: str, labels: list[str], error: str = "") -> dict:
    """A row with every column and no result: what a track is until (and unless) it is heard."""
    return {"uri": uri, "size": size, "fingerprint": None, "model_id": model_id, "genres": [], "status": "error",
            "reason": "", "error": error, "bytes_read": 0, **{score_column(label): None for label in labels}}


def schema(labels: list[str]) -> Any:
    import pyarrow as pa

    return pa.schema([("uri", pa.string()), ("size", pa.int64()), ("fingerprint", pa.string()),
                      ("model_id", pa.string()), ("genres", pa.list_(pa.string())), ("status", pa.string()),
                      ("reason", pa.string()), ("error", pa.string()), ("bytes_read", pa.int64()),
                      *((score_column(label), pa.float64()) for label in labels)])


def parts(folder: Path) -> list[Path]:
    return sorted(folder.glob(PART_GLOB)) if folder.is_dir() else []


def read_rows(results: Path, columns: list[str] | None = None) -> Iterator[dict]:
    """Every row of a results folder (or of one Parquet file), part by part."""
    import pyarrow.parquet as parquet

    files = [results] if results.is_file() else parts(results)
    if not files:
        raise ResultsError(f"{results}: no results (no {PART_GLOB} files)")
    for file in files:
        yield from parquet.read_table(file, columns=columns).to_pylist()


def done_uris(results: Path, model_id: str, scores_key: str) -> set[str]:
    """The tracks an earlier run over this folder finished. One table holds one analysis (one model, one
    count of windows per track: ``ModelInfo.scores_key``), so that `tagger apply` never meets two answers for
    a file: a folder holding another's is refused."""
    import pyarrow.parquet as parquet

    done: set[str] = set()
    for part in parts(results):
        table = parquet.read_table(part, columns=["uri", "model_id"])
        rows = table.to_pylist()
        recorded = (table.schema.metadata or {}).get(SCORES_KEY)
        # A part of an earlier tagger records none: its rows are of their model with its own windows.
        found = recorded.decode() if recorded else (rows[0]["model_id"] if rows else scores_key)
        if found != scores_key or any(row["model_id"] != model_id for row in rows):
            raise ResultsError(f"{results} holds results of another analysis ({found}; this run's: {scores_key}, "
                               "model id and windows per track): give another --out")
        done.update(row["uri"] for row in rows)
    return done


class PartWriter:
    """Writes rows into new parts of a results folder, each part whole or not at all."""

    def __init__(self, folder: Path, labels: list[str], scores_key: str) -> None:
        if folder.exists() and not folder.is_dir():
            raise ResultsError(f"{folder} is a file: RESULTS names a folder of Parquet parts")
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.schema = folder, schema(labels).with_metadata({SCORES_KEY: scores_key})
        self._prefix = f"part-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self._count = 0

    def write(self, rows: list[dict]) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as parquet

        path = self.folder / f"{self._prefix}-{self._count:05d}.parquet"
        self._count += 1
        temporary = path.with_name(f".{path.name}.tmp")
        parquet.write_table(pa.Table.from_pylist(rows, schema=self.schema), temporary)
        os.replace(temporary, path)
        return path
