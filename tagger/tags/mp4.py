"""M4A/MP4: genres in the iTunes ``©gen`` atom, one value per genre.

The item list is edited raw (``mp4_ilst``): every other item keeps its bytes and its place, the padding
after the list absorbs the change in size (else the chunk offsets follow the audio), and undo puts the
genre atoms back where they were. Only where the file has no item list yet, or is fragmented, mutagen
saves the tag instead; it may re-order the items, and its undo restores the values and the size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mutagen.mp4 import MP4

from tagger.tags import mp4_ilst
from tagger.tags.base import digest
from tagger.tags.listfield import ListFieldGenres, decoded_places, encoded_places

GENRE_FIELD = "\xa9gen"
RAW = "genre_atoms"  # a snapshot's raw genre atoms: [index in the list, base64 bytes]
MOOV_SIZE = "moov_size"


def other_items(path: Path) -> dict[str, str]:
    """Digests of the raw items other than the genre, by item name (items of one name, such as freeform
    ``----`` atoms, together and in any order: mutagen's fallback save re-orders them)."""
    found: dict[bytes, list[bytes]] = {}
    with open(path, "rb") as handle:
        items = mp4_ilst.read(handle)
        for item in items.items if items else ():
            if item.chunk_id not in mp4_ilst.GENRE_ITEMS:
                found.setdefault(item.chunk_id, []).append(mp4_ilst.item_bytes(handle, item))
    return {f"item {name.decode('latin-1')}": digest(b"".join(sorted(raw))) for name, raw in found.items()}


class MP4Genres(ListFieldGenres):
    """Genre handler for MP4/M4A files: mutagen reads and checks the values; the writes are raw."""

    def __init__(self) -> None:
        super().__init__("mp4", GENRE_FIELD, MP4, has_padding=True, raw_items=other_items)

    def snapshot(self, path: Path, *, id3v23: bool = False) -> dict[str, Any]:
        """The values and file size (for mutagen's fallback), and the raw genre atoms with their places in
        the list and the size of ``moov``, which let undo put the list back byte for byte."""
        record = super().snapshot(path)
        with open(path, "rb") as handle:
            items = mp4_ilst.read(handle)
            if items is not None:
                raw = [mp4_ilst.item_bytes(handle, item) for item in items.items]
                genre = [index for index, item in enumerate(items.items) if item.chunk_id in mp4_ilst.GENRE_ITEMS]
                record[RAW], record[MOOV_SIZE] = encoded_places(raw, genre), items.moov_size
        return record

    def write(self, path: Path, genres: list[str], *, id3v23: bool = False) -> None:
        with open(path, "r+b") as handle:
            items = mp4_ilst.read(handle)
            if items is not None:
                index = items.genre_index()
                atom = [(len(items.items) if index is None else index, mp4_ilst.genre_atom(genres))]
                if mp4_ilst.edit(handle, items, atom, items.moov_size):
                    return
        super().write(path, genres)

    def restore(self, path: Path, snapshot: dict[str, Any]) -> None:
        if RAW in snapshot:
            with open(path, "r+b") as handle:
                items = mp4_ilst.read(handle)
                atoms = decoded_places(snapshot[RAW])
                if items is not None and mp4_ilst.edit(handle, items, atoms, snapshot[MOOV_SIZE]):
                    return
        super().restore(path, snapshot)


MP4_TAGS = MP4Genres()
