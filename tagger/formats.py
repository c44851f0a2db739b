"""The one registry of audio formats: which files a scan looks at, whether their audio can be decoded,
and which tag handler reads and writes their genres.

Everything that needs to know about formats (discovery, analysis, writing, undo, the trainer's dataset
sources, the tests) asks here, so adding a format is one entry in ``FORMATS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tagger import sniff
from tagger.tags.apev2 import APEV2
from tagger.tags.asf import ASF_TAGS
from tagger.tags.base import GenreTags
from tagger.tags.id3 import AIFF_ID3, DSF_ID3, MP3_ID3, ID3Genres
from tagger.tags.mp4 import MP4_TAGS
from tagger.tags.vorbis import FLAC_VORBIS, OGG_VORBIS

if TYPE_CHECKING:  # an object in storage reads like a local file (tagger.remote)
    from tagger.remote import AudioPath

# Decoders (tagger.decoders): libsndfile seeks sample-accurately and is the faster where it can read a format;
# FFmpeg, through PyAV, reads the rest.
LIBSNDFILE, FFMPEG = "libsndfile", "ffmpeg"


@dataclass(frozen=True)
class AudioFormat:
    """One container family: its file suffixes, the container its content must sniff as (a
    ``tagger.sniff.Container``: its magic and where its audio lies), its genre tag handler, and which
    decoder reads its audio."""

    name: str
    suffixes: frozenset[str]
    container: sniff.Container
    tags: GenreTags | None  # None: no genre field we write (WAV; ADTS has none; TTA's we leave alone)
    decoder: str = LIBSNDFILE
    # For an object in storage, where ``decoder``'s exact seek reads the whole stream up to the window
    # (libmpg123 walks every MP3 frame before it): FFmpeg seeks by the stream's own table of contents.
    decoder_in_storage: str | None = None


FORMATS: tuple[AudioFormat, ...] = (
    AudioFormat("MP3", frozenset({".mp3"}), sniff.MP3, MP3_ID3, decoder_in_storage=FFMPEG),
    AudioFormat("FLAC", frozenset({".flac"}), sniff.FLAC, FLAC_VORBIS),
    AudioFormat("Ogg", frozenset({".ogg", ".oga", ".opus", ".spx"}), sniff.OGG, OGG_VORBIS),
    AudioFormat("WAV", frozenset({".wav"}), sniff.WAV, None),
    AudioFormat("AIFF", frozenset({".aiff", ".aif", ".aifc"}), sniff.AIFF, AIFF_ID3),
    AudioFormat("MP4", frozenset({".m4a", ".m4b", ".m4p", ".m4r", ".mp4"}), sniff.MP4, MP4_TAGS, decoder=FFMPEG),
    AudioFormat("AAC (ADTS)", frozenset({".aac"}), sniff.ADTS, None, decoder=FFMPEG),
    AudioFormat("TTA", frozenset({".tta"}), sniff.TTA, None, decoder=FFMPEG),
    AudioFormat("WMA", frozenset({".wma", ".asf"}), sniff.ASF, ASF_TAGS, decoder=FFMPEG),
    AudioFormat("WavPack", frozenset({".wv"}), sniff.WAVPACK, APEV2, decoder=FFMPEG),
    AudioFormat("Monkey's Audio", frozenset({".ape"}), sniff.APE, APEV2, decoder=FFMPEG),
    AudioFormat("Musepack", frozenset({".mpc"}), sniff.MUSEPACK, APEV2, decoder=FFMPEG),
    AudioFormat("DSF", frozenset({".dsf"}), sniff.DSF, DSF_ID3, decoder=FFMPEG),
)

_BY_SUFFIX = {suffix: audio_format for audio_format in FORMATS for suffix in audio_format.suffixes}
HANDLERS_BY_NAME = {audio_format.tags.name: audio_format.tags for audio_format in FORMATS if audio_format.tags}


def format_for(path: AudioPath) -> AudioFormat | None:
    """The registered format of ``path`` by its suffix, or None when it is not an audio file we know."""
    return _BY_SUFFIX.get(path.suffix.lower())


def decoder_for(path: AudioPath) -> str:
    """Which decoder reads ``path``: its format's, or its format's for objects in storage where it has one
    (libsndfile, which knows more variants than FFmpeg guesses at, for a name we do not know)."""
    audio_format = format_for(path)
    if audio_format is None:
        return LIBSNDFILE
    if audio_format.decoder_in_storage and not isinstance(path, Path):
        return audio_format.decoder_in_storage
    return audio_format.decoder


def handler_for(path: Path) -> GenreTags | None:
    """The genre tag handler for ``path`` (each tag written in its own version), or None where the format
    has no genre tag or is unknown."""
    audio_format = format_for(path)
    return audio_format.tags if audio_format else None


@dataclass(frozen=True)
class TagHandlers:
    """The tag handlers of one run, built for its choices (``--id3v23``: ID3 tags are written as v2.3)."""

    id3v23: bool = False

    def handler_for(self, path: Path) -> GenreTags | None:
        handler = handler_for(path)
        return handler.converting_to_v23() if self.id3v23 and isinstance(handler, ID3Genres) else handler


def is_audio_file(path: Path) -> bool:
    """True for a name a scan or a training set should consider (macOS ``._`` resource forks are not)."""
    return not path.name.startswith("._") and format_for(path) is not None


@dataclass(frozen=True)
class ContentMismatch:
    """A file whose content is not what its name says: its tags must not be written (an Ogg stream named
    ``.mp3`` would get an ID3 tag glued in front and be ruined)."""

    reason: str
    recognised: bool  # its content is audio we know; otherwise it may as well be a damaged file of its kind


def content_mismatch(path: Path) -> ContentMismatch | None:
    """How the content of ``path`` disagrees with its name, or None when they agree."""
    audio_format = format_for(path)
    if audio_format is None:
        return None
    try:
        found = sniff.sniff(path)
    except OSError as error:
        return ContentMismatch(f"cannot read it: {error.strerror}", recognised=False)
    if found == audio_format.container:
        return None
    what = f"{found} audio" if found else "no audio format we know"
    return ContentMismatch(f"its content is {what}, not {audio_format.container} as its name says; its tags are "
                           "left alone", recognised=found is not None)
