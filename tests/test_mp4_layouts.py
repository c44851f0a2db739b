"""MP4 layouts where a tag write used to break the audio: a fragmented file (DASH: ``moof`` boxes after an
empty ``moov``), an empty ``mdat`` before ``moov`` with the audio after it, and a QuickTime-style
``moov/meta`` without ``udta``. Each is written with every byte of audio intact (the write check covers
every chunk the sample tables point at) or refused with the reason, never damaged."""

from __future__ import annotations

import hashlib

import av
import numpy as np
import pytest

from tagger import tags
from tagger.formats import handler_for
from tagger.tags import mp4_ilst
from tagger.tags.base import TagError
from tests.conftest import encode_with_pyav
from tests.tagtools import digest

RATE = 44_100


def chirp(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * (200 * t + 40 * t**2))).astype(np.float32)


def decoded(path) -> str:
    """A digest of every sample FFmpeg decodes: what "the audio is intact" means."""
    hasher = hashlib.sha256()
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.audio[0]):
            hasher.update(np.ascontiguousarray(frame.to_ndarray()).tobytes())
    return hasher.hexdigest()


def top_boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        boxes.append((data[offset + 4 : offset + 8], offset, size))
        offset += size
    return boxes


def aac(path, movflags: str | None = None, metadata: dict[str, str] | None = None):
    encode_with_pyav(path, chirp(8), RATE, "aac", "mp4", "fltp", 1024, metadata=metadata,
                     options={"movflags": movflags} if movflags else None)
    return path


@pytest.mark.parametrize("metadata", [None, {"title": "A title"}])
def test_a_fragmented_m4a_is_never_saved_by_mutagen_and_keeps_every_byte(tmp_path, metadata):
    """Without an item list, or with one that has no padding to grow into, the tag cannot be written in place."""
    song = aac(tmp_path / "dash.m4a", movflags="frag_keyframe+empty_moov+default_base_moof", metadata=metadata)
    assert b"moof" in [name for name, _, _ in top_boxes(song.read_bytes())]
    before = digest(song)
    with pytest.raises(TagError, match="fragmented MP4"):
        tags.write_genres(song, handler_for(song), ["Rock", "Jazz"])
    assert digest(song) == before


def test_an_empty_mdat_before_moov_does_not_leave_the_audio_behind(tmp_path):
    plain = aac(tmp_path / "plain.m4a", movflags="faststart", metadata={"title": "A title"})
    data = plain.read_bytes()
    names = [name for name, _, _ in top_boxes(data)]
    assert names.index(b"moov") < names.index(b"mdat")
    ftyp_end = top_boxes(data)[0][2]
    song = tmp_path / "empty mdat first.m4a"
    song.write_bytes(data[:ftyp_end] + (8).to_bytes(4, "big") + b"mdat" + data[ftyp_end:])
    with open(song, "r+b") as handle:  # the audio moved 8 bytes on: so do its offsets
        moov = next(box for box in mp4_ilst.chunks.mp4_boxes(handle, 0, len(data) + 8) if box.chunk_id == b"moov")
        for position, count, width in mp4_ilst._offset_tables(handle, moov):
            mp4_ilst._shift(handle, position, count, width, 8, 0)
    audio = decoded(song)
    assert audio == decoded(plain)
    before = digest(song)
    tags.write_genres(song, handler_for(song), ["A genre long enough to grow the item list " * 4])
    assert decoded(song) == audio and digest(song) != before


@pytest.mark.parametrize("payload", [b"", b"\x00" * 8])
def test_quicktime_meta_directly_in_moov_is_written_intact_or_refused(tmp_path, payload):
    plain = aac(tmp_path / "plain.m4a", movflags="faststart")
    data = bytearray(plain.read_bytes())
    _, moov_at, moov_size = next(box for box in top_boxes(bytes(data)) if box[0] == b"moov")
    meta = (12 + len(payload)).to_bytes(4, "big") + b"meta" + bytes(4) + payload  # QuickTime: no udta
    data[moov_at : moov_at + 4] = (moov_size + len(meta)).to_bytes(4, "big")
    data[moov_at + moov_size : moov_at + moov_size] = meta
    song = tmp_path / "quicktime meta.m4a"
    song.write_bytes(bytes(data))
    with open(song, "r+b") as handle:
        moov = next(box for box in mp4_ilst.chunks.mp4_boxes(handle, 0, len(data)) if box.chunk_id == b"moov")
        for position, count, width in mp4_ilst._offset_tables(handle, moov):
            mp4_ilst._shift(handle, position, count, width, len(meta), moov_at + moov_size)
    audio = decoded(song)
    before = digest(song)
    try:
        tags.write_genres(song, handler_for(song), ["Rock"])
    except TagError:
        assert digest(song) == before
        return
    assert decoded(song) == audio
    assert handler_for(song).read_genres(song) == ["Rock"]


def test_the_write_check_sees_audio_that_moved_without_its_offsets(tmp_path):
    song = aac(tmp_path / "song.m4a", movflags="faststart", metadata={"title": "A title"})
    with open(song, "rb") as handle:
        before = mp4_ilst.media_digest(handle)
    with open(song, "r+b") as handle:  # offsets off by one byte: the sampled fingerprint cannot tell
        moov = next(box for box in mp4_ilst.chunks.mp4_boxes(handle, 0, song.stat().st_size)
                    if box.chunk_id == b"moov")
        for position, count, width in mp4_ilst._offset_tables(handle, moov):
            mp4_ilst._shift(handle, position, count, width, -1, 0)
    with open(song, "rb") as handle:
        assert mp4_ilst.media_digest(handle) != before
