"""Where a container keeps its ID3v2 tag, and how the container is kept whole when the tag changes size.

An MP3 carries its tag at the very start. AIFF (and WAV) keep it in an ``ID3 `` chunk whose size, and
the size of the form around it, must follow the tag. DSF keeps it at the end, where a header field points,
and its header also states the file's size. The genre handler (``tags.id3``) edits the tag's bytes the
same way in all of them and hands the result to its holder to put in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Protocol

from tagger import chunks
from tagger.chunks import ByteOrder
from tagger.sniff import ID3V2_HEADER, id3v2_end
from tagger.tags.base import TagError, digest, stream_digest
from tagger.tags.splice import replace_range


@dataclass(frozen=True)
class Region:
    """The bytes of a file that hold its ID3v2 tag: where they start and how many there are (0: no tag yet)."""

    start: int
    size: int


class TagHolder(Protocol):
    """One container's place for an ID3v2 tag."""

    # Whether an ID3v1 tag may follow the audio (only a bare MPEG stream has one; AIFF or DSF audio that
    # happens to end in "TAG" is audio).
    has_id3v1: bool

    def find(self, handle: BinaryIO) -> Region | None:
        """The tag's region, or None where the file has no place for a tag yet (no ID3 chunk, no pointer)."""

    def put(self, handle: BinaryIO, region: Region | None, data: bytes) -> None:
        """Put ``data`` where ``region``'s bytes were (making the place first where ``region`` is None) and
        bring the container's size fields up to date."""

    def remove(self, handle: BinaryIO, region: Region) -> None:
        """Take the tag's place out of the file again: the undo of a tag written where none was."""

    def kept(self, handle: BinaryIO, region: Region | None) -> dict[str, str]:
        """Digests of every byte outside the tag but the size fields a tag edit updates."""


def _region_at(handle: BinaryIO, start: int, end: int) -> Region:
    """The tag at ``start`` in a place that ends at ``end``; size 0 where the place holds no tag."""
    handle.seek(start)
    head = handle.read(ID3V2_HEADER)
    size = id3v2_end(head)
    if size == 0 and head[:3] == b"ID3":
        raise TagError(f"an ID3v2.{head[3]} tag, a version we cannot read")
    if start + size > end:
        raise TagError("the ID3 tag is longer than the place the file keeps it in")
    return Region(start, size)


def _digest_range(handle: BinaryIO, start: int, end: int) -> str:
    handle.seek(start)
    return digest(handle.read(max(0, end - start)))


def _digest_from(handle: BinaryIO, start: int) -> str:
    handle.seek(start)
    return stream_digest(handle)


class FileStart:
    """MP3 (and any stream with its tag in front): the tag is the file's first bytes."""

    has_id3v1 = True

    def find(self, handle: BinaryIO) -> Region:
        return _region_at(handle, 0, chunks.file_size(handle))

    def put(self, handle: BinaryIO, region: Region | None, data: bytes) -> None:
        replace_range(handle, 0, region.size if region else 0, data)

    def remove(self, handle: BinaryIO, region: Region) -> None:
        self.put(handle, region, b"")

    def kept(self, handle: BinaryIO, region: Region | None) -> dict[str, str]:
        return {"audio and trailing tags": _digest_from(handle, region.size if region else 0)}


