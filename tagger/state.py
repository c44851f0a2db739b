"""The tagger's memory: cached per-file results and a journal of every tag change.

One SQLite database under ``$XDG_STATE_HOME/genre-tagger/`` (or ``--state-dir``/``TAGGER_STATE_DIR``).
Results are keyed by path, size, mtime and model id, so a rescan skips unchanged files; a file that moved
or was copied is found again by its size and a fingerprint of its content. A tag change is
journalled in two steps, ``pending`` before the file is replaced and ``done`` after, so that a crash in
between is detected and settled on the next run, and ``tagger undo`` can restore any run exactly.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tagger.sniff import add_samples
from tagger.textenum import TextEnum
from tagger.write_lock import LockTimeoutError, WriteLock
from tagger.xdg import NoHomeError, base_directory


class ChangeStatus(TextEnum):
    """Where one journalled tag change stands."""

    PENDING = "pending"  # journalled; the file may or may not have been replaced yet
    DONE = "done"  # the file holds the new genres
    ABANDONED = "abandoned"  # the write failed; the file was left as it was
    UNDONE = "undone"  # restored by `tagger undo`


SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, model_id TEXT NOT NULL,
    scores TEXT NOT NULL, updated REAL NOT NULL, fingerprint TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started REAL NOT NULL, finished REAL, command TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL REFERENCES runs(id),
    path TEXT NOT NULL, handler TEXT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ({statuses})), changed REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_run ON changes(run_id, status);
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
BUSY_SECONDS = 60  # how long a process waits for another one's lock on the state database


def default_state_dir() -> Path:
    """``$TAGGER_STATE_DIR``, else ``$XDG_STATE_HOME/genre-tagger``, else ``~/.local/state/genre-tagger``.
    Raises StateError where there is no home directory to find and no variable names a place."""
    if os.environ.get("TAGGER_STATE_DIR"):
        return Path(os.environ["TAGGER_STATE_DIR"])
    try:
        return base_directory("XDG_STATE_HOME", ".local", "state") / "genre-tagger"
    except NoHomeError as error:
        raise StateError(f"{error}: give --state-dir or set TAGGER_STATE_DIR") from error


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
    def fingerprint(self) -> str:
        """The file's content identity, wherever it lies: a hash of its size and of 64 KiB at its start,
        middle and end (its audio, not only the tag and cover art that lead an MP3). Reads at most 192 KiB, once per
        key: a cache miss and the store of the fresh result that follows it share the reading."""
        digest = hashlib.sha256(str(self.size).encode())
        with open(self.path, "rb") as handle:
            add_samples(digest, handle, 0, self.size)
        return digest.hexdigest()[:32]


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


def stored_path(path: str) -> str | bytes:
    """A path as the database keeps it: its text, or its raw bytes where the name is not valid UTF-8 (a
    file named in Latin-1 on a Linux disk), which SQLite's text cannot hold."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


def loaded_path(value: str | bytes) -> str:
    """The inverse of ``stored_path``: raw bytes come back as the str that ``os`` functions accept."""
    return os.fsdecode(value) if isinstance(value, bytes) else value


def _inserted_id(cursor: sqlite3.Cursor) -> int:
    if cursor.lastrowid is None:
        raise sqlite3.DatabaseError("the database did not report the inserted row")
    return cursor.lastrowid


def _fingerprint_or_none(key: FileKey) -> str | None:
    """None when the file cannot be read now: its result is then found only at its own path."""
    try:
        return key.fingerprint
    except OSError:
        return None


def _create_schema(database: sqlite3.Connection) -> None:
    for statement in filter(str.strip, SCHEMA.split(";")):
        database.execute(statement)


class StateError(Exception):
    """The state database cannot do what was asked (read-only, full, damaged, locked); one line for the user."""


def describe(error: BaseException) -> str:
    """An OSError's or SQLite error's reason, in one line."""
    return getattr(error, "strerror", None) or str(error).splitlines()[0]


