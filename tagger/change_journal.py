"""The journal of runs and tag changes, in the state database: what ``tagger undo`` restores from.

A tag change is journalled in two steps, ``pending`` before the file is replaced and ``done`` after, so
that a crash in between is detected and settled on the next run (``tagger.recovery``). An in-place write
records the bytes it replaces first, so one cut off half-way can be finished or taken back.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tagger.state_base import StateError, describe, inserted_id, loaded_path, stored_path
from tagger.textenum import TextEnum


class ChangeStatus(TextEnum):
    """Where one journalled tag change stands."""

    PENDING = "pending"  # journalled; the file may or may not have been replaced yet
    DONE = "done"  # the file holds the new genres
    ABANDONED = "abandoned"  # the write failed; the file was left as it was
    UNDONE = "undone"  # restored by `tagger undo`


SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started REAL NOT NULL, finished REAL, command TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL REFERENCES runs(id),
    path TEXT NOT NULL, handler TEXT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ({statuses})), changed REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_run ON changes(run_id, status);
CREATE INDEX IF NOT EXISTS changes_by_path ON changes(path, status);
CREATE TABLE IF NOT EXISTS in_place (
    change_id INTEGER PRIMARY KEY REFERENCES changes(id), offset INTEGER NOT NULL, before BLOB NOT NULL,
    after BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS undo_in_place (
    change_id INTEGER PRIMARY KEY REFERENCES changes(id), offset INTEGER NOT NULL, before BLOB NOT NULL,
    after BLOB NOT NULL
);
""".format(statuses=", ".join(f"'{status}'" for status in ChangeStatus))

_IN_PLACE = {False: "in_place", True: "undo_in_place"}  # backups of in-place writes: of changes, of undos


@dataclass(frozen=True)
class Change:
    """One journalled tag change."""

    id: int
    run_id: int
    path: str
    handler: str
    before: dict[str, Any]
    after: dict[str, Any]
    status: ChangeStatus


class ChangeJournal:
    """The ``runs``, ``changes`` and in-place backup tables. A journal that cannot record (a full disk)
    raises StateError: without a journal nothing may be written."""

    def __init__(self, database: sqlite3.Connection, path: Path, read_only: bool) -> None:
        self._db, self.path, self.read_only = database, path, read_only

    @contextlib.contextmanager
    def _recording(self, what: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as error:
            raise StateError(f"cannot {what} in the journal {self.path}: {describe(error)}") from error

    def begin_run(self, command: str) -> int:
        """A new run's id; a read-only journal numbers nothing (0), as it records nothing."""
        if self.read_only:
            return 0
        with self._recording("record the run"):
            cursor = self._db.execute("INSERT INTO runs (started, command) VALUES (?, ?)", (time.time(), command))
        return inserted_id(cursor)

    def finish_run(self, run_id: int) -> None:
        """Record the run's end where it can be: only ``undo --list`` reads it, and the changes stand without it."""
        if self.read_only:
            return
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("UPDATE runs SET finished=? WHERE id=?", (time.time(), run_id))

    def pending(self, run_id: int, path: str, handler: str, before: dict, after: dict) -> int:
        """Record a change about to be written; its id."""
        with self._recording("record a change"):
            cursor = self._db.execute(
                "INSERT INTO changes (run_id, path, handler, before, after, status, changed) VALUES (?,?,?,?,?,?,?)",
                (run_id, stored_path(path), handler, json.dumps(before), json.dumps(after), ChangeStatus.PENDING,
                 time.time()),
            )
        return inserted_id(cursor)

    def in_place(self, change_id: int, offset: int, before: bytes, after: bytes, *, undo: bool = False) -> None:
        """The bytes an in-place write (of a change, or of its ``undo``) is about to replace, and those it
        writes, so that a write cut off half-way can be finished or taken back."""
        with self._recording("record the bytes an in-place write replaces"):
            self._db.execute(f"INSERT OR REPLACE INTO {_IN_PLACE[undo]} (change_id, offset, before, after) "
                             "VALUES (?,?,?,?)", (change_id, offset, before, after))

    def in_place_backup(self, change_id: int, *, undo: bool = False) -> tuple[int, bytes, bytes] | None:
        row = self._db.execute(f"SELECT offset, before, after FROM {_IN_PLACE[undo]} WHERE change_id=?",
                               (change_id,)).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]), bytes(row[2]))

    def undos_in_place(self) -> list[int]:
        """The changes whose undo was writing in place when it last stopped (settled, then forgotten)."""
        return [row[0] for row in self._db.execute("SELECT change_id FROM undo_in_place ORDER BY change_id")]

    def forget_undo_in_place(self, change_id: int) -> None:
        with self._recording("settle an undo"):
            self._db.execute("DELETE FROM undo_in_place WHERE change_id=?", (change_id,))

    def set_status(self, change_id: int, status: ChangeStatus) -> None:
        with self._recording("record a change's outcome"):
            self._db.execute("UPDATE changes SET status=?, changed=? WHERE id=?", (status, time.time(), change_id))

    def changes(self, *, run_id: int | None = None, status: ChangeStatus | None = None,
                change_id: int | None = None) -> list[Change]:
        query = "SELECT id, run_id, path, handler, before, after, status FROM changes WHERE 1=1"
        arguments: list[object] = []
        if change_id is not None:
            query, arguments = query + " AND id=?", [*arguments, change_id]
        if run_id is not None:
            query, arguments = query + " AND run_id=?", [*arguments, run_id]
        if status is not None:
            query, arguments = query + " AND status=?", [*arguments, status]
        rows = self._db.execute(query + " ORDER BY id", arguments).fetchall()
        return [
            Change(row[0], row[1], loaded_path(row[2]), row[3], json.loads(row[4]), json.loads(row[5]),
                   ChangeStatus(row[6]))
            for row in rows
        ]

    def last_written(self, path: str) -> Change | None:
        """The latest change written into ``path`` and not undone: what the tagger last left in it."""
        row = self._db.execute("SELECT MAX(id) FROM changes WHERE path=? AND status=?",
                               (stored_path(path), ChangeStatus.DONE)).fetchone()
        return None if row[0] is None else self.changes(change_id=int(row[0]))[0]

    def has_run(self, run_id: int) -> bool:
        return self._db.execute("SELECT 1 FROM runs WHERE id=?", (run_id,)).fetchone() is not None

    def last_undoable_run(self) -> int | None:
        row = self._db.execute("SELECT MAX(run_id) FROM changes WHERE status=?", (ChangeStatus.DONE,)).fetchone()
        return None if row[0] is None else int(row[0])

    def runs_with_changes(self) -> list[tuple[int, float, str, int]]:
        """(run id, start time, command, number of changes still undoable), newest first."""
        return self._db.execute(
            "SELECT runs.id, runs.started, runs.command, SUM(changes.status=?) FROM runs "
            "JOIN changes ON changes.run_id = runs.id GROUP BY runs.id ORDER BY runs.id DESC",
            (ChangeStatus.DONE,),
        ).fetchall()
