"""A hostile library: every broken, odd or protected file gets the right handling or a one-line error,
and the run goes on."""

import json
import os
import stat

import numpy as np
import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3, TIT2, Encoding

from tagger.cli import main
from tests.conftest import tone, write_audio
from tests.tagtools import add_id3, digest, id3_frames_except_genre


def build_hostile_library(root):
    """Returns {name: expected status or set of acceptable statuses}."""
    expected = {}

    def good(name, samples, rate=22_050):
        write_audio(root / name, samples, rate)
        expected[name] = "tagged"

    good("plain.mp3", tone(6))
    good("with spaces and ünïcödé – 日本.mp3", tone(6, seed=1))
    good("rate 8k.flac", tone(6, 8_000), 8_000)
    good("rate 48k stereo.ogg", tone(6, 48_000, channels=2), 48_000)
    good("six channels.flac", tone(6, channels=6))
    good("shorter than a window.mp3", tone(1.0))

    write_audio(root / "silence.mp3", np.zeros(22_050 * 6, np.float32))
    expected["silence.mp3"] = "skipped"

    full = write_audio(root / "truncated.mp3", tone(20, seed=2)).read_bytes()
    (root / "truncated.mp3").write_bytes(full[: len(full) // 3])
    expected["truncated.mp3"] = {"tagged", "error"}  # what is left decodes, or a clear error

    (root / "empty.mp3").write_bytes(b"")
    (root / "random bytes.mp3").write_bytes(np.random.default_rng(0).bytes(50_000))
    (root / "a text file.mp3").write_text("not audio\n" * 100)
    for name in ("empty.mp3", "random bytes.mp3", "a text file.mp3"):
        expected[name] = "error"

    broken = write_audio(root / "broken frame.mp3", tone(6, seed=3))
    add_id3(broken, 4)
    data = bytearray(broken.read_bytes())
    data[3] = 7  # an ID3v2.7 header: unparseable, must not be replaced by a fresh tag
    broken.write_bytes(bytes(data))
    expected["broken frame.mp3"] = "skipped"  # valid audio, a tag we cannot edit safely: left, with the reason

    bad_text = write_audio(root / "bad encoding.mp3", tone(6, seed=4))
    tags = ID3()
    tags.add(TIT2(encoding=Encoding.LATIN1, text="caf\xe9"))
    tags.save(str(bad_text), v2_version=3)
    raw = bytearray(bad_text.read_bytes())
    raw[raw.index(b"caf") - 1] = 9  # text encoding byte 9 does not exist
    bad_text.write_bytes(bytes(raw))
    expected["bad encoding.mp3"] = "tagged"  # the frame mutagen cannot parse is kept byte for byte

    padded = write_audio(root / "huge padding.mp3", tone(6, seed=5))
    add_id3(padded, 3)
    ID3(str(padded), translate=False).save(str(padded), v2_version=3, padding=lambda info: 4 * 1024 * 1024)
    expected["huge padding.mp3"] = "tagged"

    locked = write_audio(root / "read only.mp3", tone(6, seed=6))
    os.chmod(locked, stat.S_IRUSR | stat.S_IRGRP)
    expected["read only.mp3"] = "skipped"  # the owner said no: not a failure

    (root / "folder.mp3").mkdir()
    write_audio(root / "folder.mp3" / "inside.mp3", tone(6, seed=7))
    expected["folder.mp3/inside.mp3"] = "tagged"

    os.symlink("loop-b.mp3", root / "loop-a.mp3")
    os.symlink("loop-a.mp3", root / "loop-b.mp3")
    expected["loop-a.mp3"] = expected["loop-b.mp3"] = "error"
    os.symlink(root, root / "folder.mp3" / "link to root")  # a directory loop must not trap the walk
    return expected


def test_hostile_library(tmp_path, tiny_model):
    root = tmp_path / "library"
    root.mkdir()
    expected = build_hostile_library(root)
    broken_before = digest(root / "broken frame.mp3")
    bad_frame = _title_frame(root / "bad encoding.mp3")
    padded_frames = id3_frames_except_genre(root / "huge padding.mp3")
    report = tmp_path / "report.json"
    result = CliRunner().invoke(main, [
        "scan", str(root), "--write-tags", "--mode", "replace", "--model", str(tiny_model),
        "--state-dir", str(tmp_path / "state"), "--jobs", "2", "--report", str(report),
    ], catch_exceptions=False)

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    records = json.loads(report.read_text())
    by_name = {os.path.relpath(r["path"], root.resolve()) if "loop" not in r["path"] else os.path.basename(r["path"]): r
               for r in records}
    assert set(by_name) == set(expected), sorted(set(by_name) ^ set(expected))
    for name, status in expected.items():
        record = by_name[name]
        allowed = status if isinstance(status, set) else {status}
        assert record["status"] in allowed, (name, record)
        if record["status"] in ("error", "skipped"):  # an error says why it failed, a skip why it was left
            why = record["error"] if record["status"] == "error" else record["reason"]
            assert why and "\n" not in why and not record["error" if why is record["reason"] else "reason"], \
                (name, record)
    error_lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error_lines) == sum(1 for r in records if r["status"] == "error")
    assert digest(root / "broken frame.mp3") == broken_before
    assert _title_frame(root / "bad encoding.mp3") == bad_frame
    assert id3_frames_except_genre(root / "huge padding.mp3") == padded_frames
    assert not list(root.rglob("*.tagger-tmp"))


def _title_frame(path):
    data = path.read_bytes()
    start = data.index(b"TIT2")
    return data[start : start + 10 + int.from_bytes(data[start + 4 : start + 8], "big")]


def test_unreadable_file_is_an_error_not_a_crash(tmp_path, tiny_model):
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their permission bits")
    song = write_audio(tmp_path / "lib" / "secret.mp3", tone(6))
    os.chmod(song, 0)
    try:
        result = CliRunner().invoke(main, ["scan", str(song.parent), "--model", str(tiny_model),
                                           "--state-dir", str(tmp_path / "state")])
        assert result.exit_code == 1 and "secret.mp3" in result.output
    finally:
        os.chmod(song, 0o600)
