"""Property-based: for generated tags and genre lists, writing genres never loses or alters another
frame, the genres read back as written, and undo restores the file byte for byte."""

import shutil

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mutagen.id3 import COMM, ID3, TALB, TCON, TIT2, TPE1, TXXX, Encoding

from tagger.formats import TagHandlers, handler_for
from tagger.tags import TagError, restore_genres, write_genres
from tests.conftest import tone, write_audio
from tests.tagtools import add_title_artist_cover_comment, digest, id3_frames_except_genre, mp3_audio_bytes

text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)
genre = st.text(st.characters(whitelist_categories=("L", "N", "Zs"), whitelist_characters="-&'"),
                min_size=1, max_size=20).map(str.strip).filter(lambda g: g and not g.isdigit())
frames = st.lists(st.tuples(st.sampled_from(["TIT2", "TPE1", "TALB", "COMM", "TXXX"]), text, text), max_size=8)
FRAME = {"TIT2": TIT2, "TPE1": TPE1, "TALB": TALB}


@pytest.fixture(scope="module")
def base_mp3(tmp_path_factory):
    return write_audio(tmp_path_factory.mktemp("fuzz") / "base.mp3", tone(2.0))


def build_tag(path, version, content, existing_genre):
    tags = ID3()
    encoding = Encoding.UTF8 if version == 4 else Encoding.UTF16
    for kind, value, description in content:
        if kind == "COMM":
            tags.add(COMM(encoding=encoding, lang="eng", desc=description, text=value))
        elif kind == "TXXX":
            tags.add(TXXX(encoding=encoding, desc=description, text=value))
        else:
            tags.add(FRAME[kind](encoding=encoding, text=value))
    if existing_genre is not None:
        tags.add(TCON(encoding=encoding, text=existing_genre))
    tags.save(str(path), v2_version=version)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(version=st.sampled_from([3, 4]), content=frames, existing=st.none() | genre,
       genres=st.lists(genre, min_size=1, max_size=4, unique_by=str.casefold), force_v23=st.booleans())
def test_writing_genres_keeps_every_other_frame(base_mp3, tmp_path, version, content, existing, genres, force_v23):
    path = tmp_path / "song.mp3"
    shutil.copyfile(base_mp3, path)
    build_tag(path, version, content, existing)
    others, audio, original = id3_frames_except_genre(path), mp3_audio_bytes(path), digest(path)
    handler = TagHandlers(id3v23=force_v23).handler_for(path)
    before = handler.snapshot(path)

    write_genres(path, handler, genres)

    assert handler.read_genres(path) == genres
    assert mp3_audio_bytes(path) == audio
    if not force_v23 or version == 3:
        assert id3_frames_except_genre(path) == others
    restore_genres(path, handler_for(path), before)
    assert handler.matches(path, before) and digest(path) == original


# Where each kind of file keeps its tag: the ID3 tag of an AIFF or DSF, an M4A's item list, a WMA's extended
# content description, a WavPack's APEv2 footer (an MP3's tag is its start).
TAG_MARKERS = {".aiff": b"ID3", ".dsf": b"ID3", ".m4a": b"ilst", ".wma": bytes.fromhex("40a4d0d207e3d211"),
               ".wv": b"APETAGEX", ".flac": b"TITLE=", ".ogg": b"TITLE=", ".opus": b"TITLE="}


@pytest.fixture(scope="module")
def tagged_containers(tmp_path_factory):
    """A file of each format with a tag we edit raw, each with a title, artist, cover and comment in its
    own kind of tag, to damage."""
    folder = tmp_path_factory.mktemp("containers")
    files = []
    for suffix in (".mp3", ".aiff", ".dsf", ".m4a", ".wma", ".wv", ".flac", ".ogg", ".opus"):
        rate = 48_000 if suffix == ".opus" else 22_050
        path = write_audio(folder / f"base{suffix}", tone(0.5, rate, channels=2), rate)
        add_title_artist_cover_comment(path)
        files.append(path)
    return files


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, 8), where=st.sampled_from(["the start", "the tag", "anywhere"]),
       damage=st.lists(st.tuples(st.integers(0, 127), st.floats(0, 0.999), st.integers(0, 255)), min_size=1,
                       max_size=4))
def test_a_damaged_container_or_tag_is_tagged_and_undone_exactly_or_refused_untouched(tagged_containers, tmp_path,
                                                                                       which, where, damage):
    """Bytes overwritten at random (in the container's header and chunk headers, in the tag's place, or
    anywhere): a write either succeeds and undoes byte for byte, or is refused with TagError and leaves
    the file alone; it never raises anything else and never leaves a changed file behind a refusal."""
    source = tagged_containers[which]
    path = tmp_path / source.name
    data = bytearray(source.read_bytes())
    marker = TAG_MARKERS.get(source.suffix)
    offset = data.rindex(marker) if where == "the tag" and marker else 0
    for near, fraction, value in damage:
        data[int(fraction * len(data)) if where == "anywhere" else min(offset + near, len(data) - 1)] = value
    path.write_bytes(bytes(data))
    original = digest(path)
    handler = handler_for(path)
    try:
        before = handler.snapshot(path)
        write_genres(path, handler, ["Rock"])
    except TagError:
        event("refused")
        assert digest(path) == original
        return
    event("written")
    restore_genres(path, handler, before)
    assert digest(path) == original
