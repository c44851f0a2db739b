"""WMA (ASF attributes) and WavPack (APEv2 items), decoded through FFmpeg: tagged and undone exactly."""

import numpy as np
import pytest
from click.testing import CliRunner
from mutagen.apev2 import APEBinaryValue
from mutagen.asf import ASF
from mutagen.wavpack import WavPack

from tagger.audio import load_track
from tagger.cli import main
from tests.conftest import tone, write_audio
from tests.tagtools import PNG

RATE = 44_100


def tag_wma(path):
    tags = ASF(str(path))
    tags["Title"], tags["Author"], tags["WM/AlbumTitle"] = ["Título"], ["Ørjan"], ["Album"]
    tags["Description"] = ["a comment"]
    tags.save()
    return "WM/Genre", lambda: {key: [str(v) for v in values] for key, values in ASF(str(path)).tags.items()}


def tag_wavpack(path):
    tags = WavPack(str(path))
    tags.tags["Title"], tags.tags["Artist"], tags.tags["Comment"] = "Título", "Ørjan", "a comment"
    tags.tags["Cover Art (Front)"] = APEBinaryValue(b"cover.png\x00" + PNG)
    tags.save()
    return "genre", lambda: {key.lower(): bytes(value.value) if isinstance(value, APEBinaryValue) else list(value)
                             for key, value in WavPack(str(path)).tags.items()}


@pytest.mark.parametrize(("name", "add_tags"), [("song.wma", tag_wma), ("song.wv", tag_wavpack)])
def test_a_file_is_analysed_tagged_and_undone_with_every_other_tag_and_the_audio_intact(tmp_path, tiny_model, name,
                                                                                         add_tags):
    path = write_audio(tmp_path / "lib" / name, tone(8, RATE, channels=2), RATE)
    genre_field, read_tags = add_tags(path)
    before, audio = read_tags(), load_track(path, RATE)
    runner, state = CliRunner(), str(tmp_path / "state")
    scanned = runner.invoke(main, ["scan", str(path.parent), "--write-tags", "--model", str(tiny_model),
                                   "--state-dir", state, "--min-confidence", "0", "--top-k", "2", "--threshold", "0"])
    assert scanned.exit_code == 0 and "tagged 1" in scanned.output, scanned.output
    after = read_tags()
    genres = after.pop(genre_field)
    assert len(genres) == 2 and after == before
    assert np.array_equal(load_track(path, RATE), audio)
    undone = runner.invoke(main, ["undo", "--state-dir", state])
    assert undone.exit_code == 0, undone.output
    assert read_tags() == before and np.array_equal(load_track(path, RATE), audio)
