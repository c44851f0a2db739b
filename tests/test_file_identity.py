"""The file as an object: a tag write keeps its owner, mode, links, extended attributes and holes, and
refuses to race with other programs writing the same file. Each test checks the bytes, the tags and the
file-system metadata before and after (and after undo)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from tagger import atomic, tags
from tagger.cli import main
from tagger.formats import format_for, handler_for
from tests.tagtools import add_id3, digest, id3_frames_except_genre, mp3_audio_bytes


def _identity(path: Path) -> tuple:
    """What a write must keep of the file itself (its times and content aside)."""
    status = os.lstat(path)
    attributes = {name: os.getxattr(path, name) for name in os.listxattr(path)} if hasattr(os, "listxattr") else {}
    return status.st_ino, status.st_nlink, status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode), attributes


def _scan(path: Path, tiny_model: Path, state: Path, *extra: str):
    return CliRunner().invoke(main, ["scan", str(path), "--write-tags", "--mode", "replace", "--min-confidence", "0",
                                     "--jobs", "1", "--model", str(tiny_model), "--state-dir", str(state), *extra])


def _undo(state: Path):
    return CliRunner().invoke(main, ["undo", "--state-dir", str(state)])


@pytest.fixture
def tagged_song(make_audio):
    song = make_audio("lib/song.mp3")
    add_id3(song, 4)
    return song


def _can_set_user_attributes(path: Path) -> bool:
    try:
        os.setxattr(path, "user.tagger-probe", b"1")
        os.removexattr(path, "user.tagger-probe")
    except OSError:
        return False
    return True


def test_mode_setuid_owner_and_attributes_are_kept_through_write_and_undo(tagged_song, tiny_model, tmp_path):
    os.chmod(tagged_song, 0o6640)
    if os.geteuid() == 0:
        os.chown(tagged_song, 4321, 8765)  # root writes it: the file must stay someone else's
    if _can_set_user_attributes(tagged_song):
        os.setxattr(tagged_song, "user.comment", b"kept byte for byte \x00\xff")
        os.setxattr(tagged_song, "user.xdg.origin.url", b"https://example.org/song")
    before, frames, audio = _identity(tagged_song), id3_frames_except_genre(tagged_song), mp3_audio_bytes(tagged_song)
    original = digest(tagged_song)
    result = _scan(tagged_song, tiny_model, tmp_path / "state")
    assert result.exit_code == 0 and "tagged 1" in result.output, result.output
    after = _identity(tagged_song)
    assert after[1:] == before[1:]  # links, owner, mode with setuid/setgid, attributes
    assert id3_frames_except_genre(tagged_song) == frames and mp3_audio_bytes(tagged_song) == audio
    assert _undo(tmp_path / "state").exit_code == 0
    assert _identity(tagged_song)[1:] == before[1:] and digest(tagged_song) == original


def test_the_copy_is_never_wider_open_than_the_original(tagged_song, monkeypatch):
    """A private file (0600) is never readable by others, not even while its copy is being made."""
    os.chmod(tagged_song, 0o600)
    seen_modes = []
    real_open = os.open

    def watching_open(path, flags, mode=0o777, *arguments, **options):
        descriptor = real_open(path, flags, mode, *arguments, **options)
        if str(path).endswith(atomic.TEMP_SUFFIX):
            seen_modes.append(stat.S_IMODE(os.fstat(descriptor).st_mode))
        return descriptor

    monkeypatch.setattr(os, "open", watching_open)
    tags.write_genres(tagged_song, handler_for(tagged_song), ["Jazz"])
    monkeypatch.undo()
    assert seen_modes and all(mode & ~0o600 == 0 for mode in seen_modes)
    assert stat.S_IMODE(tagged_song.stat().st_mode) == 0o600


def test_hard_links_stay_one_file_and_every_name_sees_the_new_genre(tagged_song, tiny_model, tmp_path):
    other_name = tmp_path / "elsewhere.mp3"
    os.link(tagged_song, other_name)
    before, original = _identity(tagged_song), digest(tagged_song)
    frames, audio = id3_frames_except_genre(tagged_song), mp3_audio_bytes(tagged_song)
    result = _scan(tagged_song, tiny_model, tmp_path / "state")
    assert result.exit_code == 0 and "tagged 1" in result.output, result.output
    assert _identity(tagged_song) == before  # same inode, still two links
    assert digest(other_name) == digest(tagged_song) != original
    assert id3_frames_except_genre(tagged_song) == frames and mp3_audio_bytes(tagged_song) == audio
    assert _undo(tmp_path / "state").exit_code == 0
    assert digest(other_name) == digest(tagged_song) == original and _identity(tagged_song) == before


def test_a_hard_linked_file_whose_tag_must_grow_is_refused_not_split(make_audio, tiny_model, tmp_path):
    """In place, the file's size must stay: a tag with no room is left as it was, links intact."""
    song = make_audio("lib/song.mp3")  # no tag at all: a new one must be inserted
    os.link(song, tmp_path / "second-name.mp3")
    before, original = _identity(song), digest(song)
    result = _scan(song, tiny_model, tmp_path / "state", "--verbose")
    assert "does not fit in its padding" in result.output and "tagged 0" in result.output, result.output
    assert _identity(song) == before and digest(song) == original


