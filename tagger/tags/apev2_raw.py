"""APEv2 tags (WavPack, Monkey's Audio, Musepack) edited raw: the genre item is replaced where it sits, every
other item keeps its bytes and its place, and the header (where the tag has one) and footer are brought up
to date. mutagen re-renders the whole tag sorted its own way and with a header, so a tag another program
wrote came back from an undo re-ordered.

The tag lies at the end of the file, before an ID3v1 tag if there is one: header (optional), items, footer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from tagger import chunks
from tagger.sniff import APE_FOOTER, APE_HAS_HEADER, APE_PREAMBLE, ape_footer, id3v1_tag
from tagger.tags.base import TagError
from tagger.tags.splice import replace_range

VERSION = 2000
IS_HEADER = 0x20000000
ITEM_HEADER = 8  # value size, flags
GENRE_KEY = "genre"  # item keys are compared without case


@dataclass(frozen=True)
class ApeTag:
    """A tag's place in the file, its header (empty where it has none) and footer, and its items, all
    exactly as they are: a write changes only the size and item count in the header and footer."""

    start: int  # its header, or its first item where it has no header
    end: int  # after its footer
    header: bytes
    footer: bytes
    items: tuple[bytes, ...]

    def genre_indices(self) -> list[int]:
        return [index for index, item in enumerate(self.items) if key_of(item).lower() == GENRE_KEY]


def key_of(item: bytes) -> str:
    return item[ITEM_HEADER : item.index(b"\x00", ITEM_HEADER)].decode("ascii", "replace")


def tag_end(handle: BinaryIO) -> int:
    """Where an APEv2 tag ends, or would end: the end of the file, or the start of its ID3v1 tag."""
    return chunks.file_size(handle) - len(id3v1_tag(handle) or b"")


def read(handle: BinaryIO) -> ApeTag | None:
    """The APEv2 tag at the end of the open file, or None; TagError where its items cannot be walked."""
    end = tag_end(handle)
    found = ape_footer(handle, end)
    if found is None:
        return None
    size, count, footer = found.size, found.count, found.raw
    first, start = end - size, end - found.tag_bytes
    if size < APE_FOOTER or start < 0:
        raise TagError("the APEv2 tag's footer gives a size the file does not have")
    handle.seek(start)
    header = handle.read(first - start)
    if header and header[:8] != APE_PREAMBLE:
        raise TagError("the APEv2 tag's footer says it has a header, but there is none")
    if header and header[12:20] != footer[12:20]:
        raise TagError("the APEv2 tag's header and footer disagree about its size; it is left as it is")
    data, items, position = handle.read(size - APE_FOOTER), [], 0
    for _ in range(count):
        key_end = data.find(b"\x00", position + ITEM_HEADER)
        if position + ITEM_HEADER > len(data) or key_end < 0:
            raise TagError("the APEv2 tag's items cannot be read cleanly; writing would lose some of them")
        item_end = key_end + 1 + int.from_bytes(data[position : position + 4], "little")
        items.append(data[position:item_end])
        position = item_end
    if position != len(data):
        raise TagError("the APEv2 tag has bytes after its last item")
    return ApeTag(start, end, header, footer, tuple(items))


def genre_item(genres: list[str], key: str = "Genre") -> bytes:
    """A UTF-8 text item; several values are separated by NUL, as APEv2 says."""
    value = "\x00".join(genres).encode("utf-8")
    return len(value).to_bytes(4, "little") + bytes(4) + key.encode("ascii") + b"\x00" + value


def _frame(flags: int) -> bytes:
    """A header or footer for a new tag, its size and count to be filled in."""
    return APE_PREAMBLE + VERSION.to_bytes(4, "little") + bytes(8) + flags.to_bytes(4, "little") + bytes(8)


def _counted(frame: bytes, size: int, count: int) -> bytes:
    return frame[:12] + size.to_bytes(4, "little") + count.to_bytes(4, "little") + frame[20:]


def write(handle: BinaryIO, tag: ApeTag | None, items: list[bytes]) -> None:
    """Put a tag with ``items`` in the place of ``tag`` (a new tag, with a header as mutagen writes it, at
    the end where there was none; nothing at all where ``items`` is empty and there was none)."""
    if tag is None:
        if not items:
            return
        end = tag_end(handle)
        tag = ApeTag(end, end, _frame(APE_HAS_HEADER | IS_HEADER), _frame(APE_HAS_HEADER), ())
    body = b"".join(items)
    size = len(body) + APE_FOOTER
    header = _counted(tag.header, size, len(items)) if tag.header else b""
    replace_range(handle, tag.start, tag.end, header + body + _counted(tag.footer, size, len(items)))


def remove(handle: BinaryIO, tag: ApeTag) -> None:
    replace_range(handle, tag.start, tag.end, b"")
