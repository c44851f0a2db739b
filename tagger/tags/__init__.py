"""Genre tag handlers by file type, and crash-safe writes through them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tagger import atomic
from tagger.tags.base import GenreTags, TagError
from tagger.tags.id3 import ID3Genres
from tagger.tags.mp4 import MP4_TAGS
from tagger.tags.vorbis import VORBIS

HANDLERS: dict[str, GenreTags] = {
    ".mp3": ID3Genres(),
    ".flac": VORBIS,
    ".ogg": VORBIS,
    ".oga": VORBIS,
    ".opus": VORBIS,
    ".m4a": MP4_TAGS,
    ".mp4": MP4_TAGS,
}

__all__ = ["HANDLERS", "GenreTags", "TagError", "handler_for", "write_genres", "restore_genres"]


def handler_for(path: Path) -> GenreTags | None:
    """The handler for a file's type, or None where we do not write tags (e.g. WAV)."""
    return HANDLERS.get(path.suffix.lower())


def write_genres(path: Path, genres: list[str], *, id3v23: bool = False) -> None:
    """Write ``genres`` into ``path`` so that a crash at any moment leaves the old or the new file."""
    handler = _required_handler(path)
    atomic.rewrite(path, lambda copy: handler.write(copy, genres, id3v23=id3v23))


def restore_genres(path: Path, snapshot: dict[str, Any]) -> None:
    """Put back the genre fields recorded by ``snapshot``, as crash-safely as ``write_genres``."""
    handler = _required_handler(path)
    atomic.rewrite(path, lambda copy: handler.restore(copy, snapshot))


def _required_handler(path: Path) -> GenreTags:
    handler = handler_for(path)
    if handler is None:
        raise TagError(f"writing tags is not supported for {path.suffix or 'this'} files")
    return handler
