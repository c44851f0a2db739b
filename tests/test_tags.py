"""Genre tags per format: written where they belong, everything else untouched, undo exact."""

import os
import stat

import mutagen
import numpy as np
import pytest
from mutagen.id3 import ID3, TCON, Encoding

from tagger import atomic
from tagger.formats import TagHandlers, handler_for
from tagger.tags import TagError, restore_genres, write_genres
from tests.tagtools import (
    add_id3,
    comments_except_genre,
    decoded,
    digest,
    flac_audio_bytes,
    id3_frames_except_genre,
    mp3_audio_bytes,
)


@pytest.mark.parametrize("version", [3, 4])
def test_mp3_genres_written_in_the_files_own_version_and_nothing_else_changes(make_audio, version):
    path = make_audio("song.mp3")
    add_id3(path, version)
    frames, audio = id3_frames_except_genre(path), mp3_audio_bytes(path)
    handler = handler_for(path)
    before = handler.snapshot(path)

    write_genres(path, handler_for(path), ["Rock", "Blues"])

    written = ID3(str(path), translate=False)
    assert written.version[1] == version
    expected_text = ["Rock", "Blues"] if version == 4 else ["Rock; Blues"]
    assert written["TCON"].text == expected_text
    assert handler.read_genres(path) == ["Rock", "Blues"]
    assert id3_frames_except_genre(path) == frames
    assert mp3_audio_bytes(path) == audio

    restore_genres(path, handler_for(path), before)
    assert ID3(str(path), translate=False)["TCON"].text == ["Pop"]
    assert id3_frames_except_genre(path) == frames
    assert mp3_audio_bytes(path) == audio


def test_mp3_without_tag_gets_v24_and_undo_gives_back_the_identical_file(make_audio):
    path = make_audio("bare.mp3")
    original = digest(path)
    before = handler_for(path).snapshot(path)
    write_genres(path, handler_for(path), ["Jazz"])
    assert ID3(str(path)).version == (2, 4, 0) and ID3(str(path))["TCON"].text == ["Jazz"]
    restore_genres(path, handler_for(path), before)
    assert digest(path) == original


def test_forced_v23_and_numeric_genre_references(make_audio):
    path = make_audio("old.mp3")
    add_id3(path, 4, genre=None)
    ID3(str(path)).save(str(path))
    tags_ = ID3(str(path))
    tags_.add(TCON(encoding=Encoding.LATIN1, text="(17)"))
    tags_.save(str(path))
    handler = TagHandlers(id3v23=True).handler_for(path)
    assert handler.read_genres(path) == ["Rock"]
    before, original = handler.snapshot(path), digest(path)
    write_genres(path, handler, ["Metal", "Rock"])
    assert ID3(str(path), translate=False).version == (2, 3, 0)
    assert handler.read_genres(path) == ["Metal", "Rock"]
    restore_genres(path, handler_for(path), before)
    restored = ID3(str(path), translate=False)
    assert restored["TCON"].text == ["(17)"] and restored["TCON"].encoding == Encoding.LATIN1
    assert restored.version == (2, 4, 0) and digest(path) == original


@pytest.mark.parametrize("name", ["song.flac", "song.ogg", "song.opus"])
def test_vorbis_comment_formats(make_audio, name):
    path = make_audio(name)
    audio = mutagen.File(str(path))
    if audio.tags is None:
        audio.add_tags()
    audio.tags["TITLE"] = "Título"
    audio.tags["ARTIST"] = ["One", "Two"]
    audio.tags["GENRE"] = "Pop"
    audio.save()
    others, samples = comments_except_genre(path), decoded(path)
    raw = flac_audio_bytes(path) if name.endswith(".flac") else None
    handler = handler_for(path)
    before = handler.snapshot(path)

    write_genres(path, handler_for(path), ["Rock", "Blues"])

    assert mutagen.File(str(path)).tags["GENRE"] == ["Rock", "Blues"]
    assert comments_except_genre(path) == others
    assert np.array_equal(decoded(path), samples)
    if raw is not None:
        assert flac_audio_bytes(path) == raw
    restore_genres(path, handler_for(path), before)
    assert handler.read_genres(path) == ["Pop"] and comments_except_genre(path) == others


