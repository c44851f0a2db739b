"""AIFF keeps its ID3 tag in a chunk, DSF at the end where its header points: a genre write edits the tag
as raw as an MP3's, keeps the container's sizes true, never touches the audio, and undo gives back the
very bytes, including taking out a chunk or tag it had to make."""

from __future__ import annotations

from pathlib import Path

import pytest
from mutagen.aiff import AIFF
from mutagen.dsf import DSF

from tagger import chunks, sniff
from tests.conftest import tone, write_audio
from tests.tagtools import add_rich_frames, assert_refused_untouched, decoded, write_then_undo

RATE = 22_050
FITS, GROWS = ["Rock"], [f"Genre number {n} " * 30 for n in range(30)]
READERS = {".aiff": AIFF, ".dsf": DSF}


def _song(tmp_path: Path, suffix: str, tagged: bool) -> Path:
    path = write_audio(tmp_path / f"song{suffix}", tone(3.0, RATE, channels=2), RATE)
    if tagged:
        audio = READERS[suffix](str(path))
        audio.add_tags()
        add_rich_frames(audio.tags, 3, genre="Pop")
        audio.save()
    return path


def _other_frames(path: Path) -> dict[str, str]:
    audio = READERS[path.suffix](str(path))
    return {key: repr(frame) for key, frame in (audio.tags or {}).items() if not key.startswith("TCON")}


def _assert_container_sizes_are_true(data: bytes, suffix: str) -> None:
    """AIFF: the form's size counts every chunk and the chunks end exactly at the end of the file. DSF: the
    header's file size is the file's and its metadata pointer finds the tag."""
    if suffix == ".aiff":
        assert int.from_bytes(data[4:8], "big") + 8 == len(data)
        position = chunks.FORM_HEADER
        while position < len(data):
            size = int.from_bytes(data[position + 4 : position + 8], "big")
            position += 8 + size + (size & 1)
        assert position == len(data)
    else:
        assert int.from_bytes(data[12:20], "little") == len(data)
        pointer = int.from_bytes(data[20:28], "little")
        assert data[pointer : pointer + 3] == b"ID3"


@pytest.mark.parametrize("suffix", [".aiff", ".dsf"])
@pytest.mark.parametrize("tagged", [False, True], ids=["no tag yet", "a tag with a cover"])
@pytest.mark.parametrize("genres", [FITS, GROWS], ids=["fits the padding", "grows the tag"])
def test_a_tag_in_a_chunk_or_at_the_end_is_written_and_undone_byte_for_byte(tmp_path, suffix, tagged, genres):
    path = _song(tmp_path, suffix, tagged)
    audio, frames, fingerprint = decoded(path) if suffix == ".aiff" else None, _other_frames(path), \
        sniff.audio_fingerprint(path)

    written = write_then_undo(path, genres)

    written_path = tmp_path / f"written{suffix}"
    written_path.write_bytes(written)
    _assert_container_sizes_are_true(written, suffix)
    assert _other_frames(written_path) == frames
    assert sniff.audio_fingerprint(written_path) == fingerprint
    if audio is not None:
        assert (decoded(written_path) == audio).all()


def _aiff_of(chunk_list: list[tuple[bytes, bytes]], after_form: bytes = b"") -> bytes:
    body = b"AIFF" + b"".join(name + len(data).to_bytes(4, "big") + data + b"\x00" * (len(data) & 1)
                              for name, data in chunk_list)
    return b"FORM" + len(body).to_bytes(4, "big") + body + after_form


def _chunks_of(path: Path) -> dict[bytes, bytes]:
    with open(path, "rb") as handle:
        found = chunks.iff_chunks(handle, "big")
        data = {}
        for chunk in found:
            handle.seek(chunk.data)
            data[chunk.chunk_id] = handle.read(chunk.size)
    return data


