"""The iTunes item list (``moov/udta/meta/ilst``) of an MP4 file, edited raw: the genre atoms are replaced
where they sit, every other item keeps its bytes and its place, and a ``free`` atom right after the list
(the padding iTunes and mutagen leave) absorbs the change in size.

mutagen re-renders the whole list in its own order, so a file another program tagged (FFmpeg, most
taggers) came back from an undo with its items re-ordered. Where ``moov`` must change size, every chunk
offset in its ``stco`` and ``co64`` tables that points past the edit moves by the change (whatever the order
of the boxes: an empty ``mdat`` may stand before ``moov`` and the audio after it), and moves back on undo.
A fragmented file (``moof``: DASH downloads, live recordings) carries offsets of its own in every fragment:
it is edited only where the padding absorbs the change, and never saved by mutagen (``unsaveable``).

``media_digest`` digests every byte of media the sample tables point at, track by track, so the write
check sees audio that moved without its offsets, not only the first ``mdat``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import BinaryIO

from tagger import chunks
from tagger.chunks import Chunk
from tagger.tags.base import TagError
from tagger.tags.listfield import placed
from tagger.tags.splice import replace_range

ILST_PATH = (b"moov", b"udta", b"meta", b"ilst")
GENRE_ITEMS = (b"\xa9gen", b"gnre")  # text genres, and the old ID3v1 genre number that players read as text
FREE = b"free"
UTF8_DATA = (1).to_bytes(4, "big")  # a data atom's type: UTF-8 text
FULL_BOX_HEADER = 4  # meta is a full box: version and flags before its children


@dataclass(frozen=True)
class ItemList:
    """Where the item list is: the boxes from ``moov`` down to ``ilst``, the list's items, the ``free``
    atom after it inside ``meta`` (None where there is none, or it holds anything but zeros), and whether
    the file is fragmented."""

    parents: tuple[Chunk, ...]  # moov, udta, meta, ilst
    items: tuple[Chunk, ...]
    free: Chunk | None
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
    return ItemList(tuple(parents), tuple(chunks.mp4_boxes(handle, start, end)), free,
                    any(box.chunk_id == b"moof" for box in top))


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
    if change and items.fragmented:
        return False
    edit_end = items.free.end if items.free else ilst.data + ilst.size  # every byte from here on moves
    tables = _offset_tables(handle, items.parents[0]) if change else []
    if not all(_shiftable(handle, table, change, edit_end) for table in tables):
        return False
    free = new_free.to_bytes(4, "big") + FREE + bytes(new_free - 8) if items.free else b""
    replace_range(handle, ilst.data, edit_end, content + free)
    for parent in items.parents:  # moov, udta and meta change with the list and its padding; ilst with the list
        wide = parent.data - parent.header == 16  # a 64-bit size after the name
        size = parent.data + parent.size - parent.header + (grown if parent is ilst else change)
        chunks.write_int(handle, parent.header + (8 if wide else 0), size, 8 if wide else 4, "big")
    for position, count, width in tables:  # the media past the edit moved by the change
        _shift(handle, position + (change if position > ilst.data else 0), count, width, change, edit_end)
    return True


OffsetTable = tuple[int, int, int]  # where its entries start, how many, 4 (stco) or 8 (co64) bytes each
TABLE_PATH = (b"mdia", b"minf", b"stbl")


def _sample_tables(handle: BinaryIO, moov: Chunk) -> list[Chunk]:
    """The ``stbl`` box of every track in ``moov`` (a track without one has no media to point at)."""
    found = []
    for trak in chunks.mp4_boxes(handle, moov.data, moov.data + moov.size):
        if trak.chunk_id != b"trak":
            continue
        box: Chunk | None = trak
        for name in TABLE_PATH:
            box = chunks.mp4_box(handle, box.data, box.data + box.size, name) if box else None
        if box is not None:
            found.append(box)
    return found


def _offset_tables(handle: BinaryIO, moov: Chunk) -> list[OffsetTable]:
    """The chunk offset tables of every track in ``moov``."""
    tables = []
    for stbl in _sample_tables(handle, moov):
        for table in chunks.mp4_boxes(handle, stbl.data, stbl.data + stbl.size):
            if table.chunk_id in (b"stco", b"co64"):
                count = chunks.read_int(handle, table.data + 4, 4, "big")  # after version and flags
                tables.append((table.data + 8, count, 4 if table.chunk_id == b"stco" else 8))
    return tables


def _entries(handle: BinaryIO, table: OffsetTable) -> list[int]:
    position, count, width = table
    handle.seek(position)
    data = handle.read(count * width)
    return [int.from_bytes(data[index : index + width], "big") for index in range(0, len(data), width)]


def _shiftable(handle: BinaryIO, table: OffsetTable, change: int, edit_end: int) -> bool:
    return all(0 <= entry + change < 1 << (8 * table[2]) for entry in _entries(handle, table) if entry >= edit_end)


def _shift(handle: BinaryIO, position: int, count: int, width: int, change: int, edit_end: int) -> None:
    """Move the offsets that point past the edit by ``change``; those before it point at bytes that stay."""
    entries = _entries(handle, (position, count, width))
    handle.seek(position)
    handle.write(b"".join((entry + change if entry >= edit_end else entry).to_bytes(width, "big")
                          for entry in entries))


def unsaveable(handle: BinaryIO) -> str | None:
    """Why mutagen must not save this file, or None: a fragmented file's fragments carry offsets that its
    save does not keep (the audio decodes as noise after the first fragment)."""
    if any(box.chunk_id == b"moof" for box in chunks.mp4_boxes(handle, 0, chunks.file_size(handle))):
        return ("a fragmented MP4 (a DASH download or a live recording) whose tag cannot grow in place: moving "
                "its fragments would break the audio")
    return None


def media_digest(handle: BinaryIO) -> str:
    """A digest of every byte of media the sample tables point at (each track's chunks, in order) and of
    the fragments of a fragmented file: what any tag edit must leave exactly as it was."""
    digest = hashlib.sha256()
    size = chunks.file_size(handle)
    top = chunks.mp4_boxes(handle, 0, size)
    moov = next((box for box in top if box.chunk_id == b"moov"), None)
    for stbl in _sample_tables(handle, moov) if moov is not None else ():
        for offset, length in _chunk_spans(handle, stbl):
            if offset + length > size:
                raise TagError("the MP4 sample tables point past the end of the file")
            handle.seek(offset)
            digest.update(handle.read(length))
    for box in top:  # fragments hold their own media (and offsets relative to themselves)
        if box.chunk_id in (b"moof", b"mdat") and any(other.chunk_id == b"moof" for other in top):
            handle.seek(box.data)
            digest.update(box.chunk_id + handle.read(box.size))
    return digest.hexdigest()[:32]


def _chunk_spans(handle: BinaryIO, stbl: Chunk) -> list[tuple[int, int]]:
    """(offset, length) of each media chunk of one track, from its ``stco``/``co64``, ``stsc`` and ``stsz``."""
    boxes = {box.chunk_id: box for box in chunks.mp4_boxes(handle, stbl.data, stbl.data + stbl.size)}
    table = boxes.get(b"co64") or boxes.get(b"stco")
    if table is None or b"stsc" not in boxes or b"stsz" not in boxes:
        return []
    count = chunks.read_int(handle, table.data + 4, 4, "big")
    offsets = _entries(handle, (table.data + 8, count, 8 if table.chunk_id == b"co64" else 4))
    handle.seek(boxes[b"stsc"].data + 4)
    runs = int.from_bytes(handle.read(4), "big")
    stsc = handle.read(12 * runs)
    first_chunks = [int.from_bytes(stsc[index : index + 4], "big") for index in range(0, len(stsc), 12)]
    per_chunk = [int.from_bytes(stsc[index + 4 : index + 8], "big") for index in range(0, len(stsc), 12)]
    handle.seek(boxes[b"stsz"].data + 4)
    uniform, samples = int.from_bytes(handle.read(4), "big"), int.from_bytes(handle.read(4), "big")
    sizes = [uniform] * samples if uniform else [
        int.from_bytes(chunk, "big") for chunk in _fours(handle.read(4 * samples))]
    spans, sample, run = [], 0, 0
    for number, offset in enumerate(offsets, start=1):
        while run + 1 < len(first_chunks) and first_chunks[run + 1] <= number:
            run += 1
        taken = per_chunk[run] if per_chunk else 0
        spans.append((offset, sum(sizes[sample : sample + taken])))
        sample += taken
    return spans


def _fours(data: bytes) -> list[bytes]:
    return [data[index : index + 4] for index in range(0, len(data), 4)]
