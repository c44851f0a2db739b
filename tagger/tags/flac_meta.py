"""FLAC metadata blocks, raw: the Vorbis comment block is replaced, a padding block absorbs the change in
size, and every other block (stream info, seek table, pictures, cue sheet, application data) is written
back byte for byte."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from tagger import chunks
from tagger.sniff import ID3V2_HEADER, id3v2_end
from tagger.tags.base import TagError
from tagger.tags.splice import replace_range

STREAMINFO, PADDING, VORBIS_COMMENT = 0, 1, 4
MAX_BLOCK = (1 << 24) - 1


@dataclass(frozen=True)
class Metadata:
    """The metadata blocks of a FLAC file, from ``start`` (the ``fLaC`` marker, after any ID3v2 tag a
    tagger put in front) to ``end`` (the first audio frame)."""

    start: int
    end: int
    blocks: tuple[tuple[int, bytes], ...]  # (block type, data)

    def index(self, kind: int) -> int | None:
        return next((index for index, (block_kind, _) in enumerate(self.blocks) if block_kind == kind), None)


def read_metadata(handle: BinaryIO) -> Metadata:
    handle.seek(0)
    start = id3v2_end(handle.read(ID3V2_HEADER))
    handle.seek(start)
    if handle.read(4) != chunks.FLAC_MARKER:
        raise TagError("not a FLAC stream")
    found, complete = chunks.flac_blocks(handle, start)
    if not complete:
        raise TagError("the FLAC metadata is cut short")
    blocks = []
    for block in found:
        handle.seek(block.data)
        blocks.append((block.chunk_id[0], handle.read(block.size)))
    return Metadata(start, found[-1].end, tuple(blocks))


def render(blocks: tuple[tuple[int, bytes], ...]) -> bytes:
    out = [chunks.FLAC_MARKER]
    for position, (kind, data) in enumerate(blocks):
        if len(data) > MAX_BLOCK:
            raise TagError("a FLAC metadata block would be larger than 16 MB")
        last = chunks.FLAC_LAST_BLOCK if position == len(blocks) - 1 else 0
        out.append(bytes([kind | last]) + len(data).to_bytes(3, "big") + data)
    return b"".join(out)


def with_block(metadata: Metadata, kind: int, data: bytes | None, padding: int | None) -> tuple[tuple[int, bytes], ...]:
    """The blocks with the first block of ``kind`` replaced by ``data`` (added after the stream info where
    there is none; removed where ``data`` is None), and the padding block resized: to ``padding`` bytes where
    given, else by the change in size, so the audio stays where it is whenever the padding has room."""
    blocks = list(metadata.blocks)
    index = metadata.index(kind)
    old_size = len(blocks[index][1]) if index is not None else 0
    if index is None and data is not None:
        blocks.insert(1, (kind, data))
    elif index is not None and data is None:
        del blocks[index]
    elif index is not None and data is not None:
        blocks[index] = (kind, data)
    padding_index = next((i for i, (block_kind, block) in enumerate(blocks)
                          if block_kind == PADDING and not block.strip(b"\x00")), None)  # else it holds something
    if padding_index is not None:
        now = len(blocks[padding_index][1])
        wanted = padding if padding is not None else now - (len(data or b"") - old_size)
        if wanted >= 0:
            blocks[padding_index] = (PADDING, b"\x00" * wanted)
    return tuple(blocks)


def write_blocks(handle: BinaryIO, metadata: Metadata, blocks: tuple[tuple[int, bytes], ...]) -> None:
    replace_range(handle, metadata.start, metadata.end, render(blocks))
