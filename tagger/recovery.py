"""Settling interrupted changes and undoing runs, from the change journal in the state database."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tagger import tags
from tagger.change_journal import Change, ChangeStatus
from tagger.formats import HANDLERS_BY_NAME
from tagger.sniff import audio_fingerprint
from tagger.state import StateStore


@dataclass
class UndoOutcome:
    """What happened to one change during an undo."""

    path: str
    restored: bool
    message: str = ""


def _current_genres(change: Change) -> list[str] | None:
    """The file's genres now, or None if the file or its tag can no longer be read."""
    handler = HANDLERS_BY_NAME.get(change.handler)
    try:
        return handler.read_genres(Path(change.path)) if handler else None
    except (tags.TagError, OSError):
        return None


def _holds_written_genres(change: Change) -> bool | None:
    """Whether the file carries the genres ``change`` wrote, as its handler compares them; None if the file
    or its tag cannot be read."""
    current = _current_genres(change)
    if current is None:
        return None
    return HANDLERS_BY_NAME[change.handler].holds(current, change.after["genres"])


def settle_pending(store: StateStore) -> int:
    """Resolve changes a crashed run left ``pending``: ``done`` if the file holds the new genres (the
    rename happened), else ``abandoned`` (the original is intact). Returns how many were settled.

    Holds the write lock: a running scan's change is ``pending`` while it writes under that lock, so
    settling without it could mark a write in progress ``abandoned``."""
    with store.write_lock():
        return settle_pending_held(store)


def settle_pending_held(store: StateStore) -> int:
    """``settle_pending`` for a caller that holds the write lock already (a scan whose write was cut off).
    An undo cut off half-way through an in-place write is settled too: finished, or taken back."""
    pending = store.journal.changes(status=ChangeStatus.PENDING)
    for change in pending:
        backup = store.journal.in_place_backup(change.id)
        done = _settle_in_place(change, *backup) if backup else _holds_written_genres(change) is True
        store.journal.set_status(change.id, ChangeStatus.DONE if done else ChangeStatus.ABANDONED)
    for change_id in store.journal.undos_in_place():
        backup = store.journal.in_place_backup(change_id, undo=True)
        for change in store.journal.changes(change_id=change_id):
            if backup and _settle_in_place(change, *backup):
                store.journal.set_status(change_id, ChangeStatus.UNDONE)
        store.journal.forget_undo_in_place(change_id)
    return len(pending)


def _settle_in_place(change: Change, offset: int, before: bytes, after: bytes) -> bool:
    """Whether an in-place write completed; one cut off half-way is taken back to the original bytes."""
    try:
        with open(change.path, "rb+") as handle:
            handle.seek(offset)
            now = handle.read(len(after))
            if now == after:
                return True
            if now != before:
                handle.seek(offset)
                handle.write(before)
                handle.flush()
                os.fsync(handle.fileno())
    except OSError:
        pass  # the file is gone: nothing left to repair
    return False


def undo_run(store: StateStore, run_id: int, force: bool = False) -> list[UndoOutcome]:
    """Restore the genre fields that run ``run_id`` changed, newest change first.

    A file whose genres were changed again since (by a person or another program) is left alone unless
    ``force``: undoing would overwrite that newer edit. A file that holds other audio now (replaced by
    another song) is always left alone. Holds the write lock, so a scan beside it never writes a file
    between the check and the restore.
    """
    with store.write_lock():
        settle_pending_held(store)
        done = store.journal.changes(run_id=run_id, status=ChangeStatus.DONE)
        return [_undo_change(store, change, force) for change in reversed(done)]


def _undo_change(store: StateStore, change: Change, force: bool) -> UndoOutcome:
    """Restore one change's old genre fields, unless its file was changed since (and not ``force``)."""
    handler = HANDLERS_BY_NAME[change.handler]
    path = Path(change.path)
    try:
        if handler.matches(path, change.before):  # restored already, by an undo that was cut off
            store.journal.set_status(change.id, ChangeStatus.UNDONE)
            return UndoOutcome(change.path, True)
        if audio_fingerprint(path) != change.after["audio"]:
            return UndoOutcome(change.path, False, "the file holds other audio now (replaced since the run); "
                                                   "left alone")
    except (tags.TagError, OSError):
        return UndoOutcome(change.path, False, "file is gone or its tag is unreadable")
    holds = _holds_written_genres(change)
    if holds is None:
        return UndoOutcome(change.path, False, "file is gone or its tag is unreadable")
    if not holds and not force:
        return UndoOutcome(change.path, False, "genres changed since this run; use --force")
    in_place: list[int] = []

    def journal_in_place(offset: int, before: bytes, after: bytes) -> None:
        store.journal.in_place(change.id, offset, before, after, undo=True)
        in_place.append(offset)

    try:
        tags.restore_genres(path, handler, change.before, on_in_place=journal_in_place)
    except BaseException as error:
        settle_pending_held(store)  # an in-place restore cut off: finished or taken back now
        if isinstance(error, (tags.TagError, OSError)):
            return UndoOutcome(change.path, False, str(error))
        raise
    store.journal.set_status(change.id, ChangeStatus.UNDONE)
    if in_place:
        store.journal.forget_undo_in_place(change.id)
    return UndoOutcome(change.path, True)
