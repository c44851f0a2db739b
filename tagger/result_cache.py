"""Cached per-file results: a rescan skips unchanged files, and finds a moved or copied file again.

Results are keyed by path, size, mtime and model id; a file that moved or was copied, or whose tags
changed (a write, an undo, another program), is found by its content identity: the audio's fingerprint,
which no tag edit changes. The embeddings `tagger learn` fits on are kept the same way, in a table of
their own (``tagger.embedding_cache``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from tagger.sniff import audio_fingerprint
from tagger.state_base import describe, stored_path

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, model_id TEXT NOT NULL,
    scores TEXT NOT NULL, updated REAL NOT NULL, content_identity TEXT
);
CREATE INDEX IF NOT EXISTS results_by_identity ON results(content_identity, model_id);
"""


@dataclass(frozen=True)
class FileKey:
    """What identifies one version of one file: any edit changes size or mtime."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileKey:
        status = path.stat()
        return cls(str(path), status.st_size, status.st_mtime_ns)

    @cached_property
    def content_identity(self) -> str:
        """The file's content identity, wherever it lies and whatever its tags say: the fingerprint of its
        audio (``tagger.sniff.audio_fingerprint``: at most 192 KiB read), once per key, so a cache miss and
        the store of the fresh result that follows it share the reading."""
        return audio_fingerprint(Path(self.path))


def identity_or_none(key: FileKey) -> str | None:
    """None when the file cannot be read now: its result is then found only at its own path."""
    try:
        return key.content_identity
    except OSError:
        return None


class CachedByContent:
    """A table of one value per file version and model, found at the file's path or by its content identity.
    A cache that cannot be written (read-only, disk full) only costs a later run: ``error`` says why, once,
    and the run goes on."""

    table = ""  # each kind of value has a table of its own

    def __init__(self, database: sqlite3.Connection, read_only: bool) -> None:
        self._db, self.read_only = database, read_only
        self.error: str | None = None

    def _cached(self, key: FileKey, model_id: str) -> str | bytes | None:
        """The value for this version of this file: at its path, or by its content identity (moved, renamed,
        copied, or its tags edited since), which is then remembered at this path too."""
        row = self._db.execute(
            f"SELECT scores FROM {self.table} WHERE path=? AND size=? AND mtime_ns=? AND model_id=?",
            (stored_path(key.path), key.size, key.mtime_ns, model_id),
        ).fetchone()
        if row:
            return row[0]
        identity = identity_or_none(key)
        if identity is None:
            return None
        found = self._db.execute(f"SELECT scores FROM {self.table} WHERE content_identity=? AND model_id=? LIMIT 1",
                                 (identity, model_id)).fetchone()
        if found is None:
            return None
        self._insert(key, model_id, found[0], identity)
        return found[0]

    def _insert(self, key: FileKey, model_id: str, value: str | bytes, identity: str | None) -> None:
        if self.read_only:
            return
        try:
            self._db.execute(
                f"INSERT OR REPLACE INTO {self.table} "
                "(path, size, mtime_ns, model_id, scores, updated, content_identity) VALUES (?,?,?,?,?,?,?)",
                (stored_path(key.path), key.size, key.mtime_ns, model_id, value, time.time(), identity),
            )
        except sqlite3.Error as error:
            self.error = self.error or describe(error)


class ResultCache(CachedByContent):
    """The ``results`` table: a scan's scores."""

    table = "results"

    def cached_scores(self, key: FileKey, model_id: str) -> list[float] | None:
        """Scores of this version of this file: at its path, or by its content identity (moved, renamed,
        copied, or its tags edited since), which is then remembered at this path too."""
        found = self._cached(key, model_id)
        return None if found is None else json.loads(found)

    def store_scores(self, key: FileKey, model_id: str, scores: list[float], content_identity: str | None = None,
                     ) -> None:
        """Remember the scores of this version of the file; ``content_identity`` where it is known already (the
        same audio under tags just written), else it is read."""
        self._insert(key, model_id, json.dumps(scores), content_identity or identity_or_none(key))
