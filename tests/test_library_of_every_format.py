"""One library with a file of every format we can encode here, each with a title, an artist, a cover and a
comment, scanned with --write-tags by worker processes and undone: each is analysed, gets genres in its own
tag, keeps everything else, and comes back byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tagger import tags
from tagger.cli import main
from tagger.formats import format_for, handler_for
from tests.conftest import encode_with_pyav, tone, write_audio
from tests.tagtools import add_title_artist_cover_comment, digest, fields_except_genre
from trainer.data.cache import WaveformCache
from trainer.data.sources import from_tags

LIBSNDFILE_OR_PYAV = (".mp3", ".flac", ".ogg", ".opus", ".wav", ".aiff", ".m4a", ".wma", ".wv", ".dsf")


def _library(root: Path) -> list[Path]:
    files = [write_audio(root / f"song{suffix}", tone(5.0, 48_000 if suffix == ".opus" else 22_050, seed=index),
                         48_000 if suffix == ".opus" else 22_050)
             for index, suffix in enumerate(LIBSNDFILE_OR_PYAV)]
    alac = write_audio(root / "lossless.alac", tone(5.0, seed=11))
    files.append(alac.rename(root / "lossless.m4a"))
    ogg_flac = root / "song.oga"
    encode_with_pyav(ogg_flac, tone(5.0, seed=12), 22_050, "flac", "ogg", "s16", 4096)
    files.append(ogg_flac)
    for path in files:
        if handler_for(path) is not None:
            add_title_artist_cover_comment(path)
    return files


# Files as FFmpeg encodes and tags them (its own layouts: item orders, lower-case keys, no padding, moov in
# front of the audio): (name, codec, container, sample format, samples per frame, muxer options).
FFMPEG_LIBRARY = (
    ("song.mp3", "libmp3lame", "mp3", "fltp", 1152, {}),
    ("song.flac", "flac", "flac", "s16", 4096, {}),
    ("song.opus", "libopus", "ogg", "flt", 960, {}),
    ("song.oga", "flac", "ogg", "s16", 4096, {}),
    ("song.aiff", "pcm_s16be", "aiff", "s16", 4096, {"write_id3v2": "1"}),
    ("song.m4a", "aac", "mp4", "fltp", 1024, {"movflags": "+faststart"}),
    ("lossless.m4a", "alac", "ipod", "s16p", 4096, {}),
    ("song.wma", "wmav2", "asf", "fltp", 2048, {}),
    ("song.wv", "wavpack", "wv", "fltp", 4096, {}),
)
FFMPEG_TAGS = {"title": "Title", "artist": "Ørjan & The Artists", "comment": "a comment", "album": "Album"}


def _ffmpeg_library(root: Path) -> list[Path]:
    """The files of FFMPEG_LIBRARY whose encoder this PyAV build has (its wheels carry LAME and Opus)."""
    import av

    root.mkdir(parents=True, exist_ok=True)
    files = []
    for index, (name, codec, container, sample_format, frame, options) in enumerate(FFMPEG_LIBRARY):
        if codec not in av.codecs_available:
            continue
        rate = 48_000 if codec == "libopus" else 22_050
        encode_with_pyav(root / name, tone(5.0, rate, seed=index), rate, codec, container, sample_format, frame,
                         metadata=FFMPEG_TAGS, options=options)
        files.append(root / name)
    assert len(files) >= 6, "too few of FFmpeg's encoders in this PyAV build to make the library"
    return files


@pytest.mark.parametrize("library", [_library, _ffmpeg_library],
                         ids=["tagged by mutagen", "encoded and tagged by FFmpeg"])
def test_every_format_is_tagged_by_workers_and_undone(tmp_path, tiny_model, library):
    root = tmp_path / "library"
    files = library(root)
    before = {path: (digest(path), fields_except_genre(path)) for path in files}
    report = tmp_path / "report.json"

    scanned = CliRunner().invoke(main, ["scan", str(root), "--write-tags", "--mode", "replace", "--min-confidence",
                                        "0", "--jobs", "2", "--model", str(tiny_model), "--state-dir",
                                        str(tmp_path / "state"), "--report", str(report)])

    assert scanned.exit_code == 0, scanned.output
    statuses = {Path(record["path"]).name: record["status"] for record in json.loads(report.read_text())}
    for path in files:
        handler = handler_for(path)
        expected = "skipped" if handler is None else "tagged"
        assert statuses[path.name] == expected, (path.name, statuses[path.name], format_for(path))
        if handler is not None:
            assert handler.read_genres(path), path.name
            assert fields_except_genre(path) == before[path][1], path.name
    undone = CliRunner().invoke(main, ["undo", "--state-dir", str(tmp_path / "state")])
    assert undone.exit_code == 0, undone.output
    for path in files:
        assert fields_except_genre(path) == before[path][1], path.name
        assert digest(path) == before[path][0], path.name


def test_the_trainer_finds_reads_the_genres_and_artists_of_and_decodes_every_format(tmp_path):
    root = tmp_path / "library"
    files = _library(root)
    tagged = [path for path in files if handler_for(path) is not None]
    for path in tagged:
        tags.write_genres(path, handler_for(path), ["Jazz", "Blues"])

    dataset = from_tags(root)

    assert sorted(track.path.name for track in dataset.tracks) == sorted(path.name for path in tagged)
    assert all(track.labels == ("jazz", "blues") and track.artist == "Ørjan & The Artists" for track in dataset.tracks)
    cache = WaveformCache(tmp_path / "cache", 16_000)
    for path in files:
        assert abs(len(cache.get(path)) - 5 * 16_000) < 1_600, path.name
