"""Property-based: for generated tags and genre lists, writing genres never loses or alters another
frame, the genres read back as written, and undo restores the file byte for byte."""

import shutil

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mutagen.id3 import COMM, ID3, TALB, TCON, TIT2, TPE1, TXXX, Encoding

from tagger.formats import handler_for
from tagger.tags import TagError, restore_genres, write_genres
from tests.conftest import tone, write_audio
from tests.tagtools import digest, id3_frames_except_genre, mp3_audio_bytes

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


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(version=st.sampled_from([3, 4]), content=frames, existing=st.none() | genre,
       genres=st.lists(genre, min_size=1, max_size=4, unique_by=str.casefold), force_v23=st.booleans())
def test_writing_genres_keeps_every_other_frame(base_mp3, tmp_path, version, content, existing, genres, force_v23):
    path = tmp_path / "song.mp3"
    shutil.copyfile(base_mp3, path)
    build_tag(path, version, content, existing)
    others, audio, original = id3_frames_except_genre(path), mp3_audio_bytes(path), digest(path)
    handler = handler_for(path)
    before = handler.snapshot(path, id3v23=force_v23)

    write_genres(path, handler_for(path), genres, id3v23=force_v23)

    assert handler.read_genres(path) == genres
    assert mp3_audio_bytes(path) == audio
    if not force_v23 or version == 3:
        assert id3_frames_except_genre(path) == others
    restore_genres(path, handler_for(path), before)
    assert handler.matches(path, before) and digest(path) == original


@pytest.fixture(scope="module")
def tagged_containers(tmp_path_factory):
    """An MP3, an AIFF and a DSF, each with an ID3 tag in its place, to damage."""
    from mutagen.aiff import AIFF
    from mutagen.dsf import DSF
    from mutagen.mp3 import MP3

    folder = tmp_path_factory.mktemp("containers")
    files = []
    for name, kind in (("base.mp3", MP3), ("base.aiff", AIFF), ("base.dsf", DSF)):
        path = write_audio(folder / name, tone(0.5, channels=2))
        audio = kind(str(path))
        audio.add_tags()
        audio.tags.add(TIT2(encoding=Encoding.UTF8, text="Title"))
        audio.save()
        files.append(path)
    return files


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, 2), damage=st.lists(st.tuples(st.integers(0, 127), st.integers(0, 255)), min_size=1,
                                                   max_size=4),
       at_the_tag=st.booleans())
def test_a_damaged_container_or_tag_is_tagged_and_undone_exactly_or_refused_untouched(tagged_containers, tmp_path,
                                                                                       which, damage, at_the_tag):
    """Bytes of the container's header and chunk headers (or of the tag's place) overwritten at random: a
    write either succeeds and undoes byte for byte, or is refused with TagError and leaves the file alone;
    it never raises anything else and never leaves a changed file behind a refusal."""
    source = tagged_containers[which]
    path = tmp_path / source.name
    data = bytearray(source.read_bytes())
    offset = data.index(b"ID3", 12) if at_the_tag and source.suffix != ".mp3" else 0
    for position, value in damage:
        data[offset + position] = value
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
