"""Genre tag handlers (one module per tag format), and crash-safe, checked writes through them.

Which handler serves which file is decided by the format registry, ``tagger.formats``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tagger import atomic
from tagger.tags.base import GenreTags, TagError

__all__ = ["GenreTags", "TagError", "restore_genres", "write_genres"]


def write_genres(path: Path, handler: GenreTags, genres: list[str], *, expected: atomic.Identity | None = None,
                 on_in_place: atomic.InPlaceBackup | None = None) -> None:
    """Write ``genres`` into ``path`` so that a crash at any moment leaves the old or the new file
    (``atomic.rewrite``: ``expected`` is the identity the decision was made on), and only if the new file
    keeps everything but the genre exactly."""
    atomic.rewrite(path, lambda copy: _checked(handler, copy, lambda: handler.write(copy, genres)),
                   expected, on_in_place)


def restore_genres(path: Path, handler: GenreTags, snapshot: dict[str, Any],
                   on_in_place: atomic.InPlaceBackup | None = None) -> None:
    """Put back the genre fields recorded by ``snapshot``, as crash-safely and as checked as ``write_genres``
    (by the handler that undoes it: an ``--id3v23`` conversion is converted back)."""
    undoing = handler.undoing(snapshot)
    atomic.rewrite(path, lambda copy: _checked(undoing, copy, lambda: undoing.restore(copy, snapshot)),
                   on_in_place=on_in_place)


def _checked(handler: GenreTags, copy: Path, edit: Callable[[], None]) -> None:
    """Run ``edit`` on the private copy, then refuse (the original stays) if anything the handler must keep
    changed: a defect or a library quirk must cost a skipped file, never a lost tag or damaged audio."""
    before = handler.kept(copy)
    edit()
    after = handler.kept(copy)
    changed = sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
    if changed:
        raise TagError(f"the write would also have changed {', '.join(changed[:4])}"
                       f"{' and more' if len(changed) > 4 else ''}; refused")
