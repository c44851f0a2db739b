"""Genre tag handlers (one module per tag format), and crash-safe writes through them.

Which handler serves which file is decided by the format registry, ``tagger.formats``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tagger import atomic
from tagger.tags.base import GenreTags, TagError

__all__ = ["GenreTags", "TagError", "restore_genres", "write_genres"]


def write_genres(path: Path, handler: GenreTags, genres: list[str], *, id3v23: bool = False,
                 expected: atomic.Identity | None = None, on_in_place: atomic.InPlaceBackup | None = None) -> None:
    """Write ``genres`` into ``path`` so that a crash at any moment leaves the old or the new file
    (``atomic.rewrite``: ``expected`` is the identity the decision was made on)."""
    atomic.rewrite(path, lambda copy: handler.write(copy, genres, id3v23=id3v23), expected, on_in_place)


def restore_genres(path: Path, handler: GenreTags, snapshot: dict[str, Any]) -> None:
    """Put back the genre fields recorded by ``snapshot``, as crash-safely as ``write_genres``."""
    atomic.rewrite(path, lambda copy: handler.restore(copy, snapshot))
