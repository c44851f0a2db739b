"""Everything a genre write did not mean to change stays byte for byte, and undo gives back the very bytes:
comments that are not UTF-8, ID3v2.2 tags, v2.4 footers, conversions to v2.3 only where nothing is lost,
and a refusal (the file untouched) wherever a write could not keep the rest exactly."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import mutagen
import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3, TMOO, TSOP, Encoding
from mutagen.ogg import OggPage

from tagger import chunks, tags
from tagger.cli import main
from tagger.formats import handler_for
from tagger.sniff import syncsafe
from tagger.tags import asf_raw
from tagger.tags.id3 import ID3Genres
from tagger.tags.id3_raw import syncsafe_bytes
from tests.conftest import encode_with_pyav, tone
from tests.tagtools import (
    add_id3,
    add_title_artist_cover_comment,
    assert_refused_untouched,
    decoded,
    digest,
    write_then_undo,
)

NOT_UTF8 = b"TITLE=caf\xe9 cr\xe8me"  # Latin-1, as old Windows taggers wrote it


def _replace_in_ogg(path: Path, old: bytes, new: bytes) -> None:
    """Swap equal-length bytes inside an Ogg page, with the page's checksum made right again."""
    with open(path, "r+b") as handle:
        while True:
            offset = handle.tell()
            page = OggPage(handle)
            if any(old in packet for packet in page.packets):
                page.packets = [packet.replace(old, new) for packet in page.packets]
                handle.seek(offset)
                handle.write(page.write())
                return


def _with_latin1_title(path: Path, padding: int | None = None) -> Path:
    """A FLAC or Ogg file whose title comment is Latin-1 bytes (not valid UTF-8), with an artist and a genre."""
    audio = mutagen.File(str(path))
    if audio.tags is None:
        audio.add_tags()
    placeholder = NOT_UTF8.replace(b"\xe9", b"e").replace(b"\xe8", b"e")
    audio.tags["TITLE"] = placeholder.split(b"=", 1)[1].decode()
    audio.tags["ARTIST"] = ["One", "Two"]
    audio.tags["GENRE"] = "Pop"
    audio.save(**({} if padding is None else {"padding": lambda info: padding}))
    if path.suffix == ".flac":
        path.write_bytes(path.read_bytes().replace(placeholder, NOT_UTF8))
    else:
        _replace_in_ogg(path, placeholder, NOT_UTF8)
    return path


@pytest.mark.parametrize("name", ["song.flac", "song.ogg", "song.opus"])
@pytest.mark.parametrize("genres", [["Rock"], [f"Genre number {n} " * 40 for n in range(40)]],
                         ids=["fits the padding", "grows the comments"])
def test_comments_that_are_not_utf8_survive_a_write_and_an_undo(make_audio, name, genres):
    path = _with_latin1_title(make_audio(name), padding=0 if len(genres) > 1 else None)
    samples = decoded(path) if not name.endswith(".opus") else None

    written = write_then_undo(path, genres)

    assert NOT_UTF8 in written and written.count(b"ARTIST=") == 2
    if samples is not None:
        tags.write_genres(path, handler_for(path), genres)
        assert (decoded(path) == samples).all()


@pytest.mark.parametrize("genres", [["Rock"], [f"Genre number {n} " * 40 for n in range(40)]],
                         ids=["fits the padding", "grows the comments"])
def test_ogg_flac_comments_are_edited_as_raw_as_the_others(tmp_path, genres):
    path = tmp_path / "song.oga"
    encode_with_pyav(path, tone(6.0), 22_050, "flac", "ogg", "s16", 4096)
    _with_latin1_title(path)

    written = write_then_undo(path, genres)

    assert NOT_UTF8 in written and written.count(b"ARTIST=") == 2


def _v22_tag(frames: list[tuple[bytes, bytes]], padding: int = 64) -> bytes:
    body = b"".join(frame_id + len(data).to_bytes(3, "big") + data for frame_id, data in frames)
    body += b"\x00" * padding
    size = len(body)
    return b"ID3\x02\x00\x00" + syncsafe_bytes(size) + body


V22_FRAMES = [
    (b"TT2", b"\x00A title"),
    (b"TP1", b"\x01\xff\xfeA\x00r\x00t\x00"),
    (b"CRM", b"owner@example.com\x00encrypted notes\x00\x01\x02\x03"),  # no v2.3/v2.4 equivalent
    (b"TCO", b"\x00(17)"),
    (b"TXX", b"\x00Label\x00Value"),
]