def _id3_bytes(tmp_path: Path, padding: int) -> bytes:
    """An ID3v2.3 tag of odd length (so its chunk needs a pad byte), made by mutagen."""
    source = _song(tmp_path, ".aiff", tagged=True)
    audio = AIFF(str(source))
    audio.save(padding=lambda info: padding)
    return _chunks_of(source)[b"ID3 "]


@pytest.mark.parametrize("genres", [FITS, GROWS], ids=["fits the padding", "grows the tag"])
def test_an_odd_sized_id3_chunk_before_the_sound_data_keeps_its_pad_byte_and_the_sound_moves_whole(tmp_path, genres):
    parts = _chunks_of(_song(tmp_path / "plain", ".aiff", tagged=False))
    tag = _id3_bytes(tmp_path / "tag", padding=101)
    tag = tag if len(tag) % 2 else _id3_bytes(tmp_path / "tag2", padding=102)
    path = tmp_path / "middle.aiff"
    path.write_bytes(_aiff_of([(b"COMM", parts[b"COMM"]), (b"ID3 ", tag), (b"SSND", parts[b"SSND"])]))
    audio = decoded(path)

    written = write_then_undo(path, genres)

    _assert_container_sizes_are_true(written, ".aiff")
    (tmp_path / "written.aiff").write_bytes(written)
    assert _chunks_of(tmp_path / "written.aiff")[b"SSND"] == parts[b"SSND"]
    assert (decoded(tmp_path / "written.aiff") == audio).all()


def test_a_lower_case_id3_chunk_left_outside_the_forms_declared_size_is_edited_where_it_is(tmp_path):
    parts = _chunks_of(_song(tmp_path / "plain", ".aiff", tagged=False))
    tag = _id3_bytes(tmp_path / "tag", padding=0)
    stray = b"id3 " + len(tag).to_bytes(4, "big") + tag + b"\x00" * (len(tag) & 1)
    path = tmp_path / "stray.aiff"
    path.write_bytes(_aiff_of([(b"COMM", parts[b"COMM"]), (b"SSND", parts[b"SSND"])], after_form=stray))
    form_size = path.read_bytes()[4:8]

    written = write_then_undo(path, GROWS)

    assert written[4:8] == form_size  # the form never counted the stray chunk, and still does not
    assert written.count(b"id3 ") == 1 and b"ID3 " not in written


def test_an_aiff_with_two_id3_chunks_is_refused_untouched(tmp_path):
    parts = _chunks_of(_song(tmp_path / "plain", ".aiff", tagged=False))
    tag = _id3_bytes(tmp_path / "tag", padding=0)
    path = tmp_path / "two.aiff"
    path.write_bytes(_aiff_of([(b"COMM", parts[b"COMM"]), (b"ID3 ", tag), (b"SSND", parts[b"SSND"]),
                               (b"ID3 ", tag)]))
    assert_refused_untouched(path, "more than one ID3 chunk")


def test_a_dsf_whose_metadata_pointer_misses_its_tag_is_refused_untouched(tmp_path):
    path = _song(tmp_path, ".dsf", tagged=True)
    data = bytearray(path.read_bytes())
    data[20:28] = (int.from_bytes(data[20:28], "little") + 1).to_bytes(8, "little")
    path.write_bytes(bytes(data))
    assert_refused_untouched(path, "not an ID3v2 tag")


@pytest.mark.parametrize("suffix", [".aiff", ".dsf"])
def test_id3v23_converts_the_tag_inside_the_container_and_undo_gives_the_original_back(tmp_path, suffix):
    path = _song(tmp_path, suffix, tagged=False)
    audio = READERS[suffix](str(path))
    audio.add_tags()
    add_rich_frames(audio.tags, 4, genre="Pop")
    audio.save(v2_version=4)

    written = write_then_undo(path, ["Rock", "Jazz"], id3v23=True)

    (tmp_path / f"written{suffix}").write_bytes(written)
    converted = READERS[suffix](str(tmp_path / f"written{suffix}")).tags
    assert converted.version == (2, 3, 0) and converted["TIT2"].text == ["Señor Título"]
    _assert_container_sizes_are_true(written, suffix)
