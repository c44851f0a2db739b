"""Every file FFmpeg can decode is analysed: a stream whose length the container does not give, a seek that
fails, AAC in ADTS (named .aac, or named .mp3), and the suffixes a real library holds (.m4b, .spx, .tta)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from tagger import decoders
from tagger.audio import read_windows
from tagger.cli import main
from tagger.decoders import DecodeError
from tagger.formats import format_for
from tagger.sniff import ADTS, sniff
from tests.conftest import encode_with_pyav, tone, write_audio

RATE = 22_050


def chirp(seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * (200 * t + 40 * t**2))).astype(np.float32)


def scan(folder, model, state):
    return CliRunner().invoke(main, ["scan", str(folder), "--model", str(model), "--state-dir", str(state),
                                     "--min-confidence", "0", "--jobs", "1", "-v"])


def test_a_flac_that_does_not_say_its_length_gives_the_same_windows(tmp_path):
    known = write_audio(tmp_path / "known.flac", chirp(12))
    data = bytearray(known.read_bytes())
    data[8 + 13] &= 0xF0  # STREAMINFO's total samples: 0, "unknown", as a stream encoder may leave it
    data[8 + 14 : 8 + 18] = bytes(4)
    unknown = tmp_path / "unknown.flac"
    unknown.write_bytes(bytes(data))
    expected = read_windows(known, 16_000, 3.0, 3)
    assert np.allclose(read_windows(unknown, 16_000, 3.0, 3), expected, atol=1e-4)


def test_a_seek_that_fails_falls_back_to_decoding_from_the_start(tmp_path, monkeypatch):
    song = write_audio(tmp_path / "song.flac", chirp(12))
    expected = read_windows(song, 16_000, 3.0, 3)

    def failing_seek(self, start, count):
        raise DecodeError("audio stream is damaged: Seek attempted on unseekable file type.")

    monkeypatch.setattr(decoders.SndfileSource, "read", failing_seek)
    assert np.allclose(read_windows(song, 16_000, 3.0, 3), expected, atol=1e-4)


def test_a_stream_that_decodes_to_nothing_is_still_an_error(tmp_path):
    song = write_audio(tmp_path / "song.flac", chirp(1))
    data = bytearray(song.read_bytes())
    data[8 + 13] &= 0xF0  # no length given, and no audio frames after the metadata either
    data[8 + 14 : 8 + 18] = bytes(4)
    header_only = tmp_path / "header only.flac"
    header_only.write_bytes(bytes(data[: 8 + 34]))
    with pytest.raises(DecodeError):
        read_windows(header_only, 16_000, 3.0, 2)
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    with pytest.raises(DecodeError, match="empty"):
        read_windows(empty, 16_000, 3.0, 2)


def test_adts_aac_is_sniffed_and_analysed_under_its_own_name_and_under_a_wrong_one(tmp_path, tiny_model):
    song = tmp_path / "lib" / "song.aac"
    song.parent.mkdir()
    encode_with_pyav(song, tone(8, 44_100), 44_100, "aac", "adts", "fltp", 1024)
    misnamed = shutil.copy(song, song.with_name("misnamed.mp3"))
    assert sniff(song) == ADTS and format_for(song).container == ADTS
    result = scan(song.parent, tiny_model, tmp_path / "state")
    assert result.exit_code == 0, result.output
    assert "failed 0" in result.output and "skipped 2" in result.output
    assert f"{misnamed}: its content is AAC (ADTS) audio, not MP3" in result.output
    assert "no genre tags for .aac files" in result.output


@pytest.mark.parametrize(("encoded", "named"), [(".m4a", "book.m4b"), (".ogg", "speech.spx")])
def test_suffixes_of_real_libraries_are_scanned(tmp_path, tiny_model, encoded, named):
    source = write_audio(tmp_path / f"source{encoded}", tone(6, 44_100), 44_100)
    (tmp_path / "lib").mkdir()
    shutil.move(source, tmp_path / "lib" / named)
    result = scan(tmp_path / "lib", tiny_model, tmp_path / "state")
    assert result.exit_code == 0 and "would-tag 1" in result.output, result.output


def test_an_mp3_whose_header_claims_more_audio_than_it_holds_is_analysed(tmp_path):
    """A LAME Info header says 20 s; the file holds one (cut short by a download): the windows where the
    header says the audio is read nothing, so the stream is decoded from the start instead."""
    whole = write_audio(tmp_path / "whole.mp3", chirp(20))
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[:6000])
    windows = read_windows(cut, 16_000, 3.0, 2)
    assert np.abs(windows).max() > 0.1


def test_a_chained_ogg_is_analysed_across_its_streams(tmp_path):
    """Two logical streams one after the other (a radio recording, a concatenated album): libsndfile cannot
    say the length, so FFmpeg decodes it from the start, and the windows hear the second stream too."""
    first = write_audio(tmp_path / "first.ogg", np.zeros(RATE, np.float32) + 1e-7, RATE)
    second = write_audio(tmp_path / "second.ogg", chirp(30), RATE)
    chained = tmp_path / "chained.ogg"
    chained.write_bytes(first.read_bytes() + second.read_bytes())
    windows = read_windows(chained, 16_000, 3.0, 3)
    assert windows.shape == (3, 48_000) and np.abs(windows).max(axis=1).min() > 0.1


def test_ffmpeg_places_an_mp3_window_on_the_samples_libsndfile_gives(tmp_path):
    """FFmpeg counts an MP3's timestamps from before the encoder's delay (LAME's 1105 samples); a window read
    through it (the fallback for an MP3 libsndfile refuses) must still start on the same sample."""
    path = write_audio(tmp_path / "noise.mp3", tone(20.0, noise=0.3, seed=3))
    exact = decoders.SndfileSource(path)
    ffmpeg = decoders.FFmpegSource(path)
    try:
        for start in (0, 123_457, 300_000):
            expected, got = exact.read(start, 8_192), ffmpeg.read(start, 8_192)
            assert np.max(np.abs(expected - got)) < 0.01, start
    finally:
        exact.close()
        ffmpeg.close()


@pytest.mark.parametrize("content", [b"junk", b"<html><body>404 not found</body></html>", bytes(range(256)) * 20])
def test_bytes_that_are_no_audio_get_a_reason_that_fits(tmp_path, content):
    """libsndfile says of such a file that it "does not exist or is not a regular file (possibly a pipe?)",
    after the path as a bytes repr; the line a user reads names the file once and says what is wrong."""
    path = tmp_path / "song.mp3"
    path.write_bytes(content)
    with pytest.raises(DecodeError) as raised:
        read_windows(path, 16_000, 3.0, 2)
    message = str(raised.value)
    assert "pipe" not in message and "does not exist" not in message and str(path) not in message, message
    assert message.startswith("cannot decode audio: ") or message == "no audio frames in file", message
