"""What `tagger batch` analyses: a SOURCE expanded into URIs (with sizes where the listing gives them).

A SOURCE is a folder (walked as a scan walks it), a glob of local paths, a prefix in object storage
(``s3://bucket/music/``), or a manifest: a text file with one path or URI per line, or a CSV or Parquet
table with a ``path`` column; relative paths in a manifest are relative to the manifest.
"""

from __future__ import annotations

import csv
import glob
from pathlib import Path

from tagger.formats import is_audio_file
from tagger.remote import is_local, list_objects, local_path
from tagger.scan import discover

MANIFEST_SUFFIXES = (".txt", ".csv", ".parquet")
PATH_COLUMN = "path"


class SourceError(Exception):
    """The SOURCE names nothing that can be analysed; the message says why."""


def _manifest_entries(manifest: Path) -> list[str]:
    if manifest.suffix == ".txt":
        lines = manifest.read_text(encoding="utf-8").splitlines()
        return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if manifest.suffix == ".csv":
        with manifest.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if PATH_COLUMN not in (reader.fieldnames or []):
                raise SourceError(f"{manifest}: no {PATH_COLUMN!r} column")
            return [row[PATH_COLUMN] for row in reader if row[PATH_COLUMN]]
    import pyarrow.parquet as parquet

    table = parquet.read_table(manifest)
    if PATH_COLUMN not in table.column_names:
        raise SourceError(f"{manifest}: no {PATH_COLUMN!r} column")
    return [str(value) for value in table.column(PATH_COLUMN).to_pylist() if value]


def _in_manifest(entry: str, manifest: Path) -> str:
    if not is_local(entry):
        return entry
    path = local_path(entry)
    return str(path if path.is_absolute() else (manifest.parent / path).resolve())


def expand_source(source: str, exclude: tuple[str, ...] = ()) -> list[tuple[str, int | None]]:
    """The audio files SOURCE names, as (URI, size or None), each once, in a stable order."""
    found: list[tuple[str, int | None]]
    if not is_local(source):
        found = [(uri, size) for uri, size in list_objects(source) if is_audio_file(Path(uri))]
    else:
        path = local_path(source)
        if path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
            entries = [_in_manifest(entry, path) for entry in _manifest_entries(path)]
            found = [(entry, None) for entry in dict.fromkeys(entries)]
        elif path.is_dir() or path.is_file():
            found = [(str(item), None) for item in discover([path], exclude=exclude) if isinstance(item, Path)]
        else:
            matches = sorted(glob.glob(source, recursive=True))
            found = [(str(item), None) for item in discover(map(Path, matches), exclude=exclude)
                     if isinstance(item, Path)]
    if not found:
        raise SourceError(f"no audio files found in {source}")
    return found
