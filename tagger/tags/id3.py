"""MP3: genres in the ID3v2 TCON frame (TCO in v2.2), every other byte of the tag kept.

A genre edit replaces that one frame in the raw tag (``id3_raw``) and lets the padding absorb the change
in size; the tag keeps its version, its other frames byte for byte, its footer, and an ID3v1 tag at the
end is never touched. v2.4 stores several genres as NUL-separated values; v2.2 and v2.3 hold one value,
so genres are joined by ``"; "``. A file with no tag gets a v2.4 tag.

``--id3v23`` converts a v2.4 or v2.2 tag to v2.3 only where the conversion loses nothing, and names the
frames that v2.3 has no place for otherwise. Undoing a conversion puts the whole original tag back, so the
journal keeps it whole.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

from mutagen import MutagenError
from mutagen.id3 import ID3, TCON, Encoding, ID3NoHeaderError

from tagger.sniff import ID3V1_SIZE, id3v1_tag
from tagger.tags import id3_raw
from tagger.tags.base import TagError, digest, stream_digest
from tagger.tags.splice import replace_range

V23_SEPARATOR = "; "
GENRE_FRAME = {2: "TCO", 3: "TCON", 4: "TCON"}
# mutagen's ID3.save: 1 = update an ID3v1 tag that exists, but never add one.
UPDATE_EXISTING_V1 = 1
Frames = tuple[id3_raw.Frame, ...]


def _load(path: Path, translate: bool, with_v1: bool = False) -> ID3 | None:
    """The ID3v2 tag as mutagen reads it, or None. ``with_v1`` fills frames the v2 tag lacks from an ID3v1
    tag: right for reading the file's genres, wrong for anything written back."""
    try:
        return ID3(str(path), translate=translate, load_v1=with_v1)
    except ID3NoHeaderError:
        return None
    except (MutagenError, ValueError, KeyError, IndexError, UnicodeError) as error:
        raise TagError(f"unreadable ID3 tag: {error}") from error


def _raw_tag(path: Path) -> id3_raw.Id3Tag | None:
    with open(path, "rb") as handle:
        return id3_raw.read_tag(handle)


def _converts(tag: id3_raw.Id3Tag | None, id3v23: bool) -> bool:
    """Whether writing with ``id3v23`` turns this tag into another version (a new tag is simply made v2.3)."""
    return id3v23 and tag is not None and tag.major != 3


def _genre_index(tag: id3_raw.Id3Tag) -> int:
    """Where the genre frame is (the first, if a tag has several), or the end for a tag without one."""
    genre_id = GENRE_FRAME[tag.major]
    return next((index for index, frame in enumerate(tag.frames) if frame.frame_id == genre_id), len(tag.frames))


def _without_genre(tag: id3_raw.Id3Tag) -> Frames:
    return tuple(frame for frame in tag.frames if frame.frame_id != GENRE_FRAME[tag.major])


def _with_frame(frames: Frames, index: int, frame: id3_raw.Frame | None) -> Frames:
    return frames if frame is None else (*frames[:index], frame, *frames[index:])


def _genre_frame(tag: id3_raw.Id3Tag, genres: list[str], encoding: int | None = None) -> id3_raw.Frame:
    """A genre frame for ``tag``'s version: UTF-8 values in v2.4, one UTF-16 value joined by ``"; "`` before."""
    if tag.major == 4:
        return id3_raw.text_frame(tag, "TCON", Encoding.UTF8 if encoding is None else encoding, genres)
    return id3_raw.text_frame(tag, GENRE_FRAME[tag.major], Encoding.UTF16 if encoding is None else encoding,
                              [V23_SEPARATOR.join(genres)])