@dataclass(frozen=True)
class IffChunk:
    """AIFF (big-endian) or WAV (little-endian): the tag is the data of an ``ID3 `` chunk, which a new tag
    gets at the end of the form. The chunk keeps IFF's pad byte rule and whatever follows the tag in it."""

    byteorder: ByteOrder
    has_id3v1 = False

    def _chunk(self, handle: BinaryIO) -> chunks.Chunk | None:
        found = [chunk for chunk in chunks.iff_chunks(handle, self.byteorder)
                 if chunk.chunk_id in chunks.IFF_ID3_CHUNKS]
        if len(found) > 1:
            raise TagError("the file has more than one ID3 chunk; which one players read is not certain")
        if found and found[0].end > chunks.file_size(handle):
            raise TagError("the ID3 chunk runs past the end of the file")
        return found[0] if found else None

    def find(self, handle: BinaryIO) -> Region | None:
        chunk = self._chunk(handle)
        return None if chunk is None else _region_at(handle, chunk.data, chunk.data + chunk.size)

    def put(self, handle: BinaryIO, region: Region | None, data: bytes) -> None:
        chunk = self._chunk(handle)
        if chunk is None:
            end = chunks.form_end(handle, self.byteorder)
            header = chunks.IFF_ID3_CHUNKS[0] + len(data).to_bytes(4, self.byteorder)
            self._resize(handle, end, end, header + data + b"\x00" * (len(data) & 1), inside_form=True)
            return
        region = region or Region(chunk.data, 0)
        handle.seek(region.start + region.size)
        rest = handle.read(chunk.data + chunk.size - region.start - region.size)  # what follows the tag in its chunk
        size = len(data) + len(rest) + region.start - chunk.data
        chunks.write_int(handle, chunk.header + 4, size, 4, self.byteorder)
        self._resize(handle, region.start, chunk.end, data + rest + b"\x00" * (size & 1), self._in_form(handle, chunk))

    def remove(self, handle: BinaryIO, region: Region) -> None:
        chunk = self._chunk(handle)
        if chunk is not None:
            self._resize(handle, chunk.header, chunk.end, b"", self._in_form(handle, chunk))

    def _in_form(self, handle: BinaryIO, chunk: chunks.Chunk) -> bool:
        """Whether the chunk lies inside the form as its header declares it (some writers append a tag
        chunk after the form without counting it; its size is then left uncounted)."""
        return chunk.header < chunks.form_end(handle, self.byteorder)

    def _resize(self, handle: BinaryIO, start: int, end: int, data: bytes, inside_form: bool) -> None:
        """Replace bytes ``[start, end)`` and, for bytes inside the form, change its size by the difference."""
        form_size = chunks.read_int(handle, chunks.FORM_SIZE_AT, 4, self.byteorder)
        replace_range(handle, start, end, data)
        if inside_form:
            change = len(data) - (end - start)
            chunks.write_int(handle, chunks.FORM_SIZE_AT, form_size + change, 4, self.byteorder)

    def kept(self, handle: BinaryIO, region: Region | None) -> dict[str, str]:
        chunk = self._chunk(handle)
        if chunk is None:  # where put() would make one
            end = chunks.form_end(handle, self.byteorder)
            chunk = chunks.Chunk(chunks.IFF_ID3_CHUNKS[0], end, end, 0, padded=True)
        tag_end = region.start + region.size if region else chunk.data
        return {"the form's header": _digest_range(handle, 0, chunks.FORM_SIZE_AT),
                "the chunks before the ID3 chunk": _digest_range(handle, chunks.FORM_SIZE_AT + 4, chunk.header),
                "the rest of the ID3 chunk": _digest_range(handle, tag_end, chunk.data + chunk.size),
                "the chunks after the ID3 chunk": _digest_from(handle, chunk.end)}


class DsfMetadata:
    """DSF: the tag is wherever the header's metadata pointer says (the end of the file, in practice); a new
    tag is appended. The header's file size follows every change."""

    has_id3v1 = False

    def find(self, handle: BinaryIO) -> Region | None:
        start = chunks.dsf_metadata_offset(handle)
        if start == 0:
            return None
        size = chunks.file_size(handle)
        region = _region_at(handle, start, size) if start < size else Region(start, 0)
        if region.size == 0:
            raise TagError("the DSF header points at metadata that is not an ID3v2 tag")
        return region

    def put(self, handle: BinaryIO, region: Region | None, data: bytes) -> None:
        if region is None:
            region = Region(chunks.file_size(handle), 0)
            chunks.write_int(handle, chunks.DSF_METADATA_AT, region.start, 8, "little")
        self._replace(handle, region, data)

    def remove(self, handle: BinaryIO, region: Region) -> None:
        self._replace(handle, region, b"")
        chunks.write_int(handle, chunks.DSF_METADATA_AT, 0, 8, "little")

    @staticmethod
    def _replace(handle: BinaryIO, region: Region, data: bytes) -> None:
        declared = chunks.read_int(handle, chunks.DSF_FILE_SIZE_AT, 8, "little")
        replace_range(handle, region.start, region.start + region.size, data)
        chunks.write_int(handle, chunks.DSF_FILE_SIZE_AT, declared + len(data) - region.size, 8, "little")

    def kept(self, handle: BinaryIO, region: Region | None) -> dict[str, str]:
        region = region or Region(chunks.file_size(handle), 0)
        return {"the DSD chunk's id and size": _digest_range(handle, 0, chunks.DSF_FILE_SIZE_AT),
                "the audio chunks": _digest_range(handle, chunks.DSF_HEADER, region.start),
                "what follows the tag": _digest_from(handle, region.start + region.size)}
