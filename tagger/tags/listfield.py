"""Formats whose tags map a field name to a list of values (MP4 atoms, APEv2 items, ASF attributes): genres
are their text. mutagen reads the values, and the post-write check compares them; the writes themselves
are raw where the format's ``RawItemList`` can make them, else mutagen's save."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import mutagen
from mutagen import PaddingInfo

from tagger.sniff import audio_fingerprint
from tagger.tags.base import OneVersionTags, TagError, digest
from tagger.tags.splice import replace_range

FILE_SIZE = "file_size"
RAW_GENRES = "raw_genres"  # a snapshot's raw genre items: [index in the list, base64 bytes]
RAW_SIZE = "raw_size"  # and the size of what holds the list, which undo brings back
WHOLE = "whole"  # a snapshot's copy of what mutagen will rewrite, where the list cannot be edited raw
MAX_WHOLE = 16 << 20  # larger than this (chunk tables of hours of audio) it is not kept: undo restores values
_PARSE_ERRORS = (mutagen.MutagenError, ValueError, KeyError, IndexError, UnicodeError)


def _padding_for(info: PaddingInfo, size_now: int, size: int | None) -> int:
    """The padding that makes the saved file ``size`` bytes long, or mutagen's choice where it cannot be."""
    wanted = info.padding + (size - size_now) if size is not None else -1
    return wanted if wanted >= 0 else info.get_default_padding()


def _tags_of(audio: mutagen.FileType) -> Any:
    """The file's tag object or None (mutagen declares ``FileType.tags = None``, so its type reads as None)."""
    return audio.tags


class ListFieldGenres(OneVersionTags):
    """Genres as the values of one list-valued field; everything else in the tag is left alone."""

    def __init__(self, name: str, field: str, open_file: Callable[[str], mutagen.FileType | None],
                 has_padding: bool, raw_items: Callable[[Path], dict[str, str]] | None = None) -> None:
        self.name = name
        self.field = field
        self._open_file = open_file
        self.has_padding = has_padding  # whether the tag has padding that mutagen's save can size
        self._raw_items = raw_items  # digests of the other items' raw bytes, where the format's are read here

    def _load(self, path: Path) -> mutagen.FileType:
        try:
            audio = self._open_file(str(path))
        except _PARSE_ERRORS as error:
            raise TagError(f"unreadable {self.name} tags: {error}") from error
        if audio is None:
            raise TagError(f"not a file with {self.name} tags")
        return audio

    def _values(self, path: Path) -> list[str] | None:
        """The field's values, or None when the file has no such field (or no tag at all). A field that holds
        no text (an APEv2 item of binary data or an external link) is refused, not read as no genre."""
        tags = _tags_of(self._load(path))
        if tags is None or self.field not in tags:
            return None
        value = tags[self.field]
        if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
            raise TagError(f"the {self.field} field holds {type(value).__name__} data, not text; left as it is")
        return [str(item) for item in value]

    def read_genres(self, path: Path) -> list[str]:
        return [value for value in self._values(path) or [] if value]

    def snapshot(self, path: Path) -> dict[str, Any]:
        """The field's values, and the file's size, which undo restores too (the padding takes it up)."""
        return {self.field: self._values(path), FILE_SIZE: path.stat().st_size}

    def matches(self, path: Path, snapshot: dict[str, Any]) -> bool:
        now = self.snapshot(path)
        return all(now.get(key) == value for key, value in snapshot.items())

    def kept(self, path: Path) -> dict[str, str]:
        """Digests of every other field's values, as mutagen reads them, of their raw bytes where this format's
        can be read, and of the audio."""
        tags = _tags_of(self._load(path))
        parts = {"audio": audio_fingerprint(path)}
        values: dict[str, list[str]] = {}
        for key, value in tags.items() if tags is not None else ():
            if key.lower() != self.field.lower():  # APEv2 names have no case
                values.setdefault(f"field {key}", []).append(repr(value))  # ASF may repeat a name
        parts.update((key, digest(repr(reprs))) for key, reprs in values.items())
        parts.update(self._raw_items(path) if self._raw_items else {})
        return parts

    def write(self, path: Path, genres: list[str]) -> None:
        self._set(path, list(genres), path.stat().st_size)

    def restore(self, path: Path, snapshot: dict[str, Any]) -> None:
        self._set(path, snapshot[self.field], snapshot.get(FILE_SIZE))

    def _set(self, path: Path, values: list[str] | None, size: int | None) -> None:
        """Set the field and save; where the format has padding (MP4's ``free`` atom, ASF's padding object),
        give it what keeps the file at ``size`` bytes: a write moves no audio when the padding suffices, and
        an undo takes back the room a grown tag took, so the file is the same size and layout as before."""
        audio = self._load(path)
        if audio.tags is None:
            audio.add_tags()
        tags = _tags_of(audio)
        if tags is None:
            raise TagError(f"cannot add {self.name} tags to this file")
        # The field's name as the file spells it (APEv2 names have no case); .keys(): ASF tags iterate as pairs.
        key = next((key for key in tags.keys() if key.lower() == self.field.lower()), self.field)  # noqa: SIM118
        if values is None:
            if key in tags:
                del tags[key]
        else:
            tags[key] = values
        size_now = path.stat().st_size
        options = {"padding": lambda info: _padding_for(info, size_now, size)} if self.has_padding else {}
        try:
            audio.save(**options)
        except (*_PARSE_ERRORS, OSError) as error:
            raise TagError(f"cannot write {self.name} tags: {error}") from error


