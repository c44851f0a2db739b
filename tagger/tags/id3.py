"""MP3: genres in the ID3v2 TCON frame.

ID3v2.4 stores several genres as one multi-valued TCON frame. A file whose tag is v2.3 stays v2.3 (its
frames are written back as they were read, untranslated), with genres joined by ``"; "``. A file with no
tag gets a v2.4 tag. An existing ID3v1 tag is kept byte for byte, never added, removed or merged into v2.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mutagen import MutagenError
from mutagen.id3 import ID3, TCON, Encoding, ID3NoHeaderError

from tagger.sniff import ID3V1_SIZE, id3v1_tag
from tagger.tags.base import TagError
from tagger.tags.id3_frames import raw_frame_count

V23_SEPARATOR = "; "
# mutagen's ID3.save: 1 = update an ID3v1 tag that exists, but never add one.
UPDATE_EXISTING_V1 = 1


def _load(path: Path, translate: bool, with_v1: bool = False) -> ID3 | None:
    """The ID3v2 tag, or None. ``with_v1`` fills frames the v2 tag lacks from an ID3v1 tag: right for
    reading the file's genres, wrong for writing, where it would copy v1 values into the v2 tag."""
    try:
        return ID3(str(path), translate=translate, load_v1=with_v1)
    except ID3NoHeaderError:
        return None
    except (MutagenError, ValueError, KeyError, IndexError, UnicodeError) as error:
        raise TagError(f"unreadable ID3 tag: {error}") from error


def _major(tags: ID3 | None) -> int | None:
    return None if tags is None else tags.version[1] if tags.version[0] == 2 else 0


def _refuse_if_frames_would_be_lost(path: Path, tags: ID3 | None) -> None:
    """Raise TagError when mutagen parsed fewer frames than the tag holds: saving would drop the rest."""
    if tags is None or _major(tags) not in (3, 4):
        return
    expected = raw_frame_count(path)
    kept = len(tags.values()) + len(tags.unknown_frames)
    if expected is not None and kept < expected:
        raise TagError(f"ID3 tag has {expected - kept} frame(s) that cannot be parsed (bad encoding or data); "
                       "writing would lose them")


class ID3Genres:
    """Genre handler for MP3 files."""

    name = "id3"

    def read_genres(self, path: Path) -> list[str]:
        tags = _load(path, translate=False, with_v1=True)
        if tags is None or "TCON" not in tags:
            return []
        genres = tags["TCON"].genres
        if _major(tags) == 3:
            genres = [part.strip() for genre in genres for part in genre.split(";")]
        return [genre for genre in genres if genre]

    def snapshot(self, path: Path) -> dict[str, Any]:
        tags = _load(path, translate=False)
        frame = tags.get("TCON") if tags is not None else None
        return {
            "version": None if tags is None else list(tags.version),
            "TCON": None if frame is None else {"encoding": int(frame.encoding), "text": list(frame.text)},
        }

    def write(self, path: Path, genres: list[str], *, id3v23: bool = False) -> None:
        tags = _load(path, translate=False)
        _refuse_if_frames_would_be_lost(path, tags)
        current = _major(tags)
        target = 3 if id3v23 else current if current in (3, 4) else 4
        tags = self._tags_for_version(path, tags, current, target)
        encoding = Encoding.UTF8 if target == 4 else Encoding.UTF16
        tags.setall("TCON", [TCON(encoding=encoding, text=list(genres))])
        self._save(tags, path, target)

    def restore(self, path: Path, snapshot: dict[str, Any]) -> None:
        tags = _load(path, translate=False)
        version = snapshot["version"]
        target = version[1] if version and version[0] == 2 and version[1] in (3, 4) else 4
        tags = self._tags_for_version(path, tags, _major(tags), target)
        frame = snapshot["TCON"]
        if frame is None:
            tags.delall("TCON")
        else:
            tags.setall("TCON", [TCON(encoding=int(frame["encoding"]), text=frame["text"])])
        self._save(tags, path, target)
        if version is None or version[0] != 2:
            # The file had no ID3v2 tag before we wrote one: take ours away again (ID3v1 stays).
            ID3().delete(str(path), delete_v1=False, delete_v2=True)

    @staticmethod
    def _tags_for_version(path: Path, tags: ID3 | None, current: int | None, target: int) -> ID3:
        """The loaded tag, ready to save as v2.``target``; frames are translated only if the version
        must change (a v2.2 or v1-only tag, or a v2.4 tag forced to v2.3), since translating a v2.3
        tag to v2.4 frames would rewrite its date and people frames."""
        if tags is None:
            return ID3()
        if current == target:
            return tags
        translated = _load(path, translate=True)  # frames as v2.4
        if translated is None:
            raise TagError("the ID3 tag vanished while it was being read")
        if target == 3:
            translated.update_to_v23()
        return translated

    @staticmethod
    def _save(tags: ID3, path: Path, version: int) -> None:
        """Save the v2 tag; an ID3v1 tag at the end stays byte for byte as it was (mutagen would rebuild it
        from the v2 tag, changing its title, artist and the rest wherever the two disagreed)."""
        v1_tag = _id3v1_bytes(path)
        try:
            tags.save(str(path), v1=UPDATE_EXISTING_V1, v2_version=version, v23_sep=V23_SEPARATOR)
        except (MutagenError, ValueError, UnicodeError) as error:
            raise TagError(f"cannot write ID3 tag: {error}") from error
        if v1_tag is not None:
            with open(path, "r+b") as handle:
                handle.seek(-ID3V1_SIZE, os.SEEK_END)
                handle.write(v1_tag)


def _id3v1_bytes(path: Path) -> bytes | None:
    with open(path, "rb") as handle:
        return id3v1_tag(handle)
