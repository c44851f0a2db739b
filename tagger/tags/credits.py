"""Who made a recording and on which album, from any kind of tag: what keeps one album or one artist on
one side of a split (the trainer's artist-grouped splits, `tagger learn`'s album-grouped folds)."""

from __future__ import annotations

from pathlib import Path

# Each field in every kind of tag: Vorbis comments and APEv2 (names without case), ID3, MP4, ASF.
ARTIST_FIELDS = ("artist", "TPE1", "\xa9ART", "Author")
ALBUM_ARTIST_FIELDS = ("albumartist", "album artist", "TPE2", "aART", "WM/AlbumArtist")
ALBUM_FIELDS = ("album", "TALB", "\xa9alb", "WM/AlbumTitle")


def first_value(tags, fields: tuple[str, ...]) -> str:
    """The first value of the first of ``fields`` that the tags (mutagen's) hold, or ""."""
    field = next((key for key in fields if tags is not None and _holds(tags, key)), None)
    if field is None:
        return ""
    value = tags[field]
    values = getattr(value, "text", value)  # an ID3 frame holds its values in .text
    first = values[0] if isinstance(values, list) and values else values
    return str(first).split("\x00")[0].strip() if values else ""


def _holds(tags, key: str) -> bool:
    """Whether ``tags`` has ``key``; Vorbis comments refuse, with ValueError, names that are not theirs."""
    try:
        return key in tags
    except ValueError:
        return False


def read_tags(path: Path):
    """The file's tags as mutagen reads them, or None (also where they cannot be read: credits only help
    to group tracks, and a track without them is its own group)."""
    import mutagen

    try:
        audio = mutagen.File(str(path))
    except (mutagen.MutagenError, OSError, ValueError):
        return None
    return audio.tags if audio is not None else None


def artist(path: Path) -> str:
    """The file's first artist, whatever its kind of tag."""
    return first_value(read_tags(path), ARTIST_FIELDS)


def album_group(path: Path) -> str:
    """A name shared by the tracks of one album (its album artist, else artist, with its title), else by
    one artist's tracks, else "" where the tags name neither."""
    tags = read_tags(path)
    performer = first_value(tags, ALBUM_ARTIST_FIELDS) or first_value(tags, ARTIST_FIELDS)
    album = first_value(tags, ALBUM_FIELDS)
    if album:
        return f"album:{performer.casefold()}/{album.casefold()}"
    return f"artist:{performer.casefold()}" if performer else ""
