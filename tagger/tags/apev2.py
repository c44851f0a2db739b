"""WavPack, Monkey's Audio and Musepack: genres in the APEv2 ``Genre`` item, one value per genre.

mutagen saves the whole tag anew; every other item must come out byte for byte, which ``other_items`` lets
the post-write check verify on the raw items.
"""

from __future__ import annotations

from pathlib import Path

import mutagen
from mutagen.monkeysaudio import MonkeysAudio
from mutagen.musepack import Musepack
from mutagen.wavpack import WavPack

from tagger import chunks
from tagger.sniff import APE_FOOTER, id3v1_tag
from tagger.tags.base import digest
from tagger.tags.listfield import ListFieldGenres

GENRE_KEY = "genre"  # APEv2 keys are compared without case


def _open(path: str) -> mutagen.FileType | None:
    return mutagen.File(path, options=[WavPack, MonkeysAudio, Musepack])


def other_items(path: Path) -> dict[str, str]:
    """Digests of the raw APEv2 items other than the genre (size, flags, key and value), by key."""
    items: dict[str, str] = {}
    with open(path, "rb") as handle:
        end = chunks.file_size(handle) - (len(id3v1_tag(handle) or b""))
        handle.seek(max(0, end - APE_FOOTER))
        footer = handle.read(APE_FOOTER)
        if footer[:8] != b"APETAGEX":
            return items
        size, count = int.from_bytes(footer[12:16], "little"), int.from_bytes(footer[16:20], "little")
        handle.seek(end - size)
        data, position = handle.read(size - APE_FOOTER), 0
        for _ in range(count):
            value_size = int.from_bytes(data[position : position + 4], "little")
            key_end = data.find(b"\x00", position + 8)
            if key_end < 0:
                break
            key = data[position + 8 : key_end].decode("latin-1")
            item_end = key_end + 1 + value_size
            if key.lower() != GENRE_KEY:
                items[f"item {key.lower()}"] = digest(data[position:item_end])
            position = item_end
    return items


APEV2 = ListFieldGenres("apev2", "Genre", _open, has_padding=False, raw_items=other_items)
