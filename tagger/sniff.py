"""What a file is, from its bytes rather than its name, and where its audio lies.

A tag written by the wrong handler ruins a file: an ID3 tag glued in front of an Ogg stream named
``.mp3`` made it unreadable. So the container is decided by magic bytes (``sniff``) and a scan refuses a
file whose content disagrees with its suffix. ``audio_fingerprint`` hashes samples of the audio payload
only, never the tags, so it says "same recording" across tag edits and "another song" when a file was
replaced; the journal records it and undo checks it.

Each container's knowledge (how its first bytes are recognised, where its audio lies between its tags) is
one ``Container`` entry of ``CONTAINERS``; ``tagger.formats`` names the container each format must hold.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from tagger import chunks

if TYPE_CHECKING:  # an object in storage reads like a local file (tagger.remote)
    from tagger.remote import AudioPath

ID3V2_HEADER, ID3V1_SIZE, APE_FOOTER = 10, 128, 32
APE_PREAMBLE, APE_HAS_HEADER = b"APETAGEX", 0x80000000
ASF_HEADER_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
ASF_DATA_GUID = bytes.fromhex("3626b2758e66cf11a6d900aa0062ce6c")
SAMPLE_BYTES = 64 * 1024
MAGIC_BYTES = 64  # enough for every container's magic; an MP3's first frame may need SAMPLE_BYTES
OGG_PAGES_HASHED = 8  # the last pages' payloads: page headers are renumbered when the comment packet grows
OGG_TAIL_BYTES = 512 * 1024

def syncsafe(data: bytes) -> int:
    """An ID3v2 syncsafe integer: 7 bits per byte."""
    value = 0
    for byte in data:
        value = (value << 7) | (byte & 0x7F)
    return value


def id3v2_end(head: bytes) -> int:
    """Where the audio starts after an ID3v2 tag at the start of ``head`` (its footer included); 0 without."""
    if len(head) < ID3V2_HEADER or head[:3] != b"ID3" or head[3] > 4:
        return 0
    footer = ID3V2_HEADER if head[3] == 4 and head[5] & 0x10 else 0
    return ID3V2_HEADER + syncsafe(head[6:10]) + footer


def _is_mpeg_frame(header: bytes) -> bool:
    """An MPEG audio frame header: sync, a valid version and layer, a bitrate and rate that are not reserved."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return False
    version, layer = (header[1] >> 3) & 3, (header[1] >> 1) & 3
    bitrate, rate = header[2] >> 4, (header[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate != 15 and rate != 3


def _is_adts_frame(header: bytes) -> bool:
    """An AAC frame of an ADTS stream (a ``.aac`` file): sync, layer 0, a sampling rate index in use."""
    return len(header) >= 4 and header[0] == 0xFF and header[1] & 0xF6 == 0xF0 and (header[2] >> 2) & 0xF < 13


def sniff(path: AudioPath) -> Container | None:
    """The container of ``path`` by its content, or None when it is none we know. A leading ID3v2 tag is
    looked past (FLAC files sometimes carry one); the first container of ``CONTAINERS`` that recognises
    what follows wins."""
    with path.open("rb") as handle:
        start = id3v2_end(handle.read(ID3V2_HEADER))
        handle.seek(start)
        data = handle.read(MAGIC_BYTES)
        found = _recognising(data)
        if found is None:  # padding or junk before the first MPEG frame: a longer look
            found = _recognising(data + handle.read(SAMPLE_BYTES - len(data)))
    return found


def _recognising(data: bytes) -> Container | None:
    return next((container for container in CONTAINERS if container.recognises(data)), None)


def id3v1_tag(handle: BinaryIO) -> bytes | None:
    """The 128-byte ID3v1 tag at the end of the open file, or None."""
    if handle.seek(0, os.SEEK_END) < ID3V1_SIZE:
        return None
    handle.seek(-ID3V1_SIZE, os.SEEK_END)
    tail = handle.read(ID3V1_SIZE)
    return tail if tail[:3] == b"TAG" else None


@dataclass(frozen=True)
class ApeFooter:
    """The footer of an APEv2 tag: its size (items and footer), item count and flags, and its raw bytes."""

    size: int
    count: int
    flags: int
    raw: bytes

    @property
    def tag_bytes(self) -> int:
        """The whole tag's length on disk: items, footer, and the header where the flags say it has one."""
        return self.size + (APE_FOOTER if self.flags & APE_HAS_HEADER else 0)


def ape_footer(handle: BinaryIO, end: int) -> ApeFooter | None:
    """The APEv2 footer that ends at ``end`` of the open file, or None."""
    handle.seek(max(0, end - APE_FOOTER))
    raw = handle.read(APE_FOOTER)
    if len(raw) < APE_FOOTER or raw[:8] != APE_PREAMBLE:
        return None
    size, count, flags = (int.from_bytes(raw[at : at + 4], "little") for at in (12, 16, 20))
    return ApeFooter(size, count, flags, raw)


def _trailing_tags(handle: BinaryIO, end: int) -> int:
    """Where the audio ends before an ID3v1 tag and an APEv2 tag at the end of a file of size ``end``."""
    if id3v1_tag(handle) is not None:
        end -= ID3V1_SIZE
    footer = ape_footer(handle, end)
    return max(0, end - footer.tag_bytes if footer else end)


def _asf_object(handle: BinaryIO, size: int, wanted: bytes) -> tuple[int, int] | None:
    """The content span of the first top-level ASF object whose GUID is ``wanted``."""
    position = 0
    while position + 24 <= size:
        handle.seek(position)
        header = handle.read(24)
        name, length = header[:16], int.from_bytes(header[16:24], "little")
        if name == wanted:
            return position + 24, min(size, position + length)
        if length < 24:
            return None
        position += length
    return None


def audio_span(path: AudioPath, container: Container | None) -> tuple[int, int]:
    """The byte range of ``path`` that holds its audio and no tags (the whole file where we cannot tell)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        start = id3v2_end(handle.read(ID3V2_HEADER))
        span = container.audio_span(handle, start, size) if container else None
    return span or (0, size)


def _between_tags(handle: BinaryIO, start: int, size: int) -> tuple[int, int]:
    """After a leading ID3v2 tag, before an ID3v1 and an APEv2 tag at the end: MP3 and the APEv2 family."""
    return start, max(start, _trailing_tags(handle, size))


def _flac_span(handle: BinaryIO, start: int, size: int) -> tuple[int, int]:
    start = _flac_audio_start(handle, start)
    return start, max(start, _trailing_tags(handle, size))


def _whole_file(handle: BinaryIO, start: int, size: int) -> None:
    return None


def _mp4_span(handle: BinaryIO, start: int, size: int) -> tuple[int, int] | None:
    box = chunks.mp4_box(handle, 0, size, b"mdat")
    return (box.data, box.data + box.size) if box else None


def _flac_audio_start(handle: BinaryIO, start: int) -> int:
    """The first byte after the metadata blocks of the FLAC stream at ``start``."""
    blocks, _ = chunks.flac_blocks(handle, start)
    return blocks[-1].end if blocks else start + len(chunks.FLAC_MARKER)


def _ogg_payloads(path: AudioPath) -> bytes:
    """The payloads of the last Ogg audio pages, without their page headers (sequence numbers and checksums
    change when a tag edit adds a header page; the audio they carry does not)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(max(0, size - OGG_TAIL_BYTES))
        tail = handle.read()
    payloads, position = [], tail.find(b"OggS")
    while position >= 0 and position + 27 <= len(tail):
        segments = tail[position + 26]
        table = tail[position + 27 : position + 27 + segments]
        start = position + 27 + segments
        end = start + sum(table)
        if tail[position : position + 4] != b"OggS" or end > len(tail):
            break
        if tail[position + 6 : position + 14] not in (bytes(8), b"\xff" * 8):  # granule 0 or none: headers
            payloads.append(tail[start:end])
        position = end
    return b"".join(payloads[-OGG_PAGES_HASHED:])


OGG_SERIAL = slice(14, 18)  # a page header's stream serial number
OGG_TAIL_SEARCH = 64 * 1024


def ogg_is_chained(path: AudioPath) -> bool:
    """Whether the Ogg file's last page belongs to another logical stream than its first (streams chained
    one after another: a recorded radio stream, concatenated tracks). libsndfile reads only the first."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        first = handle.read(27)
        handle.seek(max(0, size - OGG_TAIL_SEARCH))
        tail = handle.read()
    last = tail.rfind(b"OggS")
    if first[:4] != b"OggS" or last < 0 or last + 27 > len(tail):
        return False
    return tail[last:][OGG_SERIAL] != first[OGG_SERIAL]


def audio_fingerprint(path: AudioPath) -> str:
    """A hash of the audio alone, sampled (length, and 64 KiB at its start, middle and end): the same after
    any tag edit, different for another recording. Reads at most 192 KiB (512 KiB for Ogg)."""
    container = sniff(path)
    digest = hashlib.sha256((container.name if container else "").encode())
    if container is not None and container.pages_renumbered:
        digest.update(_ogg_payloads(path))
        return digest.hexdigest()[:32]
    start, end = audio_span(path, container)
    digest.update(str(end - start).encode())
    with path.open("rb") as handle:
        add_samples(digest, handle, start, end)
    return digest.hexdigest()[:32]


def add_samples(digest: Any, handle: BinaryIO, start: int, end: int) -> None:
    """Feed ``digest`` the 64 KiB at the start, middle and end of bytes [start, end) of the open file
    (fewer, without overlap, where the range is short): a content identity read in at most 192 KiB."""
    for offset in sorted({start, max(start, (start + end - SAMPLE_BYTES) // 2), max(start, end - SAMPLE_BYTES)}):
        handle.seek(offset)
        digest.update(handle.read(min(SAMPLE_BYTES, end - offset)))


def _starts_with(magic: bytes, at: int = 0) -> Callable[[bytes], bool]:
    return lambda data: data[at : at + len(magic)] == magic


def _is_mp3(data: bytes) -> bool:
    """An MPEG frame where the audio starts, or after padding or junk (after a tag, or at the start)."""
    return any(_is_mpeg_frame(data[index : index + 4]) for index in range(max(0, len(data) - 3)))


@dataclass(frozen=True)
class Container:
    """One container: how its first bytes (after any leading ID3v2 tag) are recognised, and where its
    audio lies between its tags (``audio_span(handle, after_id3v2, size)``; None: the whole file).
    ``pages_renumbered``: a tag edit changes bytes all through the stream (Ogg's page headers), so its
    fingerprint hashes the audio pages' payloads instead."""

    name: str
    recognises: Callable[[bytes], bool]
    audio_span: Callable[[BinaryIO, int, int], tuple[int, int] | None] = _whole_file
    pages_renumbered: bool = False

    def __str__(self) -> str:
        return self.name


FLAC = Container("FLAC", _starts_with(chunks.FLAC_MARKER), _flac_span)
OGG = Container("Ogg", _starts_with(b"OggS"), pages_renumbered=True)
APE = Container("Monkey's Audio", _starts_with(b"MAC "), _between_tags)
WAVPACK = Container("WavPack", _starts_with(b"wvpk"), _between_tags)
MUSEPACK = Container("Musepack", lambda data: data[:4] == b"MPCK" or data[:3] == b"MP+", _between_tags)
ASF = Container("ASF", _starts_with(ASF_HEADER_GUID), lambda handle, start, size: _asf_object(handle, size,
                                                                                               ASF_DATA_GUID))
MP4 = Container("MP4", _starts_with(b"ftyp", at=4), _mp4_span)
DSF = Container("DSF", _starts_with(chunks.DSF_MAGIC), lambda handle, start, size: chunks.dsf_audio_span(handle))
TTA = Container("TTA", _starts_with(b"TTA1"))
WAV = Container("WAV", lambda data: data[:4] == b"RIFF" and data[8:12] == b"WAVE",
                lambda handle, start, size: chunks.iff_audio_span(handle, "little"))
AIFF = Container("AIFF", lambda data: data[:4] == b"FORM" and data[8:12] in (b"AIFF", b"AIFC"),
                 lambda handle, start, size: chunks.iff_audio_span(handle, "big"))
ADTS = Container("AAC (ADTS)", lambda data: _is_adts_frame(data[:4]))
MP3 = Container("MP3", _is_mp3, _between_tags)
# In the order they are tried: magic bytes first; ADTS's and MP3's frame syncs, the loosest tests, last.
CONTAINERS: tuple[Container, ...] = (FLAC, OGG, APE, WAVPACK, MUSEPACK, ASF, MP4, DSF, TTA, WAV, AIFF, ADTS, MP3)
