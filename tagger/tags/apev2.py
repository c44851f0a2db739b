"""WavPack, Monkey's Audio and Musepack: genres in the APEv2 ``Genre`` item, one value per genre.

mutagen reads the values and checks them; the item list is edited raw (``apev2_raw``), so every other item
keeps its bytes and its place, and undo puts the genre item back where it was (or takes out a tag that was
made for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import mutagen
from mutagen.monkeysaudio import MonkeysAudio
from mutagen.musepack import Musepack
from mutagen.wavpack import WavPack

from tagger.tags import apev2_raw
from tagger.tags.listfield import RawItemList, RawListGenres, placed

GENRE = "Genre"


def _open(path: str) -> mutagen.FileType | None:
    return mutagen.File(path, options=[WavPack, MonkeysAudio, Musepack])


@dataclass(frozen=True)
class ApeList:
    """The APEv2 tag's item list, or the empty list of a file without a tag (to which a write adds one)."""

    tag: apev2_raw.ApeTag | None


class ApeItems(RawItemList):
    """The items of the APEv2 tag at the end of the file. A file without one has an empty list of size 0;
    a write adds a tag, and its undo takes that tag out again once it holds nothing else. Never saved by
    mutagen, which would re-render the whole tag."""

    def read(self, handle: BinaryIO) -> ApeList:
        return ApeList(apev2_raw.read(handle))

    def items(self, handle: BinaryIO, layout: ApeList) -> list[bytes]:
        return list(layout.tag.items) if layout.tag else []

    def genre_indices(self, layout: ApeList) -> list[int]:
        return layout.tag.genre_indices() if layout.tag else []

    def size(self, layout: ApeList) -> int:
        return layout.tag.end - layout.tag.start if layout.tag else 0

    def name(self, item: bytes) -> str:
        return apev2_raw.key_of(item).lower()  # APEv2 keys have no case

    def genre_items(self, layout: ApeList, genres: list[str]) -> list[bytes]:
        indices = self.genre_indices(layout)
        key = apev2_raw.key_of(layout.tag.items[indices[0]]) if layout.tag and indices else GENRE  # its spelling
        return [apev2_raw.genre_item(genres, key)]

    def edit(self, handle: BinaryIO, layout: ApeList, genre_items: list[tuple[int, bytes]], size: int) -> bool:
        genre = self.genre_indices(layout)
        others = [item for index, item in enumerate(self.items(handle, layout)) if index not in genre]
        if size == 0 and not others and not genre_items:  # the undo of a tag we made
            if layout.tag is not None:
                apev2_raw.remove(handle, layout.tag)
        else:
            apev2_raw.write(handle, layout.tag, placed(others, genre_items))
        return True


APEV2 = RawListGenres("apev2", GENRE, _open, ApeItems(), has_padding=False)
