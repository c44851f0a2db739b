"""M4A/MP4: genres in the iTunes ``©gen`` atom, one value per genre.

The item list is edited raw (``mp4_ilst``): every other item keeps its bytes and its place, the padding
after the list absorbs the change in size (else the chunk offsets follow the audio), and undo puts the
genre atoms back where they were. Only where the file has no item list yet, mutagen saves the tag
instead; it may re-order the items, and its undo restores the values and the size. A fragmented file is
never saved by mutagen, and every write is checked against every byte of media the sample tables point at.
"""

from __future__ import annotations

from typing import BinaryIO

from mutagen.mp4 import MP4

from tagger.tags import mp4_ilst
from tagger.tags.listfield import RawItemList, RawListGenres


class Mp4ItemList(RawItemList):
    """The iTunes item list (``moov/udta/meta/ilst``), its ``©gen`` atoms the genre."""

    def read(self, handle: BinaryIO) -> mp4_ilst.ItemList | None:
        return mp4_ilst.read(handle)

    def items(self, handle: BinaryIO, layout: mp4_ilst.ItemList) -> list[bytes]:
        return [mp4_ilst.item_bytes(handle, item) for item in layout.items]

    def genre_indices(self, layout: mp4_ilst.ItemList) -> list[int]:
        return [index for index, item in enumerate(layout.items) if item.chunk_id in mp4_ilst.GENRE_ITEMS]

    def size(self, layout: mp4_ilst.ItemList) -> int:
        return layout.moov_size

    def name(self, item: bytes) -> str:
        return item[4:8].decode("latin-1")

    def genre_items(self, layout: mp4_ilst.ItemList, genres: list[str]) -> list[bytes]:
        return [mp4_ilst.genre_atom(genres)]

    def edit(self, handle: BinaryIO, layout: mp4_ilst.ItemList, genre_items: list[tuple[int, bytes]],
             size: int) -> bool:
        return mp4_ilst.edit(handle, layout, genre_items, size)

    def whole(self, handle: BinaryIO) -> tuple[int, int] | None:
        return mp4_ilst.moov_span(handle)

    def unsaveable(self, handle: BinaryIO) -> str | None:
        return mp4_ilst.unsaveable(handle)

    def media(self, handle: BinaryIO) -> str | None:
        return mp4_ilst.media_digest(handle)


MP4_TAGS = RawListGenres("mp4", "\xa9gen", MP4, Mp4ItemList())
