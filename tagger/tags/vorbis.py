"""FLAC, Ogg Vorbis, Ogg Opus and Ogg FLAC: one ``GENRE`` Vorbis comment per genre."""

from __future__ import annotations

import mutagen
from mutagen.flac import FLAC
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from tagger.tags.listfield import ListFieldGenres


def _open(path: str) -> mutagen.FileType | None:
    return mutagen.File(path, options=[FLAC, OggVorbis, OggOpus, OggFLAC])


VORBIS = ListFieldGenres("vorbis", "GENRE", _open)
