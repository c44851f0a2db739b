"""Helpers the tag tests share: rich tags to start from, and views of what must not change."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import mutagen
import pytest
import soundfile
from mutagen.apev2 import BINARY, APEv2, APEValue
from mutagen.asf import ASF, ASFByteArrayAttribute
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC, COMM, ID3, TALB, TCON, TDRC, TIT2, TPE1, TXXX, TYER, Encoding
from mutagen.mp4 import MP4, MP4Cover

from tagger import tags
from tagger.formats import TagHandlers, handler_for

# A real (tiny) PNG: a cover image frame must survive byte for byte.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def add_id3(path: Path, version: int, genre: str | None = "Pop") -> None:
    """Title, artist, album, date, comment, a user text frame and a cover, saved as v2.``version``."""
    tags = ID3()
    add_rich_frames(tags, version, genre)
    tags.save(str(path), v2_version=version)


def add_rich_frames(tags: ID3, version: int, genre: str | None = "Pop") -> None:
    """``add_id3``'s frames, into a tag of any container (MP3, AIFF, DSF)."""
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


def add_title_artist_cover_comment(path: Path) -> None:
    """A title, an artist, a cover and a comment in the file's own kind of tag, whatever its format."""
    audio = mutagen.File(str(path))
    if audio.tags is None:
        audio.add_tags()
    title, artist, comment = f"Title of {path.name}", "Ørjan & The Artists", "a comment"
    if isinstance(audio.tags, ID3):
        add_rich_frames(audio.tags, 4, genre=None)
    elif isinstance(audio, MP4):
        audio.tags.update({"\xa9nam": title, "\xa9ART": artist, "\xa9cmt": comment,
                           "covr": [MP4Cover(PNG, imageformat=MP4Cover.FORMAT_PNG)]})
    elif isinstance(audio, ASF):
        audio.tags.update({"Title": title, "Author": artist, "Description": comment,
                           "WM/Picture": [ASFByteArrayAttribute(_asf_picture())]})
    elif isinstance(audio.tags, APEv2):
        audio.tags.update({"Title": title, "Artist": artist, "Comment": comment,
                           "Cover Art (Front)": APEValue(b"cover.png\x00" + PNG, BINARY)})
    else:  # Vorbis comments: FLAC keeps its cover in a block of its own, Ogg in a comment
        audio.tags.update({"TITLE": title, "ARTIST": artist, "COMMENT": comment})
        if isinstance(audio, FLAC):
            audio.add_picture(_picture())
        else:
            audio.tags["METADATA_BLOCK_PICTURE"] = base64.b64encode(_picture().write()).decode("ascii")
    audio.save()


def _picture() -> Picture:
    picture = Picture()
    picture.type, picture.mime, picture.desc, picture.data = 3, "image/png", "cover", PNG
    return picture


def _asf_picture() -> bytes:
    """WM/Picture's layout: type, size, then MIME type and description as NUL-terminated UTF-16, then data."""
    text = "image/png\x00cover\x00".encode("utf-16-le")
    return bytes([3]) + len(PNG).to_bytes(4, "little") + text + PNG


GENRE_FIELDS = {"tcon", "\xa9gen", "genre", "wm/genre"}


def fields_except_genre(path: Path) -> list[tuple[str, str]]:
    """Every tag field but the genre, covers included, as mutagen reads them."""
    audio = mutagen.File(str(path))
    fields = [(str(key), repr(value)) for key, value in (audio.tags.items() if audio.tags else [])
              if str(key).split(":")[0].lower() not in GENRE_FIELDS]
    fields += [("picture", repr(picture.data)) for picture in getattr(audio, "pictures", [])]
    return sorted(fields)


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


def write_then_undo(path: Path, genres: list[str], id3v23: bool = False) -> bytes:
    """Write ``genres`` and undo it through the handler, asserting the undo is byte-exact; returns the bytes
    the write left, for the caller to inspect."""
    handler = TagHandlers(id3v23=id3v23).handler_for(path)
    original, before = digest(path), handler.snapshot(path)
    tags.write_genres(path, handler, genres)
    assert handler.read_genres(path) == genres
    written = path.read_bytes()
    tags.restore_genres(path, handler, before)
    assert digest(path) == original and handler.matches(path, before)
    return written


def assert_refused_untouched(path: Path, match: str | None = None) -> None:
    """A genre write is refused with a TagError (naming ``match`` where given), and the file keeps every byte."""
    original = digest(path)
    with pytest.raises(tags.TagError, match=match):
        tags.write_genres(path, handler_for(path), ["Rock"])
    assert digest(path) == original