def placed(others: list[bytes], items: list[tuple[int, bytes]]) -> list[bytes]:
    """``others`` with each of ``items`` inserted at its index in the result (in index order, so that items
    taken out of a list at those indices go back exactly where they were)."""
    result = list(others)
    for index, item in sorted(items):
        result.insert(min(index, len(result)), item)
    return result


def encoded_places(items: list[bytes], wanted: list[int]) -> list[list[Any]]:
    """The items at ``wanted`` indices as a snapshot records them: [index, base64 bytes]."""
    return [[index, base64.b64encode(items[index]).decode("ascii")] for index in wanted]


def decoded_places(places: list[list[Any]]) -> list[tuple[int, bytes]]:
    return [(int(index), base64.b64decode(item)) for index, item in places]


class RawItemList(Protocol):
    """How one format reads and edits its tag's item list raw (``mp4_ilst``, ``asf_raw``, ``apev2_raw``): one
    protocol for all three. ``read`` gives the list's layout, or None where mutagen must save instead;
    the defaults here are for a format that never needs mutagen's save and whose media the sampled audio
    fingerprint covers."""

    def read(self, handle: BinaryIO) -> Any: ...

    def items(self, handle: BinaryIO, layout: Any) -> list[bytes]:
        """The raw items, in order."""
        ...

    def genre_indices(self, layout: Any) -> list[int]: ...

    def size(self, layout: Any) -> int:
        """The size of what holds the list (MP4's moov, ASF's header, the APEv2 tag), which undo brings back."""
        ...

    def name(self, item: bytes) -> str: ...

    def genre_items(self, layout: Any, genres: list[str]) -> list[bytes]: ...

    def edit(self, handle: BinaryIO, layout: Any, genre_items: list[tuple[int, bytes]], size: int) -> bool:
        """Put ``genre_items`` at their places, the holder at ``size`` where it can be; False: not done, the
        file untouched (mutagen saves instead)."""
        ...

    def whole(self, handle: BinaryIO) -> tuple[int, int] | None:
        """The span of what mutagen rewrites when it must save instead, which a snapshot then keeps whole so
        that undo can put it back as it was; None: mutagen never saves this format."""
        return None

    def unsaveable(self, handle: BinaryIO) -> str | None:
        """Why mutagen must not save the file instead (a layout its save breaks), or None where it may."""
        return None

    def media(self, handle: BinaryIO) -> str | None:
        """A digest of every byte of media the container points at, which the write check compares; None:
        the sampled audio fingerprint is all the format offers."""
        return None


