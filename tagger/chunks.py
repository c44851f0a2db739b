"""The chunk layout of IFF-style files (AIFF big-endian, WAV little-endian), of DSF, of MP4 boxes and of
FLAC metadata blocks.

Each keeps its audio in one chunk and its tag in another: ``sniff`` asks here where the audio lies (so a
tag edit never changes a file's audio fingerprint), the ID3 tag holders (``tagger.tags.id3_holder``) ask
where the tag is and which size fields frame it, and the MP4 handler finds its tag items.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO, Literal

ByteOrder = Literal["big", "little"]
FORM_HEADER = 12  # "FORM" or "RIFF", the size of what follows, the form type ("AIFF", "AIFC", "WAVE")
CHUNK_HEADER = 8  # id, size
FORM_SIZE_AT = 4
IFF_AUDIO_CHUNKS = (b"SSND", b"data")  # AIFF's sound data, WAV's
IFF_ID3_CHUNKS = (b"ID3 ", b"id3 ")  # both spellings are in use; mutagen and most taggers write "ID3 "

# DSF (Sony's DSD stream file): a 28-byte "DSD " chunk (id, its size, the file's size, where the metadata
# starts: an ID3v2 tag, or 0 for none), a "fmt " chunk, a "data" chunk, then the tag.
DSF_MAGIC = b"DSD "
DSF_HEADER = 28
DSF_CHUNK_HEADER = 12  # id, a 64-bit size that counts the header too
DSF_FILE_SIZE_AT, DSF_METADATA_AT = 12, 20
DSF_AUDIO_CHUNK = b"data"


@dataclass(frozen=True)
class Chunk:
    """One chunk: its id, where its header starts and how many bytes of data its header declares."""

    chunk_id: bytes
    header: int
    data: int  # where its data starts
    size: int  # of its data
    padded: bool  # IFF pads an odd-sized chunk to an even length with one byte its size does not count

    @property
    def end(self) -> int:
        """The first byte after the chunk and its pad byte."""
        return self.data + self.size + (self.size & 1 if self.padded else 0)


def file_size(handle: BinaryIO) -> int:
    return handle.seek(0, os.SEEK_END)


def read_int(handle: BinaryIO, offset: int, length: int, byteorder: ByteOrder) -> int:
    handle.seek(offset)
    return int.from_bytes(handle.read(length), byteorder)


def write_int(handle: BinaryIO, offset: int, value: int, length: int, byteorder: ByteOrder) -> None:
    handle.seek(offset)
    handle.write(value.to_bytes(length, byteorder))


def form_end(handle: BinaryIO, byteorder: ByteOrder) -> int:
    """Where the form ends by its own header, or the end of the file when it claims more."""
    return min(file_size(handle), CHUNK_HEADER + read_int(handle, FORM_SIZE_AT, 4, byteorder))


def iff_chunks(handle: BinaryIO, byteorder: ByteOrder) -> list[Chunk]:
    """The chunks of an IFF-style file, up to the end of the file (a tag chunk is sometimes appended after
    the form's declared end by writers that forget to update its size)."""
    size, chunks, position = file_size(handle), [], FORM_HEADER
    while position + CHUNK_HEADER <= size:
        handle.seek(position)
        header = handle.read(CHUNK_HEADER)
        chunk = Chunk(header[:4], position, position + CHUNK_HEADER, int.from_bytes(header[4:], byteorder), True)
        chunks.append(chunk)
        position = chunk.end
    return chunks


def dsf_chunks(handle: BinaryIO) -> list[Chunk]:
    """The chunks of a DSF file after its "DSD " chunk, up to where its metadata starts (64-bit sizes that
    count the 12-byte header, no padding)."""
    limit = dsf_metadata_offset(handle) or file_size(handle)
    chunks, position = [], DSF_HEADER
    while position + DSF_CHUNK_HEADER <= limit:
        handle.seek(position)
        header = handle.read(DSF_CHUNK_HEADER)
        size = int.from_bytes(header[4:], "little")
        if size < DSF_CHUNK_HEADER:
            break
        chunks.append(Chunk(header[:4], position, position + DSF_CHUNK_HEADER, size - DSF_CHUNK_HEADER, False))
        position += size
    return chunks


def dsf_metadata_offset(handle: BinaryIO) -> int:
    """Where a DSF file's ID3v2 tag starts, or 0 when it has none."""
    return read_int(handle, DSF_METADATA_AT, 8, "little")


def iff_audio_span(handle: BinaryIO, byteorder: ByteOrder) -> tuple[int, int] | None:
    """The span of an IFF-style file's sound data chunk, or None without one."""
    return _data_span(handle, iff_chunks(handle, byteorder), IFF_AUDIO_CHUNKS)


def dsf_audio_span(handle: BinaryIO) -> tuple[int, int] | None:
    """The span of a DSF file's data chunk, or None without one."""
    return _data_span(handle, dsf_chunks(handle), (DSF_AUDIO_CHUNK,))


def _data_span(handle: BinaryIO, chunks: list[Chunk], wanted: tuple[bytes, ...]) -> tuple[int, int] | None:
    chunk = next((chunk for chunk in chunks if chunk.chunk_id in wanted), None)
    return None if chunk is None else (chunk.data, min(file_size(handle), chunk.data + chunk.size))


def mp4_boxes(handle: BinaryIO, start: int, end: int) -> list[Chunk]:
    """The MP4 boxes from ``start`` to ``end`` (the top level, or one box's children): 32-bit sizes, a
    64-bit size where the 32-bit one is 1, to the end where it is 0."""
    boxes, position = [], start
    while position + CHUNK_HEADER <= end:
        handle.seek(position)
        header = handle.read(16)
        length, header_size = int.from_bytes(header[:4], "big"), CHUNK_HEADER
        if length == 1:
            length, header_size = int.from_bytes(header[8:16], "big"), 16
        elif length == 0:
            length = end - position
        if length < header_size:
            break
        boxes.append(Chunk(header[4:8], position, position + header_size, min(length, end - position) - header_size,
                           False))
        position += length
    return boxes


def mp4_box(handle: BinaryIO, start: int, end: int, name: bytes) -> Chunk | None:
    return next((box for box in mp4_boxes(handle, start, end) if box.chunk_id == name), None)


FLAC_MARKER = b"fLaC"
FLAC_LAST_BLOCK = 0x80


def flac_blocks(handle: BinaryIO, start: int) -> tuple[list[Chunk], bool]:
    """The metadata blocks of the FLAC stream whose ``fLaC`` marker is at ``start`` (each block's type as
    its one-byte id), and whether they end with the block marked last (False: the file is cut short)."""
    blocks, position, size = [], start + len(FLAC_MARKER), file_size(handle)
    while position + 4 <= size:
        handle.seek(position)
        header = handle.read(4)
        block = Chunk(bytes([header[0] & ~FLAC_LAST_BLOCK]), position, position + 4,
                      int.from_bytes(header[1:], "big"), False)
        blocks.append(block)
        position = block.end
        if header[0] & FLAC_LAST_BLOCK:
            return blocks, position <= size
    return blocks, False