class StateStore:
    """Access to the state database. Safe for several processes: WAL mode and a busy timeout.

    ``read_only`` opens it only to read (an existing database, else an empty one in memory): a dry run and
    ``tagger undo --list`` still work where the state directory is read-only, a file, or damaged. Such a
    store caches nothing and refuses to journal.
    """

    def __init__(self, directory: Path, *, read_only: bool = False,
                 on_wait: Callable[[str], None] = lambda message: None) -> None:
        self.path = directory / "state.sqlite3"
        self.read_only = read_only
        self.cache_error: str | None = None  # why results could not be cached, once that happened
        self._write_lock = WriteLock(directory / "write.lock", on_wait)
        if read_only:
            self._db = self._connect_read_only()
            return
        directory.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
        self._switch_to_wal()
        # FULL: a journal row is on disk before the file it describes is replaced.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("BEGIN IMMEDIATE")  # one process at a time creates or upgrades the schema
        try:
            _create_schema(self._db)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(results)")}
            if "fingerprint" not in columns:  # a database from before content identities
                self._db.execute("ALTER TABLE results ADD COLUMN fingerprint TEXT")
            self._db.execute("CREATE INDEX IF NOT EXISTS results_by_size ON results(size, model_id)")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    @classmethod
    def for_reading(cls, directory: Path, on_wait: Callable[[str], None] = lambda message: None,
                    ) -> tuple[StateStore, str | None]:
        """The store, writable if it can be, else read-only with the reason it is not writable."""
        try:
            return cls(directory, on_wait=on_wait), None
        except (OSError, sqlite3.Error) as error:
            return cls(directory, read_only=True), describe(error)

    def _connect_read_only(self) -> sqlite3.Connection:
        try:
            database = sqlite3.connect(f"file:{quote(str(self.path))}?mode=ro", uri=True, isolation_level=None)
            database.execute("SELECT COUNT(*) FROM results").fetchone()  # a damaged file fails here
            return database
        except sqlite3.Error:
            database = sqlite3.connect(":memory:", isolation_level=None)
            _create_schema(database)
            return database

    def _switch_to_wal(self) -> None:
        """SQLite answers "database is locked" at once, without waiting, when this pragma meets another
        process creating the database: two scans started together must both get through."""
        deadline = time.monotonic() + BUSY_SECONDS
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:  # noqa: PERF203 -- a retry loop is the point
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """Serialise read-decide-journal-write of tags between tagger processes sharing this state
        (``tagger.write_lock``). Raises StateError when the lock cannot be had."""
        if self.read_only:
            raise StateError("the state database is read-only: nothing can be journalled, so nothing is written")
        try:
            with self._write_lock.held():
                yield
        except LockTimeoutError as error:
            raise StateError(str(error)) from error
        except OSError as error:
            raise StateError(f"cannot take the write lock {self._write_lock.path}: {describe(error)}") from error

    @contextlib.contextmanager
    def _journalling(self, what: str) -> Iterator[None]:
        """SQLite errors of the journal (a full disk) as StateError: without a journal nothing may be written."""
        try:
            yield
        except sqlite3.Error as error:
            raise StateError(f"cannot {what} in the journal {self.path}: {describe(error)}") from error

    # Results -------------------------------------------------------------------------------------

    def cached_scores(self, key: FileKey, model_id: str) -> list[float] | None:
        """Scores of this version of this file: at its path, or (moved, renamed, copied) under another path
        with the same size and content fingerprint, which is then remembered at this path too."""
        row = self._db.execute(
            "SELECT scores FROM results WHERE path=? AND size=? AND mtime_ns=? AND model_id=?",
            (stored_path(key.path), key.size, key.mtime_ns, model_id),
        ).fetchone()
        if row:
            return json.loads(row[0])
        candidates = self._db.execute(
            "SELECT fingerprint, scores FROM results WHERE size=? AND model_id=? AND fingerprint IS NOT NULL",
            (key.size, model_id),
        ).fetchall()
        fingerprint = _fingerprint_or_none(key) if candidates else None
        if fingerprint is None:
            return None
        for stored, scores in candidates:
            if stored == fingerprint:
                self._insert(key, model_id, scores, fingerprint)
                return json.loads(scores)
        return None

    def store_scores(self, key: FileKey, model_id: str, scores: list[float]) -> None:
        self._insert(key, model_id, json.dumps(scores), _fingerprint_or_none(key))

    def _insert(self, key: FileKey, model_id: str, scores: str, fingerprint: str | None) -> None:
        """Cache a result; a cache that cannot be written (read-only, disk full) only costs a later rescan."""
        if self.read_only:
            return
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO results (path, size, mtime_ns, model_id, scores, updated, fingerprint) "
                "VALUES (?,?,?,?,?,?,?)",
                (stored_path(key.path), key.size, key.mtime_ns, model_id, scores, time.time(), fingerprint),
            )
        except sqlite3.Error as error:
            self.cache_error = self.cache_error or describe(error)

    # Runs and the change journal -----------------------------------------------------------------

    def begin_run(self, command: str) -> int:
        """A new run's id; a read-only store numbers nothing (0), as it journals nothing."""
        if self.read_only:
            return 0
        with self._journalling("record the run"):
            cursor = self._db.execute("INSERT INTO runs (started, command) VALUES (?, ?)", (time.time(), command))
        return _inserted_id(cursor)

    def finish_run(self, run_id: int) -> None:
        """Record the run's end where it can be: only ``undo --list`` reads it, and the changes stand without it."""
        if self.read_only:
            return
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("UPDATE runs SET finished=? WHERE id=?", (time.time(), run_id))

    def journal_pending(self, run_id: int, path: str, handler: str, before: dict, after: dict) -> int:
        with self._journalling("record a change"):
            cursor = self._db.execute(
                "INSERT INTO changes (run_id, path, handler, before, after, status, changed) VALUES (?,?,?,?,?,?,?)",
                (run_id, stored_path(path), handler, json.dumps(before), json.dumps(after), ChangeStatus.PENDING,
                 time.time()),
            )
        return _inserted_id(cursor)

    def journal_in_place(self, change_id: int, offset: int, before: bytes, after: bytes, *, undo: bool = False) -> None:
        """The bytes an in-place write (of a change, or of its ``undo``) is about to replace, and those it
        writes, so that a write cut off half-way can be finished or taken back (``journal.settle_pending``)."""
        with self._journalling("record the bytes an in-place write replaces"):
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
        with self._journalling("settle an undo"):
            self._db.execute("DELETE FROM undo_in_place WHERE change_id=?", (change_id,))

    def set_change_status(self, change_id: int, status: ChangeStatus) -> None:
        with self._journalling("record a change's outcome"):
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