@pytest.mark.parametrize("genres", [["Jazz"], ["Genre " * 60 + "End"]], ids=["fits the padding", "grows the tag"])
def test_an_id3v22_tag_stays_v22_with_every_frame_kept(make_audio, genres):
    path = make_audio("old.mp3")
    audio = path.read_bytes()
    path.write_bytes(_v22_tag(V22_FRAMES) + audio)

    written = write_then_undo(path, genres)

    assert written[:4] == b"ID3\x02" and written.endswith(audio)
    for frame_id, data in V22_FRAMES:
        if frame_id != b"TCO":
            assert frame_id + len(data).to_bytes(3, "big") + data in written


def _with_footer(path: Path) -> bytes:
    """Give the file's v2.4 tag (no padding, as v2.4 requires) a footer; returns the audio after it."""
    ID3(str(path)).save(str(path), padding=lambda info: 0)
    data = bytearray(path.read_bytes())
    end = 10 + syncsafe(data[6:10])
    data[5] |= 0x10
    footer = b"3DI" + bytes(data[3:10])
    path.write_bytes(bytes(data[:end]) + footer + bytes(data[end:]))
    return bytes(data[end:])


@pytest.mark.parametrize("genres", [["Rock"], ["A much longer genre than the one before", "Second"]])
def test_an_id3v24_footer_moves_with_the_tag_and_no_stray_bytes_are_left(make_audio, genres):
    path = make_audio("footer.mp3")
    add_id3(path, 4)
    audio = _with_footer(path)

    written = write_then_undo(path, genres)

    header_size = 10 + syncsafe(written[6:10])
    assert written[5] & 0x10 and written[header_size : header_size + 10] == b"3DI" + written[3:10]
    assert written[header_size + 10 :] == audio and written.count(b"3DI") == 1


def test_an_id3v1_tag_that_disagrees_with_v2_is_left_byte_for_byte(make_audio):
    path = make_audio("both.mp3")
    add_id3(path, 3)
    v1 = b"TAG" + b"Other title".ljust(30, b"\x00") + b"Other artist".ljust(30, b"\x00") + b"\x00" * 64 + b"\x11"
    path.write_bytes(path.read_bytes() + v1)

    written = write_then_undo(path, ["Ambient"])

    assert written.endswith(v1) and "TALB" in ID3(str(path), load_v1=False)


def _v24_with_sort_orders(path: Path) -> None:
    add_id3(path, 4)
    tags_ = ID3(str(path))
    tags_.add(TSOP(encoding=Encoding.UTF8, text="Artist, The"))
    tags_.add(TMOO(encoding=Encoding.UTF8, text="Calm"))
    tags_.save(str(path))


def _scan(root: Path, tiny_model: Path, state: Path, *extra: str):
    return CliRunner().invoke(main, ["scan", str(root), "--write-tags", "--mode", "replace", "--min-confidence", "0",
                                     "--jobs", "1", "--model", str(tiny_model), "--state-dir", str(state), *extra])


def test_id3v23_refuses_a_conversion_that_would_drop_frames_and_names_them(make_audio, tiny_model, tmp_path):
    path = make_audio("lib/sorted.mp3")
    _v24_with_sort_orders(path)
    original = digest(path)

    result = _scan(path.parent, tiny_model, tmp_path / "state", "--id3v23")

    assert "TMOO" in result.output and "TSOP" in result.output and digest(path) == original
    assert _scan(path.parent, tiny_model, tmp_path / "state").exit_code == 0
    assert ID3(str(path)).version == (2, 4, 0) and "TSOP" in ID3(str(path)) and "TMOO" in ID3(str(path))


def test_id3v23_converts_a_tag_it_can_carry_whole_and_undo_gives_the_v24_tag_back(make_audio):
    path = make_audio("convertible.mp3")
    add_id3(path, 4)  # its date (1999-05-01) becomes TYER 1999 and TDAT 0105 exactly

    written = write_then_undo(path, ["Soul"], id3v23=True)

    assert written[3] == 3 and b"TYER" in written and b"TDAT" in written


@pytest.mark.parametrize("damage", ["junk after the frames", "a checksum of the frames",
                                    "an extended header flag with frames where the header should be"])