class RawListGenres(ListFieldGenres):
    """A list-field format whose genre items are replaced raw where they sit, every other item kept in its
    bytes and its place, and put back exactly by undo; mutagen reads and checks the values, and saves only
    where the editor declines."""

    def __init__(self, name: str, field: str, open_file: Callable[[str], mutagen.FileType | None],
                 editor: RawItemList, has_padding: bool = True) -> None:
        super().__init__(name, field, open_file, has_padding, raw_items=self._other_items)
        self.editor = editor

    def _other_items(self, path: Path) -> dict[str, str]:
        """Digests of the raw items other than the genre, by name (items of one name together and in any
        order: mutagen's fallback save re-orders them), and of the media where the editor can read it all."""
        found: dict[str, list[bytes]] = {}
        with open(path, "rb") as handle:
            layout = self.editor.read(handle)
            items = self.editor.items(handle, layout) if layout is not None else []
            genre = self.editor.genre_indices(layout) if layout is not None else []
            media_digest = self.editor.media(handle)
        media = {"audio data": media_digest} if media_digest is not None else {}
        for index, item in enumerate(items):
            if index not in genre:
                found.setdefault(self.editor.name(item), []).append(item)
        return {**media, **{f"item {name}": digest(b"".join(sorted(raw))) for name, raw in found.items()}}

    def _refuse_unsaveable(self, path: Path) -> None:
        with open(path, "rb") as handle:
            reason = self.editor.unsaveable(handle)
        if reason:
            raise TagError(f"{reason}; left as it was")

    def snapshot(self, path: Path) -> dict[str, Any]:
        """The values and file size (for mutagen's fallback), and the raw genre items with their places and
        the size around the list, which let undo put it back byte for byte."""
        record = super().snapshot(path)
        with open(path, "rb") as handle:
            layout = self.editor.read(handle)
            if layout is not None:
                items = self.editor.items(handle, layout)
                record[RAW_GENRES] = encoded_places(items, self.editor.genre_indices(layout))
                record[RAW_SIZE] = self.editor.size(layout)
            elif (span := self.editor.whole(handle)) is not None and span[1] - span[0] <= MAX_WHOLE:
                handle.seek(span[0])
                record[WHOLE] = base64.b64encode(handle.read(span[1] - span[0])).decode("ascii")
        return record

    def write(self, path: Path, genres: list[str]) -> None:
        with open(path, "r+b") as handle:
            layout = self.editor.read(handle)
            if layout is not None:
                indices = self.editor.genre_indices(layout)
                first = indices[0] if indices else len(self.editor.items(handle, layout))
                new = [(first + offset, item) for offset, item in enumerate(self.editor.genre_items(layout, genres))]
                if self.editor.edit(handle, layout, new, self.editor.size(layout)):
                    return
        self._refuse_unsaveable(path)
        super().write(path, genres)

    def restore(self, path: Path, snapshot: dict[str, Any]) -> None:
        if WHOLE in snapshot:  # mutagen saved: what it rewrote goes back as it was
            with open(path, "r+b") as handle:
                span = self.editor.whole(handle)
                if span is not None:
                    replace_range(handle, span[0], span[1], base64.b64decode(snapshot[WHOLE]))
                    return
        if RAW_GENRES in snapshot:
            with open(path, "r+b") as handle:
                layout = self.editor.read(handle)
                places = decoded_places(snapshot[RAW_GENRES])
                if layout is not None and self.editor.edit(handle, layout, places, snapshot[RAW_SIZE]):
                    return
        self._refuse_unsaveable(path)
        super().restore(path, snapshot)
