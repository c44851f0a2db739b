"""Settling interrupted changes and undoing runs, from the change journal in the state database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tagger import tags
from tagger.state import Change, StateStore


@dataclass
class UndoOutcome:
    """What happened to one change during an undo."""

    path: str
    restored: bool
    message: str = ""


def _current_genres(change: Change) -> list[str] | None:
    """The file's genres now, or None if the file or its tag can no longer be read."""
    handler = tags.handler_for(Path(change.path))
    try:
        return handler.read_genres(Path(change.path)) if handler else None
    except (tags.TagError, OSError):
        return None


def settle_pending(store: StateStore) -> int:
    """Resolve changes a crashed run left ``pending``: ``done`` if the file holds the new genres (the
    rename happened), else ``abandoned`` (the original is intact). Returns how many were settled."""
    pending = store.changes(status="pending")
    for change in pending:
        done = _current_genres(change) == change.after["genres"]
        store.set_change_status(change.id, "done" if done else "abandoned")
    return len(pending)


def undo_run(store: StateStore, run_id: int, force: bool = False) -> list[UndoOutcome]:
    """Restore the genre fields that run ``run_id`` changed, newest change first.

    A file whose genres were changed again since (by a person or another program) is left alone unless
    ``force``: undoing would overwrite that newer edit.
    """
    settle_pending(store)
    outcomes = []
    for change in reversed(store.changes(run_id=run_id, status="done")):
        current = _current_genres(change)
        if current is None:
            outcomes.append(UndoOutcome(change.path, False, "file is gone or its tag is unreadable"))
            continue
        if current != change.after["genres"] and not force:
            outcomes.append(UndoOutcome(change.path, False, "genres changed since this run; use --force"))
            continue
        try:
            tags.restore_genres(Path(change.path), change.before)
        except (tags.TagError, OSError) as error:
            outcomes.append(UndoOutcome(change.path, False, str(error)))
            continue
        store.set_change_status(change.id, "undone")
        outcomes.append(UndoOutcome(change.path, True))
    return outcomes
