"""The common interface of the per-format genre tag handlers (one module per format, as in mutagen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class TagError(Exception):
    """A tag exists but cannot be parsed or written. The file is skipped: we never replace a tag we
    could not read with a fresh one, since that would drop everything else it held."""


class GenreTags(Protocol):
    """Reads and writes the genre field of one container format, and nothing else.

    ``snapshot`` returns a JSON-serialisable record of exactly the fields ``write`` may change, and
    ``restore`` puts such a record back: the tag-change journal stores snapshots so that any change
    can be undone.
    """

    name: str

    def read_genres(self, path: Path) -> list[str]: ...

    def snapshot(self, path: Path) -> dict[str, Any]: ...

    def write(self, path: Path, genres: list[str], *, id3v23: bool = False) -> None: ...

    def restore(self, path: Path, snapshot: dict[str, Any]) -> None: ...