class ID3Genres:
    """Genre handler for MP3 files."""

    name = "id3"

    def read_genres(self, path: Path) -> list[str]:
        tags = _load(path, translate=False, with_v1=True)
        if tags is None or "TCON" not in tags:
            return []
        genres = tags["TCON"].genres
        if tags.version[:2] != (2, 4):
            genres = [part.strip() for genre in genres for part in genre.split(";")]
        return [genre for genre in genres if genre]

    def snapshot(self, path: Path, *, id3v23: bool = False) -> dict[str, Any]:
        """The genre frame's raw bytes, where it sits and how large the tag was, which together let undo put
        the tag back byte for byte; the whole tag when the write will convert its version."""
        with open(path, "rb") as handle:
            tag = id3_raw.read_tag(handle)
            if tag is None:
                return {"version": None, "tag_size": 0, "index": 0, "frame": None}
            index = _genre_index(tag)
            record: dict[str, Any] = {
                "version": tag.version, "tag_size": tag.size_on_disk, "index": index,
                "frame": _b64(tag.frames[index].raw) if index < len(tag.frames) else None,
            }
            if _converts(tag, id3v23):
                handle.seek(0)
                record["tag"] = _b64(handle.read(tag.size_on_disk))
        return record

    def matches(self, path: Path, snapshot: dict[str, Any]) -> bool:
        if "tag" in snapshot:
            with open(path, "rb") as handle:
                tag = id3_raw.read_tag(handle)
                handle.seek(0)
                return tag is not None and handle.read(tag.size_on_disk) == base64.b64decode(snapshot["tag"])
        return self.snapshot(path) == snapshot

    def kept(self, path: Path, *, id3v23: bool = False) -> dict[str, str]:
        """A digest of every frame but the genre (as v2.3 frames where the write converts, else raw) and of
        everything after the tag: what a write must leave as it was."""
        with open(path, "rb") as handle:
            tag = id3_raw.read_tag(handle)
            handle.seek(tag.size_on_disk if tag else 0)
            parts = {"audio and trailing tags": stream_digest(handle)}
        if id3v23:
            tags = _load(path, translate=True)
            if tags is not None:
                tags.update_to_v23()
                parts.update((f"frame {key}", _frame_value(frame)) for key, frame in tags.items()
                             if not key.startswith("TCON"))
        elif tag is not None:
            parts.update((f"frame {frame.frame_id} #{index}", digest(frame.raw))
                         for index, frame in enumerate(_without_genre(tag)))
        return parts

    def write(self, path: Path, genres: list[str], *, id3v23: bool = False) -> None:
        tag = _raw_tag(path)
        if _converts(tag, id3v23):
            _convert_to_v23(path, genres)
            return
        if tag is None:
            tag = id3_raw.new_tag(3 if id3v23 else 4)
        frames = _with_frame(_without_genre(tag), _genre_index(tag), _genre_frame(tag, genres))
        _replace_tag(path, tag.size_on_disk, id3_raw.fitted(tag, frames, tag.size_on_disk))

    def restore(self, path: Path, snapshot: dict[str, Any]) -> None:
        """Put the snapshot's genre frame back where it was and the tag back to its old size; a tag we created
        goes again once it holds nothing else."""
        tag = _raw_tag(path)
        size_now = tag.size_on_disk if tag else 0
        if "tag" in snapshot:  # the write converted the tag's version: put the original back whole
            _replace_tag(path, size_now, base64.b64decode(snapshot["tag"]))
            return
        version = snapshot["version"]
        if tag is None:
            if not _snapshot_has_genre(snapshot):
                return
            tag = id3_raw.new_tag(version[1] if version else 4)
        if version is not None and version[1] != tag.major:
            raise TagError(f"the tag is ID3v2.{tag.major} now, not v2.{version[1]} as when it was written; "
                           "its old genre cannot be put back exactly")
        others = _without_genre(tag)
        if version is None and not others:  # the file had no tag before we wrote one
            _replace_tag(path, size_now, b"")
            return
        index = min(snapshot.get("index", _genre_index(tag)), len(others))
        frames = _with_frame(others, index, _snapshot_frame(tag, snapshot))
        _replace_tag(path, size_now, id3_raw.fitted(tag, frames, snapshot.get("tag_size") or size_now))


def _replace_tag(path: Path, size_now: int, data: bytes) -> None:
    """Put ``data`` where the file's first ``size_now`` bytes (its tag, or nothing) are."""
    with open(path, "r+b") as handle:
        replace_range(handle, 0, size_now, data)


