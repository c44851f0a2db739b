"""Multichannel audio (5.1, 7.1 AAC as films and concert rips carry it) is decoded and downmixed, never a crash:
PyAV miscounts the planes of a planar 7.1 frame, so reading it planar read past the frame."""

from __future__ import annotations

import av
import numpy as np
import pytest
from click.testing import CliRunner

from tagger.audio import read_windows
from tagger.cli import main
from tagger.decoders import FFmpegSource

RATE = 48_000


def encode_surround(path, layout: str, levels: list[float], seconds: float = 4.0) -> None:
    """AAC in M4A, each channel a 440 Hz tone at its own level (fed interleaved: see the module's docstring)."""
    tone = np.sin(2 * np.pi * 440 * np.arange(int(seconds * RATE)) / RATE).astype(np.float32)
    interleaved = np.stack([tone * level for level in levels], axis=1)  # [n, channels]
    with av.open(str(path), "w", format="mp4") as output:
        stream = output.add_stream("aac", rate=RATE, layout=layout)
        stream.bit_rate = 384_000
        for start in range(0, len(interleaved), 1024):
            block = np.ascontiguousarray(interleaved[start : start + 1024]).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(block, format="flt", layout=layout)
            frame.sample_rate, frame.pts = RATE, start
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))


@pytest.mark.parametrize("layout", ["5.1", "7.1"])
def test_surround_aac_is_read_with_every_channel_but_the_effects_bass(tmp_path, layout):
    names = [channel.name for channel in av.AudioLayout(layout).channels]
    levels = [0.0 if name == "LFE" else 0.1 + 0.05 * index for index, name in enumerate(names)]
    path = tmp_path / f"surround {layout}.m4a"
    encode_surround(path, layout, levels)
    source = FFmpegSource(path)
    try:
        block = source.read(RATE, RATE)
    finally:
        source.close()
    kept = [level for level, name in zip(levels, names, strict=True) if name != "LFE"]
    assert block.shape == (RATE, len(names) - 1)
    peaks = np.abs(block).max(axis=0)
    assert np.all(np.argsort(peaks) == np.argsort(kept))  # the channels in their order, none swapped or lost
    windows = read_windows(path, 16_000, 3.0, 2)
    assert windows.shape == (2, 48_000) and np.isfinite(windows).all() and np.abs(windows).max() > 0.05


def test_a_scan_of_a_7_1_file_analyses_it(tmp_path, tiny_model):
    path = tmp_path / "lib" / "film.m4a"
    path.parent.mkdir()
    encode_surround(path, "7.1", [0.2] * 8)
    result = CliRunner().invoke(main, ["scan", str(path.parent), "--model", str(tiny_model), "--state-dir",
                                       str(tmp_path / "state"), "--min-confidence", "0", "--jobs", "1"])
    assert result.exit_code == 0 and "would-tag 1" in result.output, result.output
