"""Formats whose tags map a field name to a list of strings (Vorbis comments, MP4 atoms)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import mutagen

from tagger.tags.base import TagError

_PARSE_ERRORS = (mutagen.MutagenError, ValueError, KeyError, IndexError, UnicodeError)


class ListFieldGenres:
    """Genres as the values of one list-valued field; everything else in the tag is left alone."""

    def __init__(self, name: str, field: str, open_file: Callable[[str], mutagen.FileType]) -> None:
        self.name = name
        self.field = field
        self._open_file = open_file

    def _load(self, path: Path) -> mutagen.FileType:
        try:
            audio = self._open_file(str(path))
        except _PARSE_ERRORS as error:
            raise TagError(f"unreadable {self.name} tags: {error}") from error
        if audio is None:
            raise TagError(f"not a file with {self.name} tags")
        return audio

    def read_genres(self, path: Path) -> list[str]:
        audio = self._load(path)
        return [value for value in (audio.tags or {}).get(self.field, []) if value]

    def snapshot(self, path: Path) -> dict[str, Any]:
        audio = self._load(path)
        present = audio.tags is not None and self.field in audio.tags
        return {self.field: list(audio.tags[self.field]) if present else None}

    def write(self, path: Path, genres: list[str], *, id3v23: bool = False) -> None:
        self._set(path, list(genres))

    def restore(self, path: Path, snapshot: dict[str, Any]) -> None:
        self._set(path, snapshot[self.field])

    def _set(self, path: Path, values: list[str] | None) -> None:
        audio = self._load(path)
        if audio.tags is None:
            audio.add_tags()
        if values is None:
            if self.field in audio.tags:
                del audio.tags[self.field]
        else:
            audio.tags[self.field] = values
        try:
            audio.save()
        except (*_PARSE_ERRORS, OSError) as error:
            raise TagError(f"cannot write {self.name} tags: {error}") from error
