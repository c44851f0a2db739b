"""WavPack, Monkey's Audio and Musepack: genres in the APEv2 ``Genre`` item, one value per genre."""

from __future__ import annotations

import mutagen
from mutagen.monkeysaudio import MonkeysAudio
from mutagen.musepack import Musepack
from mutagen.wavpack import WavPack

from tagger.tags.listfield import ListFieldGenres


def _open(path: str) -> mutagen.FileType | None:
    return mutagen.File(path, options=[WavPack, MonkeysAudio, Musepack])


APEV2 = ListFieldGenres("apev2", "Genre", _open)