@pytest.mark.parametrize("version", [3, 4])
def test_a_tag_that_cannot_be_written_back_exactly_is_refused_untouched(make_audio, damage, version):
    path = make_audio("damaged.mp3")
    add_id3(path, version)
    data = bytearray(path.read_bytes())
    if damage == "junk after the frames":
        end_of_frames = data.index(b"\x00" * 64, 10)
        data[end_of_frames + 8 : end_of_frames + 12] = b"junk"
    elif damage.startswith("an extended header flag"):  # the frames would be read as the extended header
        data[5] |= 0x40
    elif version == 4:  # a v2.4 extended header with the CRC flag
        size = syncsafe(data[6:10]) + 12
        data[5] |= 0x40
        data[6:10] = syncsafe_bytes(size)
        data[10:10] = b"\x00\x00\x00\x0c\x01\x20\x05\x01\x02\x03\x04\x05"
    else:  # a v2.3 extended header with the CRC flag
        size = syncsafe(data[6:10]) + 14
        data[5] |= 0x40
        data[6:10] = syncsafe_bytes(size)
        data[10:10] = b"\x00\x00\x00\x0a\x80\x00\x00\x00\x00\x00\x12\x34\x56\x78"
    path.write_bytes(bytes(data))
    assert_refused_untouched(path)


def test_a_write_that_would_change_anything_else_is_refused_before_the_file_is_replaced(make_audio, monkeypatch):
    path = make_audio("guarded.mp3")
    add_id3(path, 4)
    real_write = ID3Genres.write

    def careless_write(self, target, genres):  # a defect that also renames the album
        real_write(self, target, genres)
        target.write_bytes(target.read_bytes().replace(b"Album", b"Alpha"))

    monkeypatch.setattr(ID3Genres, "write", careless_write)
    assert_refused_untouched(path, "TALB")


def _identity(path: Path) -> tuple:
    status = os.stat(path)
    return status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode), status.st_nlink


def test_a_scan_and_its_undo_give_every_file_back_byte_for_byte(make_audio, tiny_model, tmp_path):
    root = tmp_path / "library"
    files = [_with_latin1_title(make_audio(f"library/latin1{suffix}")) for suffix in (".flac", ".ogg", ".opus")]
    v22 = make_audio("library/v22.mp3")
    v22.write_bytes(_v22_tag(V22_FRAMES) + v22.read_bytes())
    footer = make_audio("library/footer.mp3")
    add_id3(footer, 4)
    _with_footer(footer)
    files += [v22, footer]
    os.chmod(footer, 0o640)
    before = {path: (digest(path), _identity(path)) for path in files}

    scanned = _scan(root, tiny_model, tmp_path / "state", "--top-k", "2")  # two genres: every file changes
    assert scanned.exit_code == 0, scanned.output
    assert all(digest(path) != before[path][0] and _identity(path) == before[path][1] for path in files), \
        scanned.output
    undone = CliRunner().invoke(main, ["undo", "--state-dir", str(tmp_path / "state")])

    assert undone.exit_code == 0, undone.output
    assert {path: (digest(path), _identity(path)) for path in files} == before


def test_a_footer_flag_without_a_footer_is_refused_before_audio_bytes_are_taken_for_it(make_audio):
    path = make_audio("no-footer.mp3")
    add_id3(path, 4)
    data = bytearray(path.read_bytes())
    data[5] |= 0x10  # says a footer follows the frames; what follows is the first MPEG frame
    path.write_bytes(bytes(data))
    assert_refused_untouched(path, "footer")


@pytest.mark.parametrize("name", ["song.ogg", "song.opus"])
def test_an_ogg_header_page_with_a_wrong_checksum_is_refused_not_silently_repaired(make_audio, name):
    path = _with_latin1_title(make_audio(name))
    data = bytearray(path.read_bytes())
    data[data.index(b"ARTIST=") + 7] ^= 0x20  # one letter of a comment changes; the page's checksum does not
    path.write_bytes(bytes(data))
    assert_refused_untouched(path, "checksum")


def _poke(path: Path, at: int, value: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] = value
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["song.flac", "song.wma"])
def test_padding_that_holds_something_is_kept_not_resized(make_audio, name):
    """A FLAC PADDING block or an ASF padding object is resized only where it is all zeros; one that holds
    a stray byte is left as it is (the tag grows around it), so undo gives it back."""
    path = make_audio(name)
    add_title_artist_cover_comment(path)
    with open(path, "rb") as handle:
        if name.endswith(".flac"):
            padding = next(block for block in chunks.flac_blocks(handle, 0)[0] if block.chunk_id == b"\x01")
            at = padding.data + padding.size // 2
        else:
            at = path.read_bytes().index(asf_raw.PADDING) + asf_raw.OBJECT_HEADER + 4
    _poke(path, at, 1)
    write_then_undo(path, ["Rock", "Jazz"])


def test_an_apev2_tag_whose_header_and_footer_disagree_is_refused_untouched(make_audio):
    path = make_audio("song.wv")
    add_title_artist_cover_comment(path)  # mutagen writes a header and a footer
    data = path.read_bytes()
    _poke(path, data.index(b"APETAGEX") + 12, data[data.index(b"APETAGEX") + 12] ^ 1)  # the header's size
    assert_refused_untouched(path, "disagree")
