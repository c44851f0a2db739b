"""M4A/MP4: genres in the iTunes ``©gen`` atom, one value per genre.

mutagen saves the whole ``ilst`` atom anew; every other item in it must come out byte for byte, which
``other_items`` lets the post-write check verify on the raw atoms.
"""

from __future__ import annotations

from pathlib import Path

from mutagen.mp4 import MP4

from tagger import chunks
from tagger.tags.base import digest
from tagger.tags.listfield import ListFieldGenres

ILST_PATH = (b"moov", b"udta", b"meta", b"ilst")
GENRE_ITEMS = {b"\xa9gen", b"gnre"}  # text genres, and the old ID3v1 genre number that mutagen reads as text


def other_items(path: Path) -> dict[str, str]:
    """Digests of the raw ``ilst`` items other than the genre, by item name (items of one name, such as
    freeform ``----`` atoms, together and in any order: the order of items means nothing)."""
    items: dict[bytes, list[bytes]] = {}
    with open(path, "rb") as handle:
        start, end = 0, chunks.file_size(handle)
        for name in ILST_PATH:
            box = chunks.mp4_box(handle, start, end, name)
            if box is None:
                return {}
            start, end = box.data, box.data + box.size
            handle.seek(start)
            if name == b"meta" and handle.read(4) == bytes(4):  # a full box: version and flags come first
                start += 4
        for box in chunks.mp4_boxes(handle, start, end):
            if box.chunk_id not in GENRE_ITEMS:
                handle.seek(box.header)
                items.setdefault(box.chunk_id, []).append(handle.read(box.data + box.size - box.header))
    return {f"item {name.decode('latin-1')}": digest(b"".join(sorted(raw))) for name, raw in items.items()}


MP4_TAGS = ListFieldGenres("mp4", "\xa9gen", MP4, has_padding=True, raw_items=other_items)
