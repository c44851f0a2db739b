"""The Extended Content Description object of a WMA (ASF) file, edited raw: the ``WM/Genre`` descriptors are
replaced where they sit, every other descriptor and object keeps its bytes and its place, and a padding
object absorbs the change in size (else the header grows, and the file size in the File Properties object
follows; ASF data packets hold no file offsets). mutagen re-renders the whole header its own way, so a file
another program wrote came back from an undo laid out anew.

Where the genre is kept elsewhere (the Metadata or Metadata Library objects, for values the extended
description cannot hold), or the file has no extended description yet, ``read`` returns None and the
caller falls back to mutagen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from tagger import chunks
from tagger.sniff import ASF_HEADER_GUID
from tagger.tags.listfield import placed
from tagger.tags.splice import replace_range

OBJECT_HEADER = 24  # GUID, 64-bit size
HEADER_PREAMBLE = 30  # the Header Object's GUID and size, its object count and two reserved bytes
EXTENDED_CONTENT = bytes.fromhex("40a4d0d207e3d21197f000a0c95ea850")
FILE_PROPERTIES = bytes.fromhex("a1dcab8c47a9cf118ee400c00c205365")
HEADER_EXTENSION = bytes.fromhex("b503bf5f2ea9cf118ee300c00c205365")
PADDING = bytes.fromhex("74d40618dfca0945a4ba9aabcb96aae8")
FILE_SIZE_AT = OBJECT_HEADER + 16  # in File Properties: after the file id
GENRE_NAME = "WM/Genre"
UNICODE = 0  # a descriptor's value type: UTF-16LE text with a NUL


@dataclass(frozen=True)
class Span:
    start: int
    size: int  # the whole object, header included

    @property
    def end(self) -> int:
        return self.start + self.size


@dataclass(frozen=True)
class Description:
    """The header's size, the extended description's place and descriptors (raw), the file properties'
    place and a top-level padding object (None where the header has none, or one that is not all zeros)."""

    header_size: int
    extended: Span
    descriptors: tuple[bytes, ...]
    file_properties: Span
    padding: Span | None

    def genre_indices(self) -> list[int]:
        return [index for index, descriptor in enumerate(self.descriptors) if name_of(descriptor) == GENRE_NAME]


def name_of(descriptor: bytes) -> str:
    length = int.from_bytes(descriptor[:2], "little")
    return descriptor[2 : 2 + length].decode("utf-16-le", "replace").rstrip("\x00")


def _u64(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 8], "little")


def header_span(handle: BinaryIO) -> tuple[int, int] | None:
    """Where the Header Object lies: the start of the file to its declared size (None where that size is
    not one the file can have)."""
    handle.seek(0)
    preamble = handle.read(HEADER_PREAMBLE)
    size = _u64(preamble, 16)
    valid = preamble[:16] == ASF_HEADER_GUID and HEADER_PREAMBLE <= size <= chunks.file_size(handle)
    return (0, size) if valid else None


def read(handle: BinaryIO) -> Description | None:
    """The extended description of the open ASF file, or None where it is missing, the genre may also be
    kept elsewhere, or the header does not walk cleanly."""
    span = header_span(handle)
    if span is None:
        return None
    handle.seek(0)
    header = handle.read(span[1])
    header_size = span[1]
    objects: dict[bytes, Span] = {}
    position = HEADER_PREAMBLE
    while position + OBJECT_HEADER <= len(header):
        size = _u64(header, position + 16)
        if size < OBJECT_HEADER or position + size > len(header):
            return None
        objects.setdefault(header[position : position + 16], Span(position, size))
        position += size
    extended, properties = objects.get(EXTENDED_CONTENT), objects.get(FILE_PROPERTIES)
    extension = objects.get(HEADER_EXTENSION)
    if extended is None or properties is None or position != len(header):
        return None
    if extension and GENRE_NAME.encode("utf-16-le") in header[extension.start : extension.end]:
        return None
    descriptors = _descriptors(header[extended.start + OBJECT_HEADER : extended.end])
    if descriptors is None:
        return None
    padding = objects.get(PADDING)
    if padding is not None and header[padding.start + OBJECT_HEADER : padding.end].strip(b"\x00"):
        padding = None  # it holds something: resizing it would lose that
    return Description(header_size, extended, tuple(descriptors), properties, padding)


def _descriptors(content: bytes) -> list[bytes] | None:
    count, position, found = int.from_bytes(content[:2], "little"), 2, []
    for _ in range(count):
        if position + 2 > len(content):
            return None
        name_end = position + 2 + int.from_bytes(content[position : position + 2], "little")
        end = name_end + 4 + int.from_bytes(content[name_end + 2 : name_end + 4], "little")
        if end > len(content):
            return None
        found.append(content[position:end])
        position = end
    return found if position == len(content) else None


def genre_descriptors(genres: list[str]) -> list[bytes]:
    """One ``WM/Genre`` descriptor per genre, as mutagen and Windows Media Player write them."""
    name = (GENRE_NAME + "\x00").encode("utf-16-le")
    result = []
    for genre in genres:
        value = (genre + "\x00").encode("utf-16-le")
        result.append(len(name).to_bytes(2, "little") + name + UNICODE.to_bytes(2, "little")
                      + len(value).to_bytes(2, "little") + value)
    return result


def edit(handle: BinaryIO, description: Description, genres: list[tuple[int, bytes]], header_size: int) -> bool:
    """Replace the genre descriptors by ``genres`` (each with its index in the new list) and bring the header
    to ``header_size`` bytes by resizing the padding object where it can; else the header changes size by
    what the description did."""
    indices = description.genre_indices()
    others = [descriptor for index, descriptor in enumerate(description.descriptors) if index not in indices]
    listed = placed(others, genres)
    content = len(listed).to_bytes(2, "little") + b"".join(listed)
    extended = description.extended
    grown = OBJECT_HEADER + len(content) - extended.size
    padding = description.padding
    new_padding = padding.size + (header_size - description.header_size) - grown if padding else 0
    if padding is None or new_padding < OBJECT_HEADER:
        new_padding = padding.size if padding else 0
    change = grown + (new_padding - padding.size if padding else 0)
    edits = [(extended, EXTENDED_CONTENT + (OBJECT_HEADER + len(content)).to_bytes(8, "little") + content)]
    if padding is not None and new_padding != padding.size:
        edits.append((padding, PADDING + new_padding.to_bytes(8, "little") + bytes(new_padding - OBJECT_HEADER)))
    for span, data in sorted(edits, key=lambda edit: -edit[0].start):  # the later one first: offsets hold
        replace_range(handle, span.start, span.end, data)
    if change:
        handle.seek(16)
        handle.write((description.header_size + change).to_bytes(8, "little"))
        properties = description.file_properties
        moved = sum(len(data) - span.size for span, data in edits if span.start < properties.start)
        at = properties.start + moved + FILE_SIZE_AT
        handle.seek(at)
        file_size = int.from_bytes(handle.read(8), "little")
        handle.seek(at)
        handle.write((file_size + change).to_bytes(8, "little"))
    return True
