"""ID3v2 genres (MP3, AIFF, DSF): the TCON frame (TCO in v2.2), every other byte of the tag kept.

A genre edit replaces that one frame in the raw tag (``id3_raw``) and lets the padding absorb the change
in size; the tag keeps its version, its other frames byte for byte, its footer, and an ID3v1 tag at the
end is never touched. Where the tag lives (an MP3's first bytes, an AIFF chunk, the end of a DSF file) is
its ``TagHolder``'s business. v2.4 stores several genres as NUL-separated values; v2.2 and v2.3 hold one
value, so genres are joined by ``"; "``. A file with no tag gets a v2.4 tag.

``--id3v23`` converts a v2.4 or v2.2 tag to v2.3 only where the conversion loses nothing, and names the
frames that v2.3 has no place for otherwise. Undoing a conversion puts the whole original tag back, so the
journal keeps it whole.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any, BinaryIO

from mutagen import MutagenError
from mutagen.id3 import ID3, TCON, Encoding, ID3NoHeaderError

from tagger.genres import split_values
from tagger.sniff import id3v1_tag
from tagger.tags import id3_raw
from tagger.tags.base import TagError, digest
from tagger.tags.id3_holder import DsfMetadata, FileStart, IffChunk, Region, TagHolder

V23_SEPARATOR = "; "
# What v2.2 and v2.3 values are found joined with: ours, and mutagen's (so Picard's and beets') "/".
V23_JOINERS = (V23_SEPARATOR, "/")
GENRE_FRAME = {2: "TCO", 3: "TCON", 4: "TCON"}
GENRE_FRAMES = "frames"  # a snapshot's genre frames, every one: [index in the tag, base64 of its raw bytes]
VALUES = "values"  # and their values, for an undo into a tag that another program has re-saved since
WHOLE_TAG = "tag"  # a snapshot's copy of the whole tag, kept where the write converts its version
NO_PLACE = "no_place"  # a snapshot's mark: the file had no place for a tag (undo removes the one made)
Frames = tuple[id3_raw.Frame, ...]


def _converts(tag: id3_raw.Id3Tag | None, to_v23: bool) -> bool:
    """Whether writing with ``to_v23`` turns this tag into another version (a new tag is simply made v2.3)."""
    return to_v23 and tag is not None and tag.major != 3


def _genre_indices(tag: id3_raw.Id3Tag) -> list[int]:
    """Where the genre frames are: usually one, but some taggers write a frame per genre."""
    genre_id = GENRE_FRAME[tag.major]
    return [index for index, frame in enumerate(tag.frames) if frame.frame_id == genre_id]


def _genre_index(tag: id3_raw.Id3Tag) -> int:
    """Where a new genre frame goes: at the first one, or at the end of a tag without one."""
    return next(iter(_genre_indices(tag)), len(tag.frames))


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
    """Genre handler for the files whose tag is ID3v2, wherever ``holder`` says the container keeps it.
    ``name`` is what the journal records, so each container's handler has its own. ``to_v23``: writes make
    the tag v2.3 (``--id3v23``); otherwise each tag keeps its version."""

    def __init__(self, name: str, holder: TagHolder, to_v23: bool = False) -> None:
        self.name, self.holder, self.to_v23 = name, holder, to_v23

    def converting_to_v23(self) -> ID3Genres:
        """This handler for a run whose writes make every tag v2.3."""
        return ID3Genres(self.name, self.holder, to_v23=True)

    def undoing(self, snapshot: dict[str, Any]) -> ID3Genres:
        """Undoing a conversion (the snapshot then holds the whole tag) converts back, and is checked the way
        the conversion was."""
        return ID3Genres(self.name, self.holder, to_v23=WHOLE_TAG in snapshot)

    def holds(self, read: list[str], written: list[str]) -> bool:
        """Compared after splitting on what v2.2 and v2.3 values are joined with: a value joined by
        ``--separator "; "`` reads back from a v2.3 tag as separate genres, and a tag another program
        re-saved as v2.3 joins them with "/"; either way it still holds what was written."""
        return _split_on_joiners(read) == _split_on_joiners(written)

    def read_genres(self, path: Path) -> list[str]:
        """The genres as mutagen parses them, checked against the raw frames the writer would replace: a
        genre frame that mutagen cannot parse is an error, never "no genre" that fill-empty would overwrite."""
        with open(path, "rb") as handle:
            region, raw = self._located(handle)
            tags = self._load(handle, region, translate=False, with_v1=True)
        if (tags is None or "TCON" not in tags) and raw is not None and _genre_indices(raw):
            raise TagError("the tag's genre frame cannot be parsed; its genres are left as they are")
        if tags is None or "TCON" not in tags:
            return []
        genres = tags["TCON"].genres
        if tags.version[:2] != (2, 4):
            genres = [part.strip() for genre in genres for part in genre.split(";")]
        return [genre for genre in genres if genre]

    def snapshot(self, path: Path) -> dict[str, Any]:
        """Every genre frame's raw bytes and where it sits, and how large the tag was, which together let
        undo put the tag back byte for byte; their values, for an undo into a tag re-saved in another
        version since; the whole tag when the write will convert its version. A file with no place for a
        tag yet (no ID3 chunk) says so, and undo takes the place out again."""
        with open(path, "rb") as handle:
            region, tag = self._located(handle)
            if tag is None:
                record: dict[str, Any] = {"version": None, "tag_size": 0, GENRE_FRAMES: [], VALUES: []}
                return record if region is not None else {**record, NO_PLACE: True}
            whole = _region_bytes(handle, region)
            record = {"version": tag.version, "tag_size": tag.size_on_disk,
                      GENRE_FRAMES: [[index, _b64(tag.frames[index].raw)] for index in _genre_indices(tag)],
                      VALUES: _genre_values(whole)}
            if _converts(tag, self.to_v23):
                record[WHOLE_TAG] = _b64(whole)
        return record

    def matches(self, path: Path, snapshot: dict[str, Any]) -> bool:
        if WHOLE_TAG in snapshot:
            with open(path, "rb") as handle:
                return _region_bytes(handle, self.holder.find(handle)) == base64.b64decode(snapshot[WHOLE_TAG])
        return self.snapshot(path) == snapshot

    def kept(self, path: Path) -> dict[str, str]:
        """A digest of every frame but the genre (as v2.3 frames where the write converts, else raw) and of
        every byte outside the tag: what a write must leave as it was."""
        with open(path, "rb") as handle:
            region, tag = self._located(handle)
            parts = self.holder.kept(handle, region)
            tags = self._load(handle, region, translate=True) if self.to_v23 else None
        if tags is not None:
            tags.update_to_v23()
            parts.update((f"frame {key}", _frame_value(frame)) for key, frame in tags.items()
                         if not key.startswith("TCON"))
        elif tag is not None and not self.to_v23:
            parts.update((f"frame {frame.frame_id} #{index}", digest(frame.raw))
                         for index, frame in enumerate(_without_genre(tag)))
        return parts

    def write(self, path: Path, genres: list[str]) -> None:
        with open(path, "r+b") as handle:
            region, tag = self._located(handle)
            if _converts(tag, self.to_v23):
                data = self._converted_to_v23(handle, region, genres)
            else:
                tag = tag or id3_raw.new_tag(3 if self.to_v23 else 4)
                frames = _with_frame(_without_genre(tag), _genre_index(tag), _genre_frame(tag, genres))
                data = id3_raw.fitted(tag, frames, tag.size_on_disk)
            self.holder.put(handle, region, data)

    def restore(self, path: Path, snapshot: dict[str, Any]) -> None:
        """Put the snapshot's genre frames back where they were and the tag back to its old size: the file's
        bytes as they were, where nothing else changed since. A tag we created goes again once it holds
        nothing else, and so does the place we made for it. Where another program changed the tag's version
        since (re-saved it, or edited a tag we converted), the genre values alone go back into the tag as it
        is now, so that its edits stay."""
        with open(path, "r+b") as handle:
            region, tag = self._located(handle)
            if WHOLE_TAG in snapshot:
                original = base64.b64decode(snapshot[WHOLE_TAG])
                if tag is not None and self._as_converted(handle, region, original):
                    self.holder.put(handle, region, original)  # nothing else changed: the original, whole
                else:
                    self._put_values(handle, region, tag, _genre_values(original))
                return
            version = snapshot["version"]
            if tag is None:
                if not snapshot[GENRE_FRAMES]:
                    return
                tag = id3_raw.new_tag(version[1] if version else 4)
            if version is not None and version[1] != tag.major:
                self._put_values(handle, region, tag, snapshot[VALUES])
                return
            others = _without_genre(tag)
            if version is None and not others:  # the file had no tag before we wrote one
                if snapshot.get(NO_PLACE) and region is not None:
                    self.holder.remove(handle, region)
                elif region is not None:
                    self.holder.put(handle, region, b"")
                return
            frames = others
            for index, raw in snapshot[GENRE_FRAMES]:  # in the order they stood, each at its old place
                frame = id3_raw.Frame(GENRE_FRAME[tag.major], base64.b64decode(raw))
                frames = _with_frame(frames, min(index, len(frames)), frame)
            size_now = region.size if region else 0
            self.holder.put(handle, region, id3_raw.fitted(tag, frames, snapshot["tag_size"] or size_now))

    def _put_values(self, handle: BinaryIO, region: Region | None, tag: id3_raw.Id3Tag | None,
                    values: list[str]) -> None:
        """The genre field alone set to ``values`` (none: no genre frame), in the tag's own version."""
        tag = tag or id3_raw.new_tag(4)
        frame = _genre_frame(tag, values) if values else None
        frames = _with_frame(_without_genre(tag), _genre_index(tag), frame)
        self.holder.put(handle, region, id3_raw.fitted(tag, frames, tag.size_on_disk))

    def _as_converted(self, handle: BinaryIO, region: Region | None, original: bytes) -> bool:
        """Whether the tag now holds every frame but the genre as converting ``original`` to v2.3 left them,
        so that nobody edited it since our ``--id3v23`` write."""
        now = self._load(handle, region, translate=False)
        converted = ID3(io.BytesIO(original), translate=True, load_v1=False)
        converted.update_to_v23()
        return now is not None and now.version[:2] == (2, 3) and _values_but_genre(now) == _values_but_genre(converted)

    def _located(self, handle: BinaryIO) -> tuple[Region | None, id3_raw.Id3Tag | None]:
        """Where the tag's place is, and the tag in it (None where the place is empty or missing)."""
        region = self.holder.find(handle)
        return region, id3_raw.read_tag(handle, region.start) if region is not None and region.size else None

    def _load(self, handle: BinaryIO, region: Region | None, translate: bool, with_v1: bool = False) -> ID3 | None:
        """The tag as mutagen reads it, or None. ``with_v1`` fills frames the v2 tag lacks from an ID3v1 tag,
        where the container can have one: right for reading the file's genres, wrong for anything written."""
        data = _region_bytes(handle, region)
        if with_v1 and self.holder.has_id3v1:
            data += id3v1_tag(handle) or b""
        if not data:
            return None
        try:
            return ID3(io.BytesIO(data), translate=translate, load_v1=with_v1)
        except ID3NoHeaderError:
            return None
        except (MutagenError, ValueError, KeyError, IndexError, UnicodeError) as error:
            raise TagError(f"unreadable ID3 tag: {error}") from error

    def _converted_to_v23(self, handle: BinaryIO, region: Region | None, genres: list[str]) -> bytes:
        """The tag as v2.3 with the new genre, where that loses no frame; else refuse, naming the frames."""
        tags = self._load(handle, region, translate=True)
        raw = id3_raw.read_tag(handle, region.start) if region is not None else None
        if tags is None or raw is None:
            raise TagError("the ID3 tag vanished while it was being read")
        lost = _lost_in_v23(tags, len(raw.frames))
        if lost:
            raise TagError(f"ID3v2.3 has no place for the frame(s) {', '.join(lost)}; the ID3v2.{raw.major} tag "
                           "is left as it was (run without --id3v23 to tag it in its own version)")
        tags.update_to_v23()
        tags.setall("TCON", [TCON(encoding=Encoding.UTF16, text=[V23_SEPARATOR.join(genres)])])
        rendered = io.BytesIO()
        try:
            tags.save(rendered, v1=0, v2_version=3, v23_sep=V23_SEPARATOR)
        except (MutagenError, ValueError, UnicodeError) as error:
            raise TagError(f"cannot write ID3 tag: {error}") from error
        return rendered.getvalue()


def _split_on_joiners(values: list[str]) -> list[str]:
    for joiner in V23_JOINERS:
        values = split_values(values, joiner)
    return values


def _region_bytes(handle: BinaryIO, region: Region | None) -> bytes:
    if region is None:
        return b""
    handle.seek(region.start)
    return handle.read(region.size)


def _genre_values(tag_bytes: bytes) -> list[str]:
    """The genre values of a whole tag as mutagen reads them (every genre frame's, in order)."""
    try:
        tags = ID3(io.BytesIO(tag_bytes), translate=False, load_v1=False)
    except (MutagenError, ValueError, KeyError, IndexError, UnicodeError) as error:
        raise TagError(f"unreadable ID3 tag: {error}") from error
    return [str(value) for value in tags["TCON"].text] if "TCON" in tags else []  # v2.2's TCO is read as TCON


def _values_but_genre(tags: ID3) -> dict[str, str]:
    return {key: _frame_value(frame) for key, frame in tags.items() if not key.startswith(("TCON", "TCO"))}


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


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


MP3_ID3 = ID3Genres("id3", FileStart())
AIFF_ID3 = ID3Genres("id3-aiff", IffChunk("big"))
DSF_ID3 = ID3Genres("id3-dsf", DsfMetadata())
