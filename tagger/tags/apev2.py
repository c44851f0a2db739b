"""WavPack, Monkey's Audio and Musepack: genres in the APEv2 ``Genre`` item, one value per genre.

mutagen reads the values and checks them; the item list is edited raw (``apev2_raw``), so every other item
keeps its bytes and its place, and undo puts the genre item back where it was (or takes out a tag that was
made for it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mutagen
from mutagen.monkeysaudio import MonkeysAudio
from mutagen.musepack import Musepack
from mutagen.wavpack import WavPack

from tagger.tags import apev2_raw
from tagger.tags.base import digest
from tagger.tags.listfield import ListFieldGenres, decoded_places, encoded_places, placed

RAW = "genre_items"  # a snapshot's raw genre items: [index in the tag, base64 bytes]
NO_TAG = "no_tag"  # a snapshot's mark: the file had no APEv2 tag (undo removes the one made)


def _open(path: str) -> mutagen.FileType | None:
    return mutagen.File(path, options=[WavPack, MonkeysAudio, Musepack])


def other_items(path: Path) -> dict[str, str]:
    """Digests of the raw items other than the genre (size, flags, key and value), by key."""
    with open(path, "rb") as handle:
        tag = apev2_raw.read(handle)
    if tag is None:
        return {}
    genre = tag.genre_indices()
    return {f"item {apev2_raw.key_of(item).lower()}": digest(item) for index, item in enumerate(tag.items)
            if index not in genre}


class APEv2Genres(ListFieldGenres):
    """Genre handler for APEv2 tags: mutagen reads and checks the values; the writes are raw."""

    def __init__(self) -> None:
        super().__init__("apev2", "Genre", _open, has_padding=False, raw_items=other_items)

    def snapshot(self, path: Path) -> dict[str, Any]:
        record = super().snapshot(path)
        with open(path, "rb") as handle:
            tag = apev2_raw.read(handle)
        if tag is None:
            return {**record, RAW: [], NO_TAG: True}
        return {**record, RAW: encoded_places(list(tag.items), tag.genre_indices())}

    def write(self, path: Path, genres: list[str]) -> None:
        with open(path, "r+b") as handle:
            tag = apev2_raw.read(handle)
            items, indices = list(tag.items if tag else ()), tag.genre_indices() if tag else []
            key = apev2_raw.key_of(items[indices[0]]) if indices else self.field  # as the tag spells it
            others = [item for index, item in enumerate(items) if index not in indices]
            item = apev2_raw.genre_item(genres, key)
            apev2_raw.write(handle, tag, placed(others, [(indices[0] if indices else len(others), item)]))

    def restore(self, path: Path, snapshot: dict[str, Any]) -> None:
        with open(path, "r+b") as handle:
            tag = apev2_raw.read(handle)
            indices = tag.genre_indices() if tag else []
            others = [item for index, item in enumerate(tag.items if tag else ()) if index not in indices]
            if snapshot.get(NO_TAG) and not others:
                if tag is not None:
                    apev2_raw.remove(handle, tag)
                return
            apev2_raw.write(handle, tag, placed(others, decoded_places(snapshot[RAW])))


APEV2 = APEv2Genres()
