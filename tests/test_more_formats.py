"""WMA (ASF attributes), WavPack (APEv2 items) and M4A, saved by mutagen: tagged and undone exactly, and
refused where mutagen would not write another item back byte for byte."""


import mutagen
import numpy as np
import pytest
from click.testing import CliRunner
from mutagen.apev2 import APEBinaryValue
from mutagen.asf import ASF
from mutagen.mp4 import MP4
from mutagen.wavpack import WavPack

from tagger.audio import load_track
from tagger.cli import main
from tagger.formats import handler_for
from tests.conftest import encode_with_pyav, tone, write_audio
from tests.tagtools import PNG, add_title_artist_cover_comment, assert_refused_untouched, write_then_undo

RATE = 44_100


def tag_wma(path):
    tags = ASF(str(path))
    tags["Title"], tags["Author"], tags["WM/AlbumTitle"] = ["Título"], ["Ørjan"], ["Album"]
    tags["Description"] = ["a comment"]
    tags.save()
    return "WM/Genre", lambda: {key: [str(v) for v in values] for key, values in ASF(str(path)).tags.items()}


def tag_wavpack(path):
    tags = WavPack(str(path))
    tags.tags["Title"], tags.tags["Artist"], tags.tags["Comment"] = "Título", "Ørjan", "a comment"
    tags.tags["Cover Art (Front)"] = APEBinaryValue(b"cover.png\x00" + PNG)
    tags.save()
    return "genre", lambda: {key.lower(): bytes(value.value) if isinstance(value, APEBinaryValue) else list(value)
                             for key, value in WavPack(str(path)).tags.items()}


@pytest.mark.parametrize(("name", "add_tags"), [("song.wma", tag_wma), ("song.wv", tag_wavpack)])
def test_a_file_is_analysed_tagged_and_undone_with_every_other_tag_and_the_audio_intact(tmp_path, tiny_model, name,
                                                                                         add_tags):
    path = write_audio(tmp_path / "lib" / name, tone(8, RATE, channels=2), RATE)
    genre_field, read_tags = add_tags(path)
    before, audio = read_tags(), load_track(path, RATE)
    runner, state = CliRunner(), str(tmp_path / "state")
    scanned = runner.invoke(main, ["scan", str(path.parent), "--write-tags", "--model", str(tiny_model),
                                   "--state-dir", state, "--min-confidence", "0", "--top-k", "2", "--threshold", "0"])
    assert scanned.exit_code == 0 and "tagged 1" in scanned.output, scanned.output
    after = read_tags()
    genres = after.pop(genre_field)
    assert len(genres) == 2 and after == before
    assert np.array_equal(load_track(path, RATE), audio)
    undone = runner.invoke(main, ["undo", "--state-dir", state])
    assert undone.exit_code == 0, undone.output
    assert read_tags() == before and np.array_equal(load_track(path, RATE), audio)


@pytest.mark.parametrize("suffix", [".m4a", ".wma", ".wv"])
@pytest.mark.parametrize("padding", [0, 4096, 60_000], ids=["no padding", "some padding", "much padding"])
def test_undo_gives_back_the_very_bytes_even_after_a_tag_that_grew_past_its_padding(tmp_path, suffix, padding):
    path = write_audio(tmp_path / f"song{suffix}", tone(4, RATE, channels=2), RATE)
    add_title_artist_cover_comment(path)
    audio = mutagen.File(str(path))
    audio.tags[{".m4a": "\xa9gen", ".wma": "WM/Genre", ".wv": "Genre"}[suffix]] = ["Pop"]
    audio.save(**({} if suffix == ".wv" else {"padding": lambda info: padding}))  # APEv2 has no padding

    for genres in (["Rock"], ["Rock", "Jazz"], ["A genre name far longer than any padding " * 200]):
        write_then_undo(path, genres)


def test_an_m4a_item_that_mutagen_would_not_write_back_byte_for_byte_is_refused_untouched(tmp_path, monkeypatch):
    """The raw editor leaves such an item alone; where mutagen must save instead (here: the raw editor made
    to decline, as it does for a fragmented file), the re-rendered item is caught and the write refused."""
    path = write_audio(tmp_path / "song.m4a", tone(4, RATE), RATE)
    add_title_artist_cover_comment(path)
    audio = MP4(str(path))
    audio.tags["tmpo"] = [120]
    audio.save()
    data = bytearray(path.read_bytes())
    tempo = data.index(b"tmpo")
    data[tempo + 4 + 8 + 3] = 0  # its data atom says "implicit" where mutagen writes "integer"
    path.write_bytes(bytes(data))
    write_then_undo(path, ["Rock"])  # raw: the item's bytes are never rendered again

    handler = handler_for(path)
    monkeypatch.setattr(handler.editor, "edit", lambda *arguments: False)
    assert_refused_untouched(path, "item tmpo")


def _ffmpeg_wavpack(path, metadata: dict[str, str]):
    """A WavPack file as FFmpeg tags it: lower-case APEv2 keys, its own item order, no tag header."""
    encode_with_pyav(path, tone(3, RATE), RATE, "wavpack", "wv", "fltp", 4096, metadata=metadata)
    return path


@pytest.mark.parametrize("metadata", [{"title": "T", "artist": "A", "genre": "Pop", "date": "1999", "track": "3"}, {}],
                         ids=["tagged by FFmpeg", "no tag"])
def test_an_apev2_tag_written_by_another_program_keeps_its_items_in_place_and_undo_gives_back_its_bytes(tmp_path,
                                                                                                       metadata):
    path = _ffmpeg_wavpack(tmp_path / "song.wv", metadata)
    for genres in (["Rock"], ["Rock", "Jazz"]):
        written = write_then_undo(path, genres)
        if metadata:  # the genre item keeps its place and the tag its spelling of the key
            assert written.index(b"genre\x00") > written.index(b"title\x00") and b"Genre\x00" not in written


@pytest.mark.parametrize("metadata", [{"title": "T", "artist": "A", "genre": "Pop", "date": "1999"}, {"title": "T"}],
                         ids=["with a genre", "without"])
def test_a_wma_written_by_another_program_is_undone_byte_for_byte(tmp_path, metadata):
    """FFmpeg lays out the ASF header its own way; the genre descriptors are edited raw, so undo gives back
    its bytes (mutagen's save would re-lay the header)."""
    path = tmp_path / "song.wma"
    encode_with_pyav(path, tone(3, RATE), RATE, "wmav2", "asf", "fltp", 2048, metadata=metadata)
    audio = load_track(path, RATE)
    for genres in (["Rock"], ["Rock", "Jazz"], ["A genre longer than any padding " * 100]):
        written = write_then_undo(path, genres)
        copy = tmp_path / "written.wma"
        copy.write_bytes(written)
        assert str(ASF(str(copy))["Title"][0]) == "T" and np.array_equal(load_track(copy, RATE), audio)
