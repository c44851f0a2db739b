"""Objects in storage read by byte ranges (tagger.remote), here through pyarrow's local filesystem, which is
read exactly as S3 is: the bytes handed out are the object's, each block is fetched once, and a track costs
its windows' bytes, not its whole size, in every format (an MP3 too, placed by its table of contents)."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from tagger.audio import read_windows, window_starts
from tagger.decoders import SndfileSource
from tagger.sniff import audio_fingerprint
from tests.conftest import tone, write_audio

fs = pytest.importorskip("pyarrow.fs")
RATE = 22_050  # the fixtures' rate

from tagger.remote import READ_AHEAD_BYTES, RemoteFile  # noqa: E402  (pyarrow is the cluster extra's)


def remote(path) -> RemoteFile:
    return RemoteFile(fs.LocalFileSystem(), str(path), f"file://{path}")


def test_any_read_gives_the_objects_own_bytes_and_fetches_each_block_once(tmp_path):
    data = np.random.default_rng(0).bytes(1_000_003)
    path = tmp_path / "object.bin"
    path.write_bytes(data)
    source = remote(path)
    rng = random.Random(0)
    with source.open("rb") as handle:
        for _ in range(300):
            offset, count = rng.randrange(len(data) + 10), rng.choice((1, 27, 4096, 70_000, 300_000))
            handle.seek(offset)
            assert handle.read(count) == data[offset : offset + count]
        handle.seek(-10, os.SEEK_END)
        assert handle.read() == data[-10:] and handle.tell() == len(data)
        fetched = source.bytes_read
        handle.seek(0)
        assert handle.read(READ_AHEAD_BYTES) == data[:READ_AHEAD_BYTES]
    assert fetched <= len(data) + READ_AHEAD_BYTES  # never a block twice while it is kept (4 MiB: all here)
    with source.open("rb") as again:  # another handle on the same object shares the blocks
        assert again.read(100) == data[:100]
    assert source.bytes_read == fetched


def test_a_small_read_fetches_a_read_ahead_not_the_object(tmp_path):
    path = tmp_path / "object.bin"
    path.write_bytes(bytes(10 * READ_AHEAD_BYTES))
    source = remote(path)
    with source.open("rb") as handle:
        handle.seek(5 * READ_AHEAD_BYTES + 7)
        for _ in range(100):  # a decoder reading on in small steps: one request, not a hundred
            handle.read(100)
    assert source.bytes_read <= 2 * READ_AHEAD_BYTES


@pytest.mark.parametrize("suffix", [".flac", ".ogg", ".m4a", ".wv"])
def test_windows_read_from_storage_are_the_local_windows(tmp_path, suffix):
    path = write_audio(tmp_path / f"song{suffix}", tone(60.0, noise=0.1, seed=2))
    source = remote(path)
    np.testing.assert_array_equal(read_windows(source, 16_000, 3.0, 3), read_windows(path, 16_000, 3.0, 3))
    assert audio_fingerprint(source) == audio_fingerprint(path)


def test_an_mp3_in_storage_costs_its_windows_and_they_are_placed_within_a_second(tmp_path):
    """libmpg123's exact seek reads every frame before the window; an object in storage is placed by the
    stream's table of contents instead (FFmpeg), within a second on a 4-minute track."""
    path = write_audio(tmp_path / "song.mp3", tone(240.0, noise=0.3, seed=4))  # noise: one lag correlates
    source = remote(path)
    windows = read_windows(source, RATE, 3.0, 3)  # at the file's own rate: not resampled
    assert source.bytes_read < path.stat().st_size / 4, (source.bytes_read, path.stat().st_size)
    local = SndfileSource(path)
    try:
        starts = window_starts(local.frames, 3 * RATE, 3)
        for got, start in zip(windows, starts, strict=True):
            around = local.read(start - RATE, 5 * RATE)[:, 0]  # a second either side of the exact window
            lag = int(np.argmax(np.correlate(around, got[:RATE], "valid"))) - RATE
            assert abs(lag) < RATE, lag
    finally:
        local.close()
