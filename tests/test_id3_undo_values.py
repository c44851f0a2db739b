"""Undo restores every genre value of an ID3 tag (MP3, AIFF, DSF), byte for byte where nothing else changed,
and the genre field alone where another program changed the tag since: another field edited, the tag
re-saved in another version, a tag we converted with --id3v23 edited afterwards. Existing genres are read
by the code that writes them, so a genre frame mutagen cannot parse is never taken for "no genre"."""

from __future__ import annotations

import mutagen
import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3, TCON, TIT2, TPE1, Encoding

from tagger.cli import main
from tagger.formats import handler_for
from tagger.tags import id3_raw
from tagger.tags.base import TagError
from tests.tagtools import digest

CONTAINERS = ["song.mp3", "song.aiff", "song.dsf"]


def id3_of(path) -> ID3:
    audio = mutagen.File(str(path))
    return audio.tags


def save_tag(path, frames: list, version: int) -> None:
    """Give ``path`` an ID3 tag of ``frames`` in its own container (an MP3's start, an AIFF chunk, a DSF's end)."""
    audio = mutagen.File(str(path))
    if audio.tags is None:
        audio.add_tags()
    audio.tags.clear()
    for frame in frames:
        audio.tags.add(frame)
    audio.save(v2_version=version)


def with_two_genre_frames(path) -> None:
    """A v2.4 tag holding two TCON frames (some taggers write one frame per genre): raw, as mutagen merges them."""
    handle = open(path, "r+b")  # noqa: SIM115 -- the holder keeps the handle for the edit
    with handle:
        holder = handler_for(path).holder
        region = holder.find(handle)
        tag = id3_raw.read_tag(handle, region.start)
        second = id3_raw.text_frame(tag, "TCON", Encoding.UTF8, ["Shoegaze", "Dream Pop"])
        frames = (*tag.frames, second)
        holder.put(handle, region, id3_raw.fitted(tag, frames, tag.size_on_disk))


def scan(path, state, model, *options):
    return CliRunner().invoke(main, ["scan", str(path), "--model", str(model), "--state-dir", str(state),
                                     "--min-confidence", "0", "--jobs", "1", *options])


def undo(state):
    return CliRunner().invoke(main, ["undo", "--state-dir", str(state)])


@pytest.mark.parametrize("name", CONTAINERS)
@pytest.mark.parametrize("version", [3, 4])
@pytest.mark.parametrize("mode", ["merge", "replace"])
def test_undo_restores_several_genres_byte_for_byte(make_audio, tiny_model, tmp_path, name, version, mode):
    song = make_audio(f"lib/{name}")
    encoding = Encoding.UTF16 if version == 3 else Encoding.UTF8
    save_tag(song, [TIT2(encoding=encoding, text="Title"),
                    TCON(encoding=encoding, text=["Ambient/Drone"] if version == 3 else ["Ambient", "Drone"])],
             version)
    if version == 4:
        with_two_genre_frames(song)
    before = digest(song)
    result = scan(song.parent, tmp_path / "state", tiny_model, "--mode", mode, "--write-tags")
    assert result.exit_code == 0 and "tagged 1" in result.output, result.output
    assert digest(song) != before
    assert undo(tmp_path / "state").exit_code == 0
    assert digest(song) == before


@pytest.mark.parametrize("name", CONTAINERS)
def test_undo_after_another_field_was_edited_restores_the_genres_and_keeps_the_edit(make_audio, tiny_model, tmp_path,
                                                                                   name):
    song = make_audio(f"lib/{name}")
    save_tag(song, [TIT2(encoding=3, text="Title"), TCON(encoding=3, text=["Ambient", "Drone"])], 4)
    with_two_genre_frames(song)
    owner_genres = handler_for(song).read_genres(song)
    assert scan(song.parent, tmp_path / "state", tiny_model, "--mode", "replace", "--write-tags").exit_code == 0
    audio = mutagen.File(str(song))
    audio.tags.add(TPE1(encoding=3, text="An artist added later"))
    audio.save(v2_version=4)
    result = undo(tmp_path / "state")
    assert result.exit_code == 0, result.output
    assert handler_for(song).read_genres(song) == owner_genres == ["Ambient", "Drone", "Shoegaze", "Dream Pop"]
    assert str(id3_of(song)["TPE1"]) == "An artist added later"


@pytest.mark.parametrize("name", CONTAINERS)
@pytest.mark.parametrize(("written", "resaved"), [(3, 4), (4, 3)])
def test_undo_after_another_program_resaved_the_tag_in_another_version_restores_the_genres(
        make_audio, tiny_model, tmp_path, name, written, resaved):
    song = make_audio(f"lib/{name}")
    encoding = Encoding.UTF16 if written == 3 else Encoding.UTF8
    save_tag(song, [TIT2(encoding=encoding, text="Title"), TCON(encoding=encoding, text=["Ambient", "Drone"])], written)
    owner = handler_for(song).read_genres(song)
    assert scan(song.parent, tmp_path / "state", tiny_model, "--mode", "replace", "--write-tags").exit_code == 0
    audio = mutagen.File(str(song))
    audio.save(v2_version=resaved)  # another tagger saves the file in its own version
    result = undo(tmp_path / "state")
    assert result.exit_code == 0 and "restored 1 of 1" in result.output, result.output
    tag = id3_of(song)
    assert tag.version[1] == resaved and str(tag["TIT2"]) == "Title"
    assert handler_for(song).read_genres(song) == owner


