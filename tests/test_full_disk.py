"""A disk that fills up, or fails, never costs a byte: every write path (the private copy, the in-place
write, the journal, the cache, the report) checks what it wrote, and the file stays exactly as it was.

The real cases run on a small tmpfs that the test mounts (root, as in CI; skipped where mounting is not
allowed); the short writes a filling disk returns are also injected where no mount is needed.
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tagger import atomic, tags
from tagger.cli import main
from tagger.formats import handler_for
from tests.tagtools import add_id3, digest


def scan(*arguments, env=None):
    return CliRunner().invoke(main, ["scan", *map(str, arguments)], env=env)


def _common(tiny_model, state):
    return ["--model", tiny_model, "--state-dir", state, "--min-confidence", "0", "--mode", "replace", "--jobs", "1"]


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB file system of its own, and a way to fill it up to ``free`` bytes."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` until only about ``leave`` bytes are free; delete the returned file to free it again."""
    filler = disk / "filler.bin"
    status = os.statvfs(disk)
    free = status.f_bavail * status.f_frsize
    with open(filler, "ab") as handle:
        handle.write(b"\xaa" * max(0, free - leave))
    return filler


def free_bytes(disk: Path) -> int:
    status = os.statvfs(disk)
    return status.f_bavail * status.f_frsize


def test_a_scan_on_a_full_disk_leaves_every_file_as_it_was_and_says_so(make_audio, tiny_model, small_disk,
                                                                        tmp_path):
    songs = [make_audio(f"lib/song{index}.mp3", seconds=6) for index in range(3)]
    for song in songs:
        add_id3(song, 4)
    library = small_disk / "lib"
    library.mkdir()
    moved = [library / song.name for song in songs]
    for song, target in zip(songs, moved, strict=True):
        target.write_bytes(song.read_bytes())
    before = {path: digest(path) for path in moved}
    size = moved[0].stat().st_size
    filler = fill(small_disk, leave=size // 3)  # a copy starts, then the disk fills: a short write
    assert 0 < free_bytes(small_disk) < size

    result = scan(library, "--write-tags", *_common(tiny_model, tmp_path / "state"))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 1, result.output
    assert "tagged 0" in result.output and "failed 3" in result.output
    assert result.output.count("the disk is full") == 3, result.output
    assert {path: digest(path) for path in moved} == before
    assert sorted(path.name for path in library.iterdir()) == sorted(path.name for path in moved)  # no copies left

    filler.unlink()  # space again: the same scan tags them, and undo gives back every byte
    again = scan(library, "--write-tags", *_common(tiny_model, tmp_path / "state"))
    assert again.exit_code == 0 and "tagged 3" in again.output, again.output
    undone = CliRunner().invoke(main, ["undo", "--state-dir", str(tmp_path / "state")])
    assert undone.exit_code == 0, undone.output
    assert {path: digest(path) for path in moved} == before


def test_a_scratch_copy_for_an_in_place_write_on_a_full_disk_leaves_the_file_as_it_was(make_audio, small_disk,
                                                                                       monkeypatch):
    song = make_audio("song.mp3", seconds=6)
    add_id3(song, 4)
    os.link(song, song.with_name("second link.mp3"))  # other hard links: written in place, via a scratch copy
    before = digest(song)
    monkeypatch.setenv("TMPDIR", str(small_disk))
    monkeypatch.setattr("tempfile.tempdir", None)
    fill(small_disk, leave=song.stat().st_size // 3)
    with pytest.raises(atomic.WriteFailedError, match="the disk is full"):
        tags.write_genres(song, handler_for(song), ["Rock"])
    assert digest(song) == before


def test_a_full_state_directory_is_one_line_and_no_file_is_changed(make_audio, tiny_model, small_disk):
    song = make_audio("lib/song.mp3")
    add_id3(song, 4)
    before = digest(song)
    state = small_disk / "state"
    first = scan(song.parent, *_common(tiny_model, state))  # creates the database while there is room
    assert first.exit_code == 0, first.output
    fill(small_disk, leave=0)
    result = scan(song.parent, "--write-tags", "--force", *_common(tiny_model, state))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert any(line.startswith(("error:", "Error:")) and ("full" in line or "disk" in line)
               for line in result.output.splitlines()), result.output
    assert digest(song) == before


def test_a_report_on_a_full_disk_keeps_the_previous_report_whole(make_audio, tiny_model, small_disk, tmp_path):
    song = make_audio("lib/song.mp3")
    report = small_disk / "report.json"
    first = scan(song.parent, *_common(tiny_model, tmp_path / "state"), "--report", report)
    assert first.exit_code == 0, first.output
    previous = report.read_bytes()
    make_audio("lib/other.mp3")
    fill(small_disk, leave=0)
    result = scan(song.parent, *_common(tiny_model, tmp_path / "state"), "--report", report)
    assert result.exit_code == 1, result.output
    assert "error: cannot write the report" in result.output and "No space left on device" in result.output
    assert report.read_bytes() == previous
    assert [path.name for path in small_disk.iterdir() if path.name.endswith(atomic.TEMP_SUFFIX)] == []


def test_short_writes_are_continued_and_a_write_that_makes_no_progress_is_a_full_disk(make_audio, monkeypatch):
    """What a filling disk does to ``pwrite``: fewer bytes than asked, then none."""
    song = make_audio("song.mp3", seconds=6)
    add_id3(song, 4)
    real_pwrite = os.pwrite

    def short_pwrite(descriptor, data, offset):
        return real_pwrite(descriptor, bytes(data)[: max(1, len(data) // 3)], offset)

    monkeypatch.setattr(os, "pwrite", short_pwrite)
    tags.write_genres(song, handler_for(song), ["Rock"])
    assert handler_for(song).read_genres(song) == ["Rock"]

    before = digest(song)
    monkeypatch.setattr(os, "pwrite", lambda descriptor, data, offset: 0)
    with pytest.raises(atomic.WriteFailedError, match="the disk is full"):
        tags.write_genres(song, handler_for(song), ["Jazz"])
    assert digest(song) == before


def test_an_io_error_of_the_disk_is_one_line_and_the_file_stays(make_audio, tiny_model, tmp_path, monkeypatch):
    song = make_audio("lib/song.mp3")
    add_id3(song, 4)
    before = digest(song)

    def failing_fsync(descriptor):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(atomic.os, "fsync", failing_fsync)
    result = scan(song.parent, "--write-tags", *_common(tiny_model, tmp_path / "state"))
    assert result.exit_code == 1, result.output
    assert "the disk failed to read or write" in result.output
    assert digest(song) == before
    assert [path.name for path in song.parent.iterdir()] == [song.name]
