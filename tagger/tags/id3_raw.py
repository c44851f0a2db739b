"""ID3v2 tags as raw frames: parsed just far enough to replace one frame and keep every other byte.

mutagen re-renders a whole tag when it saves: frames it cannot parse are dropped, v2.2 frames are
translated, a v2.4 footer is left behind as stray bytes. Here the other frames are byte strings that are
written back untouched; only the frame being replaced and the padding (which absorbs the change in size)
are new. Whatever cannot be written back exactly (a tag with a CRC of its frames, junk after the last frame,
an unsynchronisation that would not round-trip) is refused with ``TagError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import BinaryIO

from tagger.sniff import ID3V2_HEADER, id3v2_end, syncsafe
from tagger.tags.base import TagError

FLAG_UNSYNCHRONISED, FLAG_EXTENDED, FLAG_FOOTER = 0x80, 0x40, 0x10
V22_COMPRESSED = 0x40
V23_EXTENDED_CRC, V24_EXTENDED_CRC = 0x80, 0x20
V24_FRAME_UNSYNCHRONISED = 0x02
# What an extended header can measure: v2.3 counts 6 bytes after its size (10 with a CRC); v2.4 counts
# itself, 6 bytes up to 15 with every optional field.
V23_EXTENDED_SIZES, V24_EXTENDED_SIZES = (10, 14), (6, 15)
MAX_TAG_SIZE = (1 << 28) - 1
# Padding added when a tag must grow anyway, so that later edits fit without moving the audio again.
GROWTH_PADDING = 1024

_FRAME_ID = {2: re.compile(rb"[A-Z0-9]{3}"), 3: re.compile(rb"[A-Z0-9]{4}"), 4: re.compile(rb"[A-Z0-9]{4}")}
_ENCODINGS = {0: ("latin-1", b"\x00"), 1: ("utf-16", b"\x00\x00"), 2: ("utf-16-be", b"\x00\x00"),
              3: ("utf-8", b"\x00")}


@dataclass(frozen=True)
class Frame:
    """One frame exactly as the tag holds it (header and body, after any tag-wide unsynchronisation)."""

    frame_id: str
    raw: bytes


@dataclass(frozen=True)
class Id3Tag:
    """An ID3v2 tag, split into what a genre edit keeps and what it may change."""

    major: int
    revision: int
    flags: int
    extended: bytes  # the extended header, as it is; empty when there is none
    frames: tuple[Frame, ...]
    padding: int
    syncsafe_frame_sizes: bool  # v2.4 says syncsafe; some old iTunes versions wrote plain integers
    size_on_disk: int = 0  # header, body and footer as read; 0 for a tag not yet written
    # Whether a v2.3 extended header's padding count was the tag's padding: kept up to date if so, and left
    # as the file had it if not (a tagger that wrote 0 there), so that undo gives back the file's own bytes.
    counts_padding: bool = True

    @property
    def version(self) -> list[int]:
        return [2, self.major, self.revision]


def syncsafe_bytes(value: int) -> bytes:
    return bytes((value >> shift) & 0x7F for shift in (21, 14, 7, 0))


def _unsynchronise(data: bytes) -> bytes:
    """ID3 unsynchronisation: a zero byte after every 0xFF that is followed by a zero or a byte >= 0xE0."""
    out = bytearray()
    for index, byte in enumerate(data):
        out.append(byte)
        if byte == 0xFF and (index + 1 == len(data) or data[index + 1] == 0 or data[index + 1] >= 0xE0):
            out.append(0)
    return bytes(out)


def _frame_header_size(major: int) -> int:
    return 6 if major == 2 else 10


def _walk(body: bytes, position: int, major: int, syncsafe_sizes: bool) -> tuple[list[Frame], int] | None:
    """The frames from ``position`` and where they end, or None where the bytes are not a clean frame sequence."""
    header_size, id_size = _frame_header_size(major), 3 if major == 2 else 4
    frames: list[Frame] = []
    while position + header_size <= len(body):
        frame_id = body[position : position + id_size]
        if frame_id.strip(b"\x00") == b"":
            break  # padding
        if not _FRAME_ID[major].fullmatch(frame_id):
            return None
        size_bytes = body[position + id_size : position + id_size + (3 if major == 2 else 4)]
        size = syncsafe(size_bytes) if syncsafe_sizes else int.from_bytes(size_bytes, "big")
        end = position + header_size + size
        if end > len(body):
            return None
        frames.append(Frame(frame_id.decode("ascii"), body[position:end]))
        position = end
    return frames, position


def _extended_header(body: bytes, major: int, flags: int) -> bytes:
    """The extended header, refused where it holds a CRC of the frames (any edit would invalidate it)."""
    if major == 2 or not flags & FLAG_EXTENDED:
        return b""
    if len(body) < 6:
        raise TagError("the ID3 tag's extended header is cut short")
    if major == 3:
        size, crc = 4 + int.from_bytes(body[:4], "big"), body[4] & V23_EXTENDED_CRC
        valid = size in V23_EXTENDED_SIZES
    else:
        size, crc = syncsafe(body[:4]), body[5] & V24_EXTENDED_CRC
        valid = V24_EXTENDED_SIZES[0] <= size <= V24_EXTENDED_SIZES[1] and body[4] == 1  # one flag byte
    if not valid or size > len(body):
        raise TagError("the ID3 tag says it has an extended header, but what follows is not one")
    extended = body[:size]
    if crc:
        raise TagError("the ID3 tag carries a checksum of its frames, which changing a frame would break")
    return extended


def read_tag(handle: BinaryIO, start: int = 0) -> Id3Tag | None:
    """The ID3v2 tag at ``start`` in the open file (its start, for an MP3), or None when there is none."""
    handle.seek(start)
    header = handle.read(ID3V2_HEADER)
    if len(header) < ID3V2_HEADER or header[:3] != b"ID3":
        return None
    major, revision, flags = header[3], header[4], header[5]
    if major not in (2, 3, 4) or any(byte & 0x80 for byte in header[6:10]):
        raise TagError(f"an ID3v2.{major} tag with a header we cannot read")
    if major == 2 and flags & V22_COMPRESSED:
        raise TagError("a compressed ID3v2.2 tag")
    size = syncsafe(header[6:10])
    body = handle.read(size)
    if len(body) < size:
        raise TagError("the ID3 tag is longer than the file")
    if major == 4 and flags & FLAG_FOOTER and handle.read(ID3V2_HEADER) != b"3DI" + header[3:]:
        raise TagError("the ID3 tag says a footer follows it, but none does")  # else 10 bytes of audio would go
    if major < 4 and flags & FLAG_UNSYNCHRONISED:
        plain = body.replace(b"\xff\x00", b"\xff")
        if _unsynchronise(plain) != body:
            raise TagError("an unsynchronised ID3 tag that would not be written back as it was")
        body = plain
    extended = _extended_header(body, major, flags)
    syncsafe_sizes = major == 4
    walked = _walk(body, len(extended), major, syncsafe_sizes)
    if walked is None and syncsafe_sizes:
        syncsafe_sizes, walked = False, _walk(body, len(extended), major, syncsafe_sizes=False)
    if walked is None:
        raise TagError("the ID3 tag's frames cannot be read cleanly; writing would lose some of them")
    frames, end = walked
    if body[end:].strip(b"\x00"):
        raise TagError("the ID3 tag has bytes after its last frame that are neither a frame nor padding")
    padding = len(body) - end
    counts_padding = major != 3 or len(extended) < 10 or int.from_bytes(extended[6:10], "big") == padding
    return Id3Tag(major, revision, flags, extended, tuple(frames), padding, syncsafe_sizes, id3v2_end(header),
                  counts_padding)


def new_tag(major: int) -> Id3Tag:
    """An empty tag of version 2.``major``, to be given frames and written."""
    return Id3Tag(major, 0, 0, b"", (), GROWTH_PADDING, syncsafe_frame_sizes=major == 4)


def render(tag: Id3Tag) -> bytes:
    """The tag's bytes: header, extended header (its v2.3 padding count brought up to date), frames,
    padding and, where the tag has one, footer."""
    extended = tag.extended
    if tag.major == 3 and len(extended) >= 10 and tag.counts_padding:
        extended = extended[:6] + tag.padding.to_bytes(4, "big") + extended[10:]
    body = extended + b"".join(frame.raw for frame in tag.frames) + b"\x00" * tag.padding
    if tag.major < 4 and tag.flags & FLAG_UNSYNCHRONISED:
        body = _unsynchronise(body)
    if len(body) > MAX_TAG_SIZE:
        raise TagError("the ID3 tag would be larger than 256 MB")
    header = b"ID3" + bytes([tag.major, tag.revision, tag.flags]) + syncsafe_bytes(len(body))
    footer = b"3DI" + header[3:] if tag.major == 4 and tag.flags & FLAG_FOOTER else b""
    return header + body + footer


def fitted(tag: Id3Tag, frames: tuple[Frame, ...], size: int) -> bytes:
    """``tag`` with ``frames``, rendered at ``size`` bytes by resizing its padding where that is possible
    (so the audio need not move), else as small as it goes plus room to grow. A tag with a footer gets no
    padding, as v2.4 requires."""
    bare = replace(tag, frames=frames, padding=0)
    data = render(bare)
    if tag.major == 4 and tag.flags & FLAG_FOOTER:
        return data
    for padding in (size - len(data), size - len(data) - 1):  # unsynchronisation may add a byte at the seam
        if padding >= 0 and len(candidate := render(replace(bare, padding=padding))) == size:
            return candidate
    return render(replace(bare, padding=GROWTH_PADDING))


def text_frame(tag: Id3Tag, frame_id: str, encoding: int, values: list[str]) -> Frame:
    """A text frame for ``tag``'s version: several values separated by NUL (v2.4), or joined by the caller
    (v2.2 and v2.3 hold one value)."""
    codec, terminator = _ENCODINGS[encoding]
    try:
        text = terminator.join(value.encode(codec) for value in values)
    except UnicodeEncodeError as error:
        raise TagError(f"a genre cannot be written in the tag's text encoding: {error}") from error
    body = bytes([encoding]) + text
    unsynchronised = tag.major == 4 and tag.flags & FLAG_UNSYNCHRONISED  # v2.4: every frame says so itself
    if unsynchronised:
        body = _unsynchronise(body)
    if tag.major == 2:
        header = frame_id[:3].encode("ascii") + len(body).to_bytes(3, "big")
    else:
        size = syncsafe_bytes(len(body)) if tag.syncsafe_frame_sizes else len(body).to_bytes(4, "big")
        flags = bytes([0, V24_FRAME_UNSYNCHRONISED if unsynchronised else 0])
        header = frame_id.encode("ascii") + size + flags
    return Frame(frame_id[:3] if tag.major == 2 else frame_id, header + body)
