"""The genres a user's files already carry, read as a scan reads them, as labels to learn from.

The same tag handlers and the same idea of a genre as the scan: placeholders ("Other", "(12)") are none,
values joined by the user's separator are split, the settings' ``[genres]`` map and allow-list apply, and
two spellings of one genre ("Hip Hop", "hip-hop") are one label, written in the spelling the library uses
most. A genre is learned only from enough tracks (``tagger.learning.MIN_TRACKS``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tagger.formats import handler_for
from tagger.genres import own_genres, split_values
from tagger.learning import MIN_TRACKS
from tagger.tags import TagError, credits
from tagger.vocabulary import GenreVocabulary, genre_key, spellings_by_genre


@dataclass(frozen=True)
class TaggedFile:
    """One file with the genres its tags give (the user's spelling) and the group it belongs to."""

    path: Path
    genres: tuple[str, ...]
    group: str


@dataclass(frozen=True)
class Reading:
    """What reading the library's tags found."""

    tagged: list[TaggedFile]
    untagged: int  # files with no genre of their own (or a format without a genre tag)
    errors: list[tuple[Path, str]]


def _group(path: Path, grouping: str) -> str:
    if grouping == "album":
        return credits.album_group(path) or f"track:{path}"
    if grouping == "artist":
        performer = credits.artist(path)
        return f"artist:{performer.casefold()}" if performer else f"track:{path}"
    return f"track:{path}"


def read_tagged(paths: list[Path], vocabulary: GenreVocabulary, separator: str | None, grouping: str) -> Reading:
    """The files' own genres, through the scan's tag handlers and the user's vocabulary."""
    tagged, untagged, errors = [], 0, []
    for path in paths:
        handler = handler_for(path)
        try:
            genres = vocabulary.apply(own_genres(split_values(handler.read_genres(path), separator))) \
                if handler else []
            if genres:
                tagged.append(TaggedFile(path, tuple(genres), _group(path, grouping)))
            else:
                untagged += 1
        except (TagError, OSError, ValueError) as error:  # mutagen raises ValueError-derived errors on bad tags
            errors.append((path, str(error) or type(error).__name__))
    return Reading(tagged, untagged, errors)


@dataclass(frozen=True)
class Labels:
    """The genres kept, in the library's spelling, and the tracks that carry them."""

    names: list[str]
    tracks: list[TaggedFile]  # each with only its kept genres, in its own order
    dropped: dict[str, int]  # genre -> tracks, for genres with fewer than the minimum


def choose_labels(tagged: list[TaggedFile], min_tracks: int = MIN_TRACKS) -> Labels:
    """Genres carried by at least ``min_tracks`` tracks, each named in its most frequent spelling."""
    tracks_of = Counter(genre_key(genre) for file in tagged for genre in file.genres)
    spelled = spellings_by_genre(genre for file in tagged for genre in file.genres)
    kept = {key for key, count in tracks_of.items() if count >= min_tracks}
    names = sorted((spelled[key] for key in kept), key=str.casefold)
    tracks = []
    for file in tagged:
        genres = tuple(spelled[key] for key in dict.fromkeys(map(genre_key, file.genres)) if key in kept)
        if genres:
            tracks.append(TaggedFile(file.path, genres, file.group))
    dropped = {spelled[key]: count for key, count in sorted(tracks_of.items()) if key not in kept}
    return Labels(names, tracks, dropped)
