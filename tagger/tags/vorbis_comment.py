"""Vorbis comments as raw entries: ``FIELD=value`` byte strings kept exactly as the file holds them.

mutagen decodes every comment as UTF-8 (with replacement characters for bytes that are not) and writes
them all back re-encoded, so a comment in another encoding was changed for good. Here only the GENRE
entries are decoded or replaced; every other entry, the vendor string and whatever follows the comments
in the packet stay byte for byte. The same list of entries lives in a FLAC metadata block, an Ogg Vorbis
or Opus header packet and an Ogg FLAC header packet (``flac_meta``, ``ogg_comment``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from typing import Any

from tagger.tags.base import TagError, digest

FIELD = b"GENRE"
VENDOR = b"genre-tagger"


@dataclass(frozen=True)
class Comments:
    """A Vorbis comment block: vendor string, entries, and the bytes after them (Vorbis's framing bit,
    Opus's extra data, padding), of which ``padding`` trailing zero bytes may be resized."""

    vendor: bytes
    entries: tuple[bytes, ...]
    tail: bytes
    padding: int

    @property
    def size(self) -> int:
        return len(render(self))


def parse(data: bytes, tail_fixed: int) -> Comments:
    """The comments in ``data``; the first ``tail_fixed`` bytes after them are kept whole (Vorbis's framing
    byte), zero bytes after that are padding."""
    position = 0

    def take(length: int) -> bytes:
        nonlocal position
        if position + length > len(data):
            raise TagError("the Vorbis comment block is cut short")
        chunk, position = data[position : position + length], position + length
        return chunk

    vendor = take(int.from_bytes(take(4), "little"))
    entries = tuple(take(int.from_bytes(take(4), "little")) for _ in range(int.from_bytes(take(4), "little")))
    rest = data[position:]
    free = rest[tail_fixed:]
    padding = len(free) if free.strip(b"\x00") == b"" else 0
    return Comments(vendor, entries, rest[: len(rest) - padding], padding)


def render(comments: Comments) -> bytes:
    def field(value: bytes) -> bytes:
        return len(value).to_bytes(4, "little") + value

    return (field(comments.vendor) + len(comments.entries).to_bytes(4, "little")
            + b"".join(field(entry) for entry in comments.entries) + comments.tail + b"\x00" * comments.padding)


def new_comments(tail: bytes) -> Comments:
    """An empty comment block, for a file that has none."""
    return Comments(VENDOR, (), tail, 0)


def is_genre(entry: bytes) -> bool:
    return entry.split(b"=", 1)[0].upper() == FIELD


def genres(comments: Comments) -> list[str]:
    return [entry.split(b"=", 1)[1].decode("utf-8", "replace") for entry in comments.entries
            if is_genre(entry) and b"=" in entry]


def _genre_index(entries: tuple[bytes, ...]) -> int:
    return next((index for index, entry in enumerate(entries) if is_genre(entry)), len(entries))


def _others(entries: tuple[bytes, ...]) -> tuple[bytes, ...]:
    return tuple(entry for entry in entries if not is_genre(entry))


def with_genres(comments: Comments, values: list[str]) -> Comments:
    """The block with one GENRE entry per value, where the first GENRE entry was (else at the end)."""
    index, others = _genre_index(comments.entries), _others(comments.entries)
    new = tuple(b"GENRE=" + value.encode("utf-8") for value in values)
    return replace(comments, entries=others[:index] + new + others[index:])


def with_entries_restored(comments: Comments, snapshot: dict[str, Any]) -> Comments:
    """The block with its GENRE entries replaced by the snapshot's, each back at its old position."""
    entries = list(_others(comments.entries))
    for index, raw in snapshot["entries"]:
        entries.insert(min(index, len(entries)), base64.b64decode(raw))
    return replace(comments, entries=tuple(entries))


def genre_entries(comments: Comments) -> list[list[Any]]:
    """The GENRE entries with their positions, raw, as a journal snapshot records them."""
    return [[index, base64.b64encode(entry).decode("ascii")] for index, entry in enumerate(comments.entries)
            if is_genre(entry)]


def fitted(comments: Comments, size: int) -> Comments:
    """``comments`` padded to ``size`` bytes where they fit (so nothing around them moves), else unpadded."""
    bare = replace(comments, padding=0)
    room = size - bare.size
    return replace(bare, padding=room) if room >= 0 and (room == 0 or _can_pad(bare)) else bare


def _can_pad(comments: Comments) -> bool:
    """Zero bytes may follow the comments as padding unless what follows is kept data that would then
    read differently (Opus: extra data is marked by its first byte's low bit; zeros after it would join it)."""
    return comments.tail in (b"", b"\x01")


def kept(comments: Comments) -> dict[str, str]:
    """Digests of the vendor string and of every entry but the genres, in order."""
    parts = {"vendor": digest(comments.vendor), "after the comments": digest(comments.tail)}
    parts.update((f"comment #{index}", digest(entry)) for index, entry in enumerate(_others(comments.entries)))
    return parts
