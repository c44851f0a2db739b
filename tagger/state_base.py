"""What the parts of the state database share: how a path is stored, and the error they raise."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator


class StateError(Exception):
    """The state database cannot do what was asked (read-only, full, damaged, locked); one line for the user."""


def describe(error: BaseException) -> str:
    """An OSError's or SQLite error's reason, in one line."""
    return getattr(error, "strerror", None) or str(error).splitlines()[0]


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


def inserted_id(cursor: sqlite3.Cursor) -> int:
    if cursor.lastrowid is None:
        raise sqlite3.DatabaseError("the database did not report the inserted row")
    return cursor.lastrowid


@contextlib.contextmanager
def transaction(database: sqlite3.Connection, *, durable: bool = True) -> Iterator[None]:
    """The rows written inside as one commit (sqlite3.Error where it cannot be had). ``durable=False``: a
    commit that need not be on disk before the next durable one (which carries it there: the write-ahead log
    is synced in order), for rows a crash may lose at no cost."""
    if not durable:
        database.execute("PRAGMA synchronous=NORMAL")
    try:
        database.execute("BEGIN IMMEDIATE")
        try:
            yield
            database.execute("COMMIT")
        except BaseException:
            database.execute("ROLLBACK")
            raise
    finally:
        if not durable:
            database.execute("PRAGMA synchronous=FULL")
