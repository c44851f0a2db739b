"""The iTunes item list (``moov/udta/meta/ilst``) of an MP4 file, edited raw: the genre atoms are replaced
where they sit, every other item keeps its bytes and its place, and a ``free`` atom right after the list
(the padding iTunes and mutagen leave) absorbs the change in size.

mutagen re-renders the whole list in its own order, so a file another program tagged (FFmpeg, most
taggers) came back from an undo with its items re-ordered. Where ``moov`` must change size and lies before
the audio, every chunk offset in its ``stco`` and ``co64`` tables moves by the change, and moves back on
undo. A fragmented file (``moof``) is not edited raw: ``edit`` returns False and the caller falls back to
mutagen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from tagger import chunks
from tagger.chunks import Chunk
from tagger.tags.listfield import placed
from tagger.tags.splice import replace_range

ILST_PATH = (b"moov", b"udta", b"meta", b"ilst")
GENRE_ITEMS = (b"\xa9gen", b"gnre")  # text genres, and the old ID3v1 genre number that players read as text
FREE = b"free"
AUDIO_BOXES = (b"mdat", b"moof")
UTF8_DATA = (1).to_bytes(4, "big")  # a data atom's type: UTF-8 text
FULL_BOX_HEADER = 4  # meta is a full box: version and flags before its children


@dataclass(frozen=True)
class ItemList:
    """Where the item list is: the boxes from ``moov`` down to ``ilst``, the list's items, the ``free``
    atom after it inside ``meta`` (None where there is none, or it holds anything but zeros), and whether
    ``moov`` comes before the audio."""

    parents: tuple[Chunk, ...]  # moov, udta, meta, ilst
    items: tuple[Chunk, ...]
    free: Chunk | None
    moov_before_audio: bool
    fragmented: bool  # movie fragments (moof) carry offsets of their own

    @property
    def moov_size(self) -> int:
        moov = self.parents[0]
        return moov.data + moov.size - moov.header

    def genre_index(self) -> int | None:
        return next((index for index, item in enumerate(self.items) if item.chunk_id in GENRE_ITEMS), None)


def read(handle: BinaryIO) -> ItemList | None:
    """The item list of the open file, or None where the file has none (or the boxes around it are not
    where iTunes puts them)."""
    size = chunks.file_size(handle)
    top = chunks.mp4_boxes(handle, 0, size)
    start, end, parents = 0, size, []
    for name in ILST_PATH:
        box = chunks.mp4_box(handle, start, end, name)
        if box is None:
            return None
        parents.append(box)
        start, end = box.data, box.data + box.size
        handle.seek(start)
        if name == b"meta" and handle.read(FULL_BOX_HEADER) == bytes(FULL_BOX_HEADER):
            start += FULL_BOX_HEADER
    ilst, meta = parents[3], parents[2]
    siblings = chunks.mp4_boxes(handle, meta.data, meta.data + meta.size)
    following = next((box for box in siblings if box.header == ilst.data + ilst.size), None)
    free = following if following is not None and following.chunk_id == FREE and _zeros(handle, following) else None
    order = [box.chunk_id for box in top]
    audio = next((index for index, name in enumerate(order) if name in AUDIO_BOXES), len(order))
    return ItemList(tuple(parents), tuple(chunks.mp4_boxes(handle, start, end)), free,
                    order.index(b"moov") < audio, b"moof" in order)


def moov_span(handle: BinaryIO) -> tuple[int, int] | None:
    """Where the ``moov`` box lies, header included."""
    moov = chunks.mp4_box(handle, 0, chunks.file_size(handle), b"moov")
    return None if moov is None else (moov.header, moov.data + moov.size)


def _zeros(handle: BinaryIO, box: Chunk) -> bool:
    handle.seek(box.data)
    return handle.read(box.size).count(0) == box.size


def item_bytes(handle: BinaryIO, item: Chunk) -> bytes:
    handle.seek(item.header)
    return handle.read(item.data + item.size - item.header)


def genre_atom(genres: list[str]) -> bytes:
    """A ``©gen`` atom with one UTF-8 data atom per genre, as iTunes and mutagen write it."""
    data = b"".join(_box(b"data", UTF8_DATA + bytes(4) + genre.encode("utf-8")) for genre in genres)
    return _box(b"\xa9gen", data)


def _box(name: bytes, content: bytes) -> bytes:
    return (8 + len(content)).to_bytes(4, "big") + name + content


def edit(handle: BinaryIO, items: ItemList, genre_atoms: list[tuple[int, bytes]], moov_size: int) -> bool:
    """Replace the list's genre atoms by ``genre_atoms`` (each with its index in the new list) and bring
    ``moov`` to ``moov_size`` bytes by resizing the free atom where it can; else ``moov`` changes size by
    what the list did, and where it lies before the audio the chunk offsets follow. Returns False, the file
    untouched, where the offsets cannot follow (a fragmented file, or a 32-bit offset that would overflow)."""
    others = [item_bytes(handle, item) for item in items.items if item.chunk_id not in GENRE_ITEMS]
    content = b"".join(placed(others, genre_atoms))
    ilst = items.parents[-1]
    grown = len(content) - ilst.size
    free_size = items.free.end - items.free.header if items.free else 0
    new_free = free_size + (moov_size - items.moov_size) - grown
    if items.free is None or new_free < 8:
        new_free = free_size
    change = grown + new_free - free_size
    tables = _offset_tables(handle, items.parents[0]) if change and items.moov_before_audio else []
    if tables and (items.fragmented or not all(_shiftable(handle, table, change) for table in tables)):
        return False
    free = new_free.to_bytes(4, "big") + FREE + bytes(new_free - 8) if items.free else b""
    replace_range(handle, ilst.data, items.free.end if items.free else ilst.data + ilst.size, content + free)
    for parent in items.parents:  # moov, udta and meta change with the list and its padding; ilst with the list
        wide = parent.data - parent.header == 16  # a 64-bit size after the name
        size = parent.data + parent.size - parent.header + (grown if parent is ilst else change)
        chunks.write_int(handle, parent.header + (8 if wide else 0), size, 8 if wide else 4, "big")
    for position, count, width in tables:  # the audio after moov moved by the change
        _shift(handle, position + (change if position > ilst.data else 0), count, width, change)
    return True


OffsetTable = tuple[int, int, int]  # where its entries start, how many, 4 (stco) or 8 (co64) bytes each
TABLE_PATH = (b"mdia", b"minf", b"stbl")


def _offset_tables(handle: BinaryIO, moov: Chunk) -> list[OffsetTable]:
    """The chunk offset tables of every track in ``moov``."""
    tables = []
    for trak in chunks.mp4_boxes(handle, moov.data, moov.data + moov.size):
        if trak.chunk_id != b"trak":
            continue
        box: Chunk | None = trak
        for name in TABLE_PATH:
            box = chunks.mp4_box(handle, box.data, box.data + box.size, name) if box else None
        for table in chunks.mp4_boxes(handle, box.data, box.data + box.size) if box else ():
            if table.chunk_id in (b"stco", b"co64"):
                count = chunks.read_int(handle, table.data + 4, 4, "big")  # after version and flags
                tables.append((table.data + 8, count, 4 if table.chunk_id == b"stco" else 8))
    return tables


def _entries(handle: BinaryIO, table: OffsetTable) -> list[int]:
    position, count, width = table
    handle.seek(position)
    data = handle.read(count * width)
    return [int.from_bytes(data[index : index + width], "big") for index in range(0, len(data), width)]


def _shiftable(handle: BinaryIO, table: OffsetTable, change: int) -> bool:
    entries = _entries(handle, table)
    return all(0 <= entry + change < 1 << (8 * table[2]) for entry in entries)


def _shift(handle: BinaryIO, position: int, count: int, width: int, change: int) -> None:
    entries = _entries(handle, (position, count, width))
    handle.seek(position)
    handle.write(b"".join((entry + change).to_bytes(width, "big") for entry in entries))