def test_holes_of_a_sparse_file_stay_holes(tagged_song, tmp_path):
    sparse = tmp_path / "sparse.mp3"
    shutil.copy(tagged_song, sparse)
    with open(sparse, "r+b") as handle:
        handle.truncate(1 << 28)  # a 256 MiB hole after the audio
    allocated = os.stat(sparse).st_blocks
    if allocated * 512 >= 1 << 27:
        pytest.skip("this file system does not keep sparse files")
    tags.write_genres(sparse, handler_for(sparse), ["Jazz"])
    assert os.stat(sparse).st_size == 1 << 28
    assert os.stat(sparse).st_blocks <= allocated + 64  # a few blocks of tag, not 256 MiB of zeros
    assert handler_for(sparse).read_genres(sparse) == ["Jazz"]


def test_a_file_open_for_writing_by_another_program_is_left_alone(tagged_song, tiny_model, tmp_path):
    original = digest(tagged_song)
    with open(tagged_song, "ab"):  # a download still in progress
        result = _scan(tagged_song, tiny_model, tmp_path / "state", "--verbose")
    if "open for writing" not in result.output:
        pytest.skip("no file leases here (not Linux, or a file system without them)")
    assert "tagged 0" in result.output and digest(tagged_song) == original


def test_an_edit_by_another_program_during_the_write_is_kept(tagged_song):
    """Another program opens the file to write while our copy is being edited. With a lease its open waits
    (here: fails, being non-blocking) and we give way; without one it writes at once and the changed status
    stops our rename. Either way its bytes end up in the file and ours do not."""
    handler = handler_for(tagged_song)
    theirs = b"the other program's bytes"
    waiting = []

    def edit_while_another_program_writes(copy: Path) -> None:
        handler.write(copy, ["Jazz"])
        try:
            other = os.open(tagged_song, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
        except BlockingIOError:
            waiting.append(True)
            return
        os.write(other, theirs)
        os.close(other)

    with pytest.raises(atomic.WriteRefusedError, match="changed while it was being written"):
        atomic.rewrite(tagged_song, edit_while_another_program_writes)
    if waiting:  # we gave the file up: the other program's open now goes through
        with open(tagged_song, "ab") as other:
            other.write(theirs)
    assert tagged_song.read_bytes().endswith(theirs)
    assert handler.read_genres(tagged_song) == ["Pop"]


def test_a_file_replaced_by_another_song_during_analysis_is_neither_tagged_nor_cached(make_audio, tiny_model,
                                                                                       tmp_path, monkeypatch):
    import tagger.workers

    song = make_audio("lib/song.mp3", frequencies=(220.0,))
    other_song = make_audio("other.mp3", seconds=9, frequencies=(880.0,))
    real_analyses = tagger.workers.analyze_in_processes

    def analyses_while_replaced(*arguments):
        for analysis in real_analyses(*arguments):
            shutil.copy(other_song, song)  # a sync tool puts another recording under the same name
            yield analysis

    monkeypatch.setattr(tagger.workers, "analyze_in_processes", analyses_while_replaced)
    result = _scan(song, tiny_model, tmp_path / "state", "--verbose")
    assert "changed while it was being analysed" in result.output and "tagged 0" in result.output, result.output
    assert digest(song) == digest(other_song)
    monkeypatch.undo()
    again = _scan(song, tiny_model, tmp_path / "state")
    assert "tagged 1" in again.output and "from cache" not in again.output  # analysed afresh, not the old verdict


@pytest.mark.parametrize(("content", "named"), [("x.ogg", "song.mp3"), ("x.wav", "song.mp3"), ("x.flac", "song.mp3"),
                                                ("x.mp3", "song.flac"), ("x.ogg", "song.flac"), ("x.mp3", "song.m4a"),
                                                ("x.dsf", "song.mp3"), ("x.wav", "song.aiff"), ("x.aiff", "song.dsf")])
def test_a_name_that_lies_about_the_content_is_refused(content, named, make_audio, tiny_model, tmp_path):
    source = make_audio(content)
    song = source.rename(tmp_path / named)
    original = digest(song)
    result = _scan(song, tiny_model, tmp_path / "state")
    claimed = format_for(song).container
    assert f"not {claimed} as its name says" in result.output, result.output
    assert "skipped 1" in result.output  # analysed, and its tags left alone: not a failure
    assert result.exit_code == 0 and digest(song) == original
