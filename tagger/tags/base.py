"""The common interface of the per-format genre tag handlers (one module per format, as in mutagen)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar


class TagError(Exception):
    """A tag exists but cannot be parsed or written. The file is skipped: we never replace a tag we
    could not read with a fresh one, since that would drop everything else it held."""


class GenreTags(Protocol):
    """Reads and writes the genre field of one container format, and nothing else.

    ``snapshot`` returns a JSON-serialisable record of exactly what ``write`` may change, and ``restore``
    puts such a record back: the tag-change journal stores snapshots so that any change can be undone.
    ``kept`` digests everything else a write must leave as it was (the other fields, the audio), so that
    a write is checked before it replaces the file. A handler is built for its run (``tagger.formats
    .TagHandlers``): whatever the run chose about a format's tags (ID3's version) it knows already.
    """

    name: str

    def read_genres(self, path: Path) -> list[str]: ...

    def snapshot(self, path: Path) -> dict[str, Any]: ...

    def matches(self, path: Path, snapshot: dict[str, Any]) -> bool:
        """Whether the file holds exactly what ``snapshot`` recorded (an undo that was cut off after its write)."""
        ...

    def kept(self, path: Path) -> dict[str, str]: ...

    def write(self, path: Path, genres: list[str]) -> None: ...

    def restore(self, path: Path, snapshot: dict[str, Any]) -> None: ...

    def undoing(self, snapshot: dict[str, Any]) -> GenreTags:
        """The handler that puts ``snapshot`` back, checked the way its write was made."""
        ...

    def holds(self, read: list[str], written: list[str]) -> bool:
        """Whether genres read from a file are the ``written`` ones, as this format stores them."""
        ...


Handler = TypeVar("Handler")


class OneVersionTags:
    """What the handlers of formats whose tags have one version share: undo needs no other handler, and
    genres read back are the values written."""

    def undoing(self: Handler, snapshot: dict[str, Any]) -> Handler:
        return self

    def holds(self, read: list[str], written: list[str]) -> bool:
        return read == written


def digest(data: bytes | str) -> str:
    """A short stable digest, for comparing what a write must keep."""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()[:32]


def stream_digest(handle: BinaryIO) -> str:
    """``digest`` of an open file from its current position to its end, read in chunks."""
    hasher = hashlib.sha256()
    while chunk := handle.read(1 << 20):
        hasher.update(chunk)
    return hasher.hexdigest()[:32]