@pytest.mark.parametrize("name", CONTAINERS)
def test_undo_of_an_id3v23_conversion_edited_since_restores_the_genres_alone(make_audio, tiny_model, tmp_path, name):
    song = make_audio(f"lib/{name}")
    save_tag(song, [TIT2(encoding=3, text="Title"), TCON(encoding=3, text=["Ambient", "Drone"])], 4)
    before = digest(song)
    state = tmp_path / "state"
    assert scan(song.parent, state, tiny_model, "--mode", "replace", "--id3v23", "--write-tags").exit_code == 0
    assert undo(state).exit_code == 0 and digest(song) == before  # nothing else changed: every byte back
    assert scan(song.parent, state, tiny_model, "--mode", "replace", "--id3v23", "--write-tags",
                "--force").exit_code == 0
    audio = mutagen.File(str(song))
    audio.tags.add(TIT2(encoding=1, text="A title changed later"))
    audio.save(v2_version=3)
    result = undo(state)
    assert result.exit_code == 0 and "restored 1 of 1" in result.output, result.output
    tag = id3_of(song)
    assert str(tag["TIT2"]) == "A title changed later"  # the later edit stays
    assert handler_for(song).read_genres(song) == ["Ambient", "Drone"]


def test_a_genre_frame_mutagen_cannot_parse_is_never_taken_for_no_genre(make_audio, tiny_model, tmp_path):
    song = make_audio("song.mp3")
    save_tag(song, [TIT2(encoding=3, text="Title")], 4)
    with open(song, "r+b") as handle:
        holder = handler_for(song).holder
        region = holder.find(handle)
        tag = id3_raw.read_tag(handle, region.start)
        body = bytes([7]) + b"Shoegaze"  # a text encoding no version defines: mutagen drops the frame
        broken = id3_raw.Frame("TCON", b"TCON" + id3_raw.syncsafe_bytes(len(body)) + b"\x00\x00" + body)
        holder.put(handle, region, id3_raw.fitted(tag, (*tag.frames, broken), tag.size_on_disk))
    assert "TCON" not in ID3(str(song))  # mutagen sees no genre
    before = digest(song)
    with pytest.raises(TagError, match="genre"):
        handler_for(song).read_genres(song)
    result = scan(song.parent, tmp_path / "state", tiny_model, "--write-tags")  # fill-empty: must not write
    assert result.exit_code == 0 and "skipped 1" in result.output and "cannot be parsed" in result.output
    assert digest(song) == before


def test_a_v23_extended_header_that_miscounts_its_padding_is_given_back_as_it_was(make_audio, tiny_model, tmp_path):
    """A tagger wrote 0 as the extended header's padding count although the tag has padding: undo must give
    back that 0, not a corrected count."""
    song = make_audio("lib/song.mp3")
    audio = song.read_bytes()
    title = "Title".encode("latin-1")
    frame = b"TIT2" + (len(title) + 1).to_bytes(4, "big") + b"\x00\x00" + b"\x00" + title
    extended = (6).to_bytes(4, "big") + b"\x00\x00" + (0).to_bytes(4, "big")  # says: no padding
    body = extended + frame + bytes(200)
    song.write_bytes(b"ID3\x03\x00\x40" + id3_raw.syncsafe_bytes(len(body)) + body + audio)
    before = digest(song)
    result = scan(song.parent, tmp_path / "state", tiny_model, "--mode", "replace", "--write-tags")
    assert result.exit_code == 0 and "tagged 1" in result.output, result.output
    assert undo(tmp_path / "state").exit_code == 0
    assert digest(song) == before


def test_undo_of_a_v22_tag_resaved_by_another_program_as_v23_restores_its_genre(make_audio, tiny_model, tmp_path):
    song = make_audio("lib/song.mp3")
    audio = song.read_bytes()
    frames = b"".join(name + (len(body) + 1).to_bytes(3, "big") + b"\x00" + body
                      for name, body in ((b"TT2", b"A title"), (b"TCO", b"Ambient")))
    body = frames + bytes(64)
    song.write_bytes(b"ID3\x02\x00\x00" + id3_raw.syncsafe_bytes(len(body)) + body + audio)
    owner = handler_for(song).read_genres(song)
    assert owner == ["Ambient"]
    assert scan(song.parent, tmp_path / "state", tiny_model, "--mode", "replace", "--write-tags").exit_code == 0
    mutagen.File(str(song)).save(v2_version=3)  # another tagger cannot write v2.2: it saves v2.3
    result = undo(tmp_path / "state")
    assert result.exit_code == 0 and "restored 1 of 1" in result.output, result.output
    assert id3_of(song).version[1] == 3 and handler_for(song).read_genres(song) == owner
