"""WMA (ASF): genres in the ``WM/Genre`` attribute, one value per genre.

The extended content description is edited raw (``asf_raw``): every other descriptor and object keeps its
bytes and its place, a padding object absorbs the change in size, and undo puts the genre descriptors back
where they were. Where the file has no extended description yet, or keeps the genre in the Metadata
objects, mutagen saves the tag instead.
"""

from __future__ import annotations

from typing import BinaryIO

from mutagen.asf import ASF

from tagger.tags import asf_raw
from tagger.tags.listfield import RawItemList, RawListGenres


class AsfDescriptors(RawItemList):
    """The descriptors of the Extended Content Description object, ``WM/Genre`` the genre."""

    def read(self, handle: BinaryIO) -> asf_raw.Description | None:
        return asf_raw.read(handle)

    def items(self, handle: BinaryIO, layout: asf_raw.Description) -> list[bytes]:
        return list(layout.descriptors)

    def genre_indices(self, layout: asf_raw.Description) -> list[int]:
        return layout.genre_indices()

    def size(self, layout: asf_raw.Description) -> int:
        return layout.header_size

    def name(self, item: bytes) -> str:
        return asf_raw.name_of(item)

    def genre_items(self, layout: asf_raw.Description, genres: list[str]) -> list[bytes]:
        return asf_raw.genre_descriptors(genres)

    def edit(self, handle: BinaryIO, layout: asf_raw.Description, genre_items: list[tuple[int, bytes]],
             size: int) -> bool:
        return asf_raw.edit(handle, layout, genre_items, size)

    def whole(self, handle: BinaryIO) -> tuple[int, int] | None:
        return asf_raw.header_span(handle)


ASF_TAGS = RawListGenres("asf", asf_raw.GENRE_NAME, ASF, AsfDescriptors())
