"""The tagger's memory: one SQLite database under ``$XDG_STATE_HOME/genre-tagger/`` (or ``--state-dir``/
``TAGGER_STATE_DIR``) holding the result cache (``tagger.result_cache``), the embeddings `tagger learn` fits on
(``tagger.embedding_cache``), each file's last outcome (``tagger.outcome_cache``) and the change journal
(``tagger.change_journal``), with the write lock beside it (``tagger.write_lock``).

The database carries a schema version (SQLite's ``user_version``): a database written by a newer tagger
is refused with a clear line instead of being misread.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from tagger import change_journal, embedding_cache, outcome_cache, result_cache
from tagger.change_journal import ChangeJournal
from tagger.embedding_cache import EmbeddingCache
from tagger.outcome_cache import OutcomeCache
from tagger.result_cache import ResultCache
from tagger.state_base import StateError, describe, transaction
from tagger.write_lock import LockTimeoutError, WriteLock
from tagger.xdg import NoHomeError, base_directory

# A change of the layout needs a migration from each earlier one (_migrate); a new table does not (an older
# tagger of the same version leaves it alone): the embeddings came so.
SCHEMA_VERSION = 2
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


class NewerStateError(sqlite3.DatabaseError):
    """The database was written by a newer tagger, whose layout this one does not know."""


def _refuse_a_newer(database: sqlite3.Connection) -> None:
    """Raise NewerStateError for a database of a newer layout, before anything of it is changed."""
    version = database.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise NewerStateError(f"it was written by a newer genre tagger (state version {version}, this one "
                              f"knows {SCHEMA_VERSION}); upgrade the tagger, or give another --state-dir")


def _migrate(database: sqlite3.Connection) -> None:
    """Bring an earlier layout to this one, keeping its rows. Version 2: the result cache finds a file again
    by its audio's fingerprint (column ``content_identity``, indexed) where version 1 compared a hash of
    its raw bytes among files of one size (``fingerprint``); those old values match nothing now, so they are
    cleared, and each row still serves its own path."""
    columns = {row[1] for row in database.execute("PRAGMA table_info(results)")}
    if "fingerprint" in columns:
        database.execute("ALTER TABLE results RENAME COLUMN fingerprint TO content_identity")
        database.execute("UPDATE results SET content_identity=NULL")
        database.execute("DROP INDEX IF EXISTS results_by_size")


def _create_schema(database: sqlite3.Connection) -> None:
    """The tables, in a database that has none (version 0), an earlier layout (migrated) or ours; a newer
    one is refused."""
    _refuse_a_newer(database)
    _migrate(database)
    schemas = result_cache.SCHEMA + embedding_cache.SCHEMA + outcome_cache.SCHEMA + change_journal.SCHEMA
    for statement in filter(str.strip, schemas.split(";")):
        database.execute(statement)
    database.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


class StateStore:
    """The state database: its ``cache`` and ``journal``, and the write lock. Safe for several processes:
    WAL mode and a busy timeout.

    ``read_only`` opens it only to read (an existing database, else an empty one in memory): a dry run and
    ``tagger undo --list`` still work where the state directory is read-only, a file, or damaged. Such a
    store caches nothing and refuses to journal.
    """

    def __init__(self, directory: Path, *, read_only: bool = False,
                 on_wait: Callable[[str], None] = lambda message: None) -> None:
        self.path = directory / "state.sqlite3"
        self.read_only = read_only
        self._write_lock = WriteLock(directory / "write.lock", on_wait)
        self._db = self._connect_read_only() if read_only else self._connect(directory)
        self.cache = ResultCache(self._db, read_only)
        self.embeddings = EmbeddingCache(self._db, read_only)
        self.outcomes = OutcomeCache(self._db, read_only)
        self.journal = ChangeJournal(self._db, self.path, read_only)

    def _connect(self, directory: Path) -> sqlite3.Connection:
        directory.mkdir(parents=True, exist_ok=True)
        database = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
        try:
            _refuse_a_newer(database)  # before the switch to WAL, which rewrites the file's header
        except BaseException:
            database.close()
            raise
        _switch_to_wal(database)
        database.execute("PRAGMA synchronous=FULL")  # a journal row is on disk before the file it describes changes
        database.execute("BEGIN IMMEDIATE")  # one process at a time creates the schema
        try:
            _create_schema(database)
            database.execute("COMMIT")
        except BaseException:
            database.execute("ROLLBACK")
            database.close()
            raise
        return database

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
            version = database.execute("PRAGMA user_version").fetchone()[0]  # a damaged file fails here
            if version != SCHEMA_VERSION:
                raise sqlite3.DatabaseError("not a state database of this tagger's version")
            return database
        except sqlite3.Error:
            database = sqlite3.connect(":memory:", isolation_level=None)
            _create_schema(database)
            return database

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[None]:
        """The rows written inside as one commit (``state_base.transaction``), a StateError where it cannot be
        had. ``durable=False`` for rows a crash may lose at no cost, such as a change's confirmation (the next
        run settles it from the file) and cache rows: a write then costs one sync of the database, for its
        journal entry, instead of three."""
        try:
            with transaction(self._db, durable=durable):
                yield
        except sqlite3.Error as error:
            raise StateError(f"cannot record in the state database {self.path}: {describe(error)}") from error

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


def _switch_to_wal(database: sqlite3.Connection) -> None:
    """SQLite answers "database is locked" at once, without waiting, when this pragma meets another process
    creating the database: two scans started together must both get through."""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            database.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:  # noqa: PERF203 -- a retry loop is the point
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
