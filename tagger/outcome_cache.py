"""Each file's outcome as a scan last settled it, so that a rescan decides an unchanged file from ``stat``.

A file's outcome depends on its bytes (its tags, its audio), on the journal (whether we wrote its genres) and on
the scan's settings. The bytes and the journal change only with the file: any write, an undo, a copy over
it, a chmod or chown change its inode's change time (``atomic.Identity``), which no program can set. So a row
whose file has the identity it had, under the same settings (``settings_key``) and model, is the outcome a full
look at the file would give, and a rescan of 20,000 unchanged files costs their ``stat`` calls and a lookup
each, not 20,000 tag parses.

Only outcomes that hold while the file is unchanged are kept: kept, unchanged, uncertain and would-tag. A
skipped file or an error is looked at again every time (the user may have fixed it), and a file due a change
goes the full way in a run that writes (its tags are read again under the write lock). Rows are written in
batches, one transaction each: a row lost to a crash costs only a full look next time.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass

from tagger import atomic
from tagger.outcome import Status
from tagger.state_base import describe, loaded_path, stored_path, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS outcomes (
    path TEXT PRIMARY KEY, identity TEXT NOT NULL, settings TEXT NOT NULL, model_id TEXT NOT NULL,
    outcome TEXT NOT NULL
);
"""
KEPT_STATUSES = frozenset({Status.KEPT, Status.UNCHANGED, Status.UNCERTAIN, Status.WOULD_TAG})
BATCH = 500  # rows per transaction


def identity_text(identity: atomic.Identity) -> str:
    return f"{identity.device}:{identity.inode}:{identity.size}:{identity.mtime_ns}:{identity.ctime_ns}"


def settings_key(settings: dict[str, object]) -> str:
    """A short digest of everything besides the file and the model that shapes an outcome."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SettledOutcome:
    """One file's outcome as the report gives it, and the identity of the file it was settled on."""

    identity: str
    status: Status
    genres: list[str]
    previous: list[str]
    reason: str
    scores: list[float] | None  # None: settled without being heard


class OutcomeCache:
    """The ``outcomes`` table. A cache that cannot be written only costs a later run a full look: ``error``
    says why, once."""

    def __init__(self, database: sqlite3.Connection, read_only: bool) -> None:
        self._db, self.read_only = database, read_only
        self._unwritten: list[tuple[object, ...]] = []
        self.error: str | None = None

    def load(self, settings: str, model_id: str) -> dict[str, SettledOutcome]:
        """Every outcome settled under ``settings`` with ``model_id``, by path: one query for a whole scan. A
        state that cannot give them (one an earlier tagger wrote, opened read-only: no such table) gives none."""
        try:
            rows = self._db.execute("SELECT path, identity, outcome FROM outcomes WHERE settings=? AND model_id=?",
                                    (settings, model_id)).fetchall()
        except sqlite3.Error:
            return {}
        loaded = {}
        for path, identity, outcome in rows:
            status, genres, previous, reason, scores = json.loads(outcome)
            loaded[loaded_path(path)] = SettledOutcome(identity, Status(status), genres, previous, reason, scores)
        return loaded

    def remember(self, path: str, settings: str, model_id: str, outcome: SettledOutcome) -> None:
        """Keep ``outcome`` of the file at ``path`` (one of ``KEPT_STATUSES``; others are not kept)."""
        if self.read_only or outcome.status not in KEPT_STATUSES:
            return
        values = [str(outcome.status), outcome.genres, outcome.previous, outcome.reason, outcome.scores]
        self._unwritten.append((stored_path(path), outcome.identity, settings, model_id, json.dumps(values)))
        if len(self._unwritten) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the outcomes remembered since the last flush, in one transaction."""
        rows, self._unwritten = self._unwritten, []
        if not rows:
            return
        try:
            with transaction(self._db):
                self._db.executemany("INSERT OR REPLACE INTO outcomes VALUES (?,?,?,?,?)", rows)
        except sqlite3.Error as error:
            self.error = self.error or describe(error)