def test_unparseable_id3_tag_is_reported_and_the_file_left_alone(make_audio):
    path = make_audio("broken.mp3")
    add_id3(path, 4)
    data = bytearray(path.read_bytes())
    data[3] = 9  # ID3v2.9 does not exist
    path.write_bytes(bytes(data))
    original = digest(path)
    with pytest.raises(TagError):
        handler_for(path).read_genres(path)
    with pytest.raises(TagError):
        write_genres(path, handler_for(path), ["Rock"])
    assert digest(path) == original
    assert not [p for p in path.parent.iterdir() if p.name.endswith(atomic.TEMP_SUFFIX)]


def test_a_failed_edit_leaves_the_original_and_no_temporary_file(make_audio):
    path = make_audio("keep.mp3")
    original = digest(path)

    def fail(copy):
        copy.write_bytes(b"half-written")
        raise RuntimeError("crash in the middle")

    with pytest.raises(RuntimeError):
        atomic.rewrite(path, fail)
    assert digest(path) == original
    assert sorted(p.name for p in path.parent.iterdir()) == ["keep.mp3"]


def test_read_only_files_are_not_replaced(make_audio):
    path = make_audio("locked.mp3")
    os.chmod(path, stat.S_IRUSR)
    original = digest(path)
    try:
        with pytest.raises(PermissionError):
            write_genres(path, handler_for(path), ["Rock"])
        assert digest(path) == original
    finally:
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def test_permissions_survive_a_write(make_audio):
    path = make_audio("mode.mp3")
    os.chmod(path, 0o640)
    write_genres(path, handler_for(path), ["Rock"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_wav_has_no_tag_handler(make_audio):
    path = make_audio("plain.wav")
    assert handler_for(path) is None


def test_undo_restores_a_v24_multi_value_genre_exactly(make_audio):
    path = make_audio("multi.mp3")
    add_id3(path, 4, genre=None)
    tags_ = ID3(str(path))
    tags_.add(TCON(encoding=Encoding.UTF16, text=["Rock", "Blues", "Ambient"]))
    tags_.save(str(path))
    frames = id3_frames_except_genre(path)
    before = handler_for(path).snapshot(path)
    write_genres(path, handler_for(path), ["Jazz"])
    restore_genres(path, handler_for(path), before)
    restored = ID3(str(path), translate=False)["TCON"]
    assert restored.text == ["Rock", "Blues", "Ambient"] and restored.encoding == Encoding.UTF16
    assert id3_frames_except_genre(path) == frames


def test_an_id3v1_tag_that_disagrees_with_v2_stays_byte_for_byte_and_is_not_merged(make_audio):
    """mutagen would rebuild v1 from v2 on save and copy v1 values the v2 tag lacks into it."""
    from mutagen.id3 import ID3

    from tagger.formats import handler_for
    from tagger.tags import restore_genres, write_genres
    from tests.tagtools import add_id3, id3_frames_except_genre, mp3_audio_bytes

    path = make_audio("v1.mp3")
    add_id3(path, 4)
    tags = ID3(str(path))
    tags.delall("TALB")  # the v1 tag below has an album the v2 tag lacks
    tags.save(str(path))
    v1 = (b"TAG" + b"V1 Title".ljust(30, b"\x00") + b"V1 Artist".ljust(30, b"\x00") + b"V1 Album".ljust(30, b"\x00")
          + b"1987" + b"v1 comment".ljust(30, b"\x00") + bytes([17]))
    with open(path, "ab") as handle:
        handle.write(v1)
    frames, audio = id3_frames_except_genre(path), mp3_audio_bytes(path)
    handler = handler_for(path)
    snapshot = handler.snapshot(path)
    write_genres(path, handler, ["Jazz"])
    assert path.read_bytes()[-128:] == v1
    assert id3_frames_except_genre(path) == frames and "TALB" not in ID3(str(path), load_v1=False)
    assert mp3_audio_bytes(path) == audio and handler.read_genres(path) == ["Jazz"]
    restore_genres(path, handler, snapshot)
    assert path.read_bytes()[-128:] == v1 and id3_frames_except_genre(path) == frames
    assert handler.read_genres(path) == ["Pop"] and mp3_audio_bytes(path) == audio
