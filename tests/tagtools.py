"""Helpers the tag tests share: rich tags to start from, and views of what must not change."""

from __future__ import annotations

import hashlib
from pathlib import Path

import mutagen
import soundfile
from mutagen.id3 import APIC, COMM, ID3, TALB, TCON, TDRC, TIT2, TPE1, TXXX, TYER, Encoding

# A real (tiny) PNG: a cover image frame must survive byte for byte.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def add_id3(path: Path, version: int, genre: str | None = "Pop") -> None:
    """Title, artist, album, date, comment, a user text frame and a cover, saved as v2.``version``."""
    tags = ID3()
    encoding = Encoding.UTF8 if version == 4 else Encoding.UTF16
    tags.add(TIT2(encoding=encoding, text="Señor Título"))
    tags.add(TPE1(encoding=encoding, text="Ørjan & The Artists"))
    tags.add(TALB(encoding=encoding, text="Album"))
    tags.add(COMM(encoding=encoding, lang="eng", desc="", text="a comment"))
    tags.add(TXXX(encoding=encoding, desc="MusicBrainz Album Id", text="1234"))
    tags.add(APIC(encoding=encoding, mime="image/png", type=3, desc="cover", data=PNG))
    if version == 4:
        tags.add(TDRC(encoding=encoding, text="1999-05-01"))
    else:
        tags.add(TYER(encoding=encoding, text="1999"))
    if genre is not None:
        tags.add(TCON(encoding=encoding, text=genre))
    tags.save(str(path), v2_version=version)


def id3_frames_except_genre(path: Path) -> dict[str, str]:
    """Every frame but TCON, as read without translation (so a v2.3 frame must stay v2.3)."""
    tags = ID3(str(path), translate=False)
    return {key: repr(frame) for key, frame in tags.items() if not key.startswith("TCON")}


def mp3_audio_bytes(path: Path) -> bytes:
    """The MPEG frames: everything after the ID3v2 tag and before an ID3v1 tag."""
    data = path.read_bytes()
    start = 0
    if data[:3] == b"ID3":
        size = 0
        for byte in data[6:10]:
            size = (size << 7) | byte
        start = 10 + size + (10 if data[5] & 0x10 else 0)
    end = len(data) - 128 if data[-128:-125] == b"TAG" else len(data)
    return data[start:end]


def flac_audio_bytes(path: Path) -> bytes:
    """The FLAC frames after the last metadata block."""
    data = path.read_bytes()
    position = 4
    while True:
        header = data[position]
        length = int.from_bytes(data[position + 1 : position + 4], "big")
        position += 4 + length
        if header & 0x80:
            return data[position:]


def decoded(path: Path):
    return soundfile.read(str(path), dtype="float32")[0]


def comments_except_genre(path: Path) -> list[tuple[str, str]]:
    audio = mutagen.File(str(path))
    return sorted((key.upper(), value) for key, value in audio.tags if key.upper() != "GENRE")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