def _snapshot_has_genre(snapshot: dict[str, Any]) -> bool:
    return snapshot.get("frame", snapshot.get("TCON")) is not None


def _snapshot_frame(tag: id3_raw.Id3Tag, snapshot: dict[str, Any]) -> id3_raw.Frame | None:
    """The genre frame a snapshot recorded: raw bytes, or (journals written before raw snapshots) its
    encoding and text, rendered for the tag."""
    if "frame" in snapshot:
        raw = snapshot["frame"]
        return None if raw is None else id3_raw.Frame(GENRE_FRAME[tag.major], base64.b64decode(raw))
    legacy = snapshot["TCON"]
    return None if legacy is None else _genre_frame(tag, legacy["text"], int(legacy["encoding"]))


def _convert_to_v23(path: Path, genres: list[str]) -> None:
    """Save the tag as v2.3 with the new genre, where that loses no frame; else refuse, naming the frames."""
    tags = _load(path, translate=True)
    raw = _raw_tag(path)
    if tags is None or raw is None:
        raise TagError("the ID3 tag vanished while it was being read")
    lost = _lost_in_v23(tags, len(raw.frames))
    if lost:
        raise TagError(f"ID3v2.3 has no place for the frame(s) {', '.join(lost)}; the ID3v2.{raw.major} tag "
                       "is left as it was (run without --id3v23 to tag it in its own version)")
    tags.update_to_v23()
    tags.setall("TCON", [TCON(encoding=Encoding.UTF16, text=[V23_SEPARATOR.join(genres)])])
    v1_tag = _id3v1_bytes(path)
    try:
        tags.save(str(path), v1=UPDATE_EXISTING_V1, v2_version=3, v23_sep=V23_SEPARATOR)
    except (MutagenError, ValueError, UnicodeError) as error:
        raise TagError(f"cannot write ID3 tag: {error}") from error
    if v1_tag is not None:  # mutagen rebuilds v1 from v2; the file's own v1 tag goes back byte for byte
        with open(path, "r+b") as handle:
            handle.seek(-ID3V1_SIZE, os.SEEK_END)
            handle.write(v1_tag)


def _lost_in_v23(tags: ID3, raw_frames: int) -> list[str]:
    """The frames (by id) that converting ``tags`` to v2.3 would drop or cut short."""
    if tags.unknown_frames or len(tags.values()) < raw_frames:
        return ["(frames that cannot be parsed)"]
    before = {frame.FrameID: frame for frame in tags.values()}
    converted = ID3()
    converted.update(tags)
    converted.update_to_v23()
    dropped = set(before) - {frame.FrameID for frame in converted.values()}
    return sorted(frame_id for frame_id in dropped if not _translates_exactly(frame_id, before))


def _translates_exactly(frame_id: str, frames: dict[str, Any]) -> bool:
    """Whether v2.3 holds this v2.4 frame's value whole: a date (no seconds, no month without its day) as
    TYER, TDAT and TIME; an original-release year as TORY; the involved people as IPLS. Musician credits,
    sort orders, moods and the other v2.4-only frames have no v2.3 home."""
    stamps = getattr(frames[frame_id], "text", [])
    if frame_id == "TDRC":
        stamp = stamps[0] if len(stamps) == 1 else None
        return stamp is not None and stamp.second is None and (stamp.month is None or stamp.day is not None) \
            and (stamp.hour is None or stamp.minute is not None)
    if frame_id == "TDOR":
        return len(stamps) == 1 and stamps[0].month is None
    return frame_id == "TIPL" and "TMCL" not in frames


def _frame_value(frame: Any) -> str:
    """A frame's value without its text encoding, which a conversion to v2.3 may change (UTF-8 is v2.4's)."""
    return digest(repr(sorted((name, value) for name, value in vars(frame).items() if name != "encoding")))


def _id3v1_bytes(path: Path) -> bytes | None:
    with open(path, "rb") as handle:
        return id3v1_tag(handle)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
