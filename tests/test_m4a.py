"""M4A (AAC and ALAC) through PyAV: decoded at the right offsets, tagged in ``©gen``, undone exactly."""

import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from mutagen.mp4 import MP4, MP4Cover

from tagger.audio import load_track, read_windows, window_starts
from tagger.cli import main
from tagger.decoders import FFmpegSource
from tagger.tags import mp4_ilst
from tests.conftest import encode_with_pyav, tone, write_audio
from tests.tagtools import PNG, write_then_undo

RATE = 44_100


def chirp(seconds: float) -> np.ndarray:
    """A rising tone: every offset sounds different, so a misplaced window cannot match by accident."""
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * (200 * t + 40 * t**2))).astype(np.float32)


def lossless_m4a(path):
    """ALAC in an M4A container (PyAV writes it as .alac; the library sees .m4a)."""
    encoded = write_audio(path.with_suffix(".alac"), chirp(12), RATE)
    return encoded.rename(path)


def media_data(path) -> bytes:
    """The payload of the top-level ``mdat`` atom: the encoded audio, which tagging must not touch."""
    data, offset = path.read_bytes(), 0
    while offset < len(data):
        size, kind = int.from_bytes(data[offset : offset + 4], "big"), data[offset + 4 : offset + 8]
        header = 8
        if size == 1:
            size, header = int.from_bytes(data[offset + 8 : offset + 16], "big"), 16
        if kind == b"mdat":
            return data[offset + header : offset + size]
        offset += size
    raise AssertionError(f"{path} has no mdat atom")


def test_windows_of_a_lossless_m4a_are_exactly_the_samples_at_their_offsets(tmp_path):
    path = lossless_m4a(tmp_path / "song.m4a")
    whole = load_track(path, RATE)
    windows = read_windows(path, RATE, 1.0, 4)
    starts = window_starts(len(whole), RATE, 4)
    assert len(windows) == 4 and starts[0] > 0
    for window, start in zip(windows, starts, strict=True):
        assert np.allclose(window, whole[start : start + RATE], atol=1e-6)


def test_windows_of_an_aac_m4a_match_a_full_decode(tmp_path):
    path = write_audio(tmp_path / "song.m4a", np.stack([chirp(12)] * 2, axis=1), RATE)
    whole = load_track(path, RATE)  # longer than the stream says: the encoder pads the last frame
    starts = window_starts(FFmpegSource(path).frames, RATE, 3)
    for window, start in zip(read_windows(path, RATE, 1.0, 3), starts, strict=True):
        # the decoder pre-rolls before each window, so even a window's first samples are the full decode's
        assert np.abs(window - whole[start : start + RATE]).max() < 1e-3


@pytest.mark.parametrize("lossless", [False, True], ids=["aac", "alac"])
def test_an_m4a_is_analysed_tagged_and_undone_with_everything_else_intact(tmp_path, tiny_model, lossless):
    path = tmp_path / "lib" / "song.m4a"
    if lossless:
        path.parent.mkdir(parents=True)
        lossless_m4a(path)
    else:
        write_audio(path, tone(8, RATE, channels=2), RATE)
    tags = MP4(str(path))
    tags["\xa9nam"], tags["\xa9ART"], tags["\xa9cmt"] = ["Título"], ["Ørjan"], ["a comment"]
    tags["covr"] = [MP4Cover(PNG, imageformat=MP4Cover.FORMAT_PNG)]
    tags["----:com.apple.iTunes:MusicBrainz Album Id"] = [b"1234"]
    tags.save()
    before, audio = dict(MP4(str(path)).tags), media_data(path)
    pristine = tmp_path / "pristine.m4a"
    shutil.copy(path, pristine)
    runner, state = CliRunner(), str(tmp_path / "state")
    scanned = runner.invoke(main, ["scan", str(path.parent), "--write-tags", "--model", str(tiny_model),
                                   "--state-dir", state, "--min-confidence", "0"])
    assert scanned.exit_code == 0 and "tagged 1" in scanned.output, scanned.output
    after = dict(MP4(str(path)).tags)
    assert after.pop("\xa9gen") and after == before
    assert media_data(path) == audio
    undone = runner.invoke(main, ["undo", "--state-dir", state])
    assert undone.exit_code == 0, undone.output
    assert dict(MP4(str(path)).tags) == before and media_data(path) == audio


def test_a_damaged_m4a_is_one_error_line_and_the_scan_goes_on(tmp_path, tiny_model):
    library = tmp_path / "lib"
    write_audio(library / "good.m4a", tone(6, RATE), RATE)
    (library / "bad.m4a").write_bytes(b"\x00\x00\x00\x18ftypM4A " + bytes(100))
    result = CliRunner().invoke(main, ["scan", str(library), "--model", str(tiny_model), "--state-dir",
                                       str(tmp_path / "state"), "--min-confidence", "0"])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "bad.m4a" in errors[0] and "Traceback" not in result.output
    assert "would-tag 1" in result.output


def _ffmpeg_m4a(path, faststart: bool):
    """An M4A as FFmpeg writes it: its own item order, no padding after the list, and with ``faststart``
    the ``moov`` box in front of the audio."""
    encode_with_pyav(path, chirp(3.0), RATE, "aac", "mp4", "fltp", 1024,
                     metadata={"title": "T", "artist": "A", "comment": "C", "album": "Al", "genre": "Pop",
                               "date": "1999"},
                     options={"movflags": "+faststart"} if faststart else None)
    return path


def _item_order(path) -> list[bytes]:
    with open(path, "rb") as handle:
        return [item.chunk_id for item in mp4_ilst.read(handle).items]


@pytest.mark.parametrize("faststart", [False, True], ids=["moov after the audio", "moov before the audio"])
def test_an_m4a_tagged_by_another_program_keeps_its_item_order_and_undo_gives_back_its_bytes(tmp_path, faststart):
    path = _ffmpeg_m4a(tmp_path / "song.m4a", faststart)
    order, audio = _item_order(path), load_track(path, RATE)
    for genres in (["Rock"], ["Rock", "Jazz"], ["A genre longer than any padding " * 100]):
        written = write_then_undo(path, genres)
        copy = tmp_path / "written.m4a"
        copy.write_bytes(written)
        assert _item_order(copy) == order  # the genre atom where it was, nothing re-ordered
        assert np.array_equal(load_track(copy, RATE), audio)  # the chunk offsets followed the audio


def test_an_m4a_without_an_item_list_is_given_one_and_undo_takes_it_out_byte_for_byte(tmp_path):
    """Where there is no list to edit raw, mutagen builds one; the snapshot keeps the moov box whole and
    undo puts it back, chunk offsets and all."""
    path = _ffmpeg_m4a(tmp_path / "bare.m4a", faststart=True)
    path.write_bytes(path.read_bytes().replace(b"udta", b"free", 1))  # the user data box, list and all, gone
    audio = load_track(path, RATE)
    written = write_then_undo(path, ["Rock", "Jazz"])
    copy = tmp_path / "written.m4a"
    copy.write_bytes(written)
    assert _item_order(copy) and np.array_equal(load_track(copy, RATE), audio)
