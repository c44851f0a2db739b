"""Fixtures made by the tests themselves: synthesized audio, encoded files, and a small exported model."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import settings

# Property tests run the same examples on every run, so the suite cannot go red by luck; to hunt for new
# failures, HYPOTHESIS_PROFILE=explore runs thousands of fresh random examples instead.
settings.register_profile("deterministic", max_examples=60, derandomize=True, database=None)
settings.register_profile("explore", max_examples=3000, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gtzan-part"
LABELS = ["blues", "jazz", "rock"]


def tone(seconds: float, sample_rate: int = 22_050, frequencies=(220.0, 440.0), noise: float = 0.01,
         channels: int = 1, seed: int = 0) -> np.ndarray:
    """A few sine partials plus a little noise: [samples] or [samples, channels], float32 in [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    signal = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28)) for f in frequencies) / (2 * len(frequencies))
    signal = signal + noise * rng.standard_normal(len(t))
    signal = signal.astype(np.float32)
    return signal if channels == 1 else np.stack([signal] * channels, axis=1)


# Suffixes libsndfile writes, and what it writes for them.
SNDFILE_WRITES = {".mp3": ("MP3", None), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS"),
                  ".opus": ("OGG", "OPUS"), ".wav": ("WAV", "PCM_16"), ".aiff": ("AIFF", "PCM_16")}
SNDFILE_BLOCK = 65_536
# Suffixes PyAV encodes: (codec, container, sample format, samples per frame).
PYAV_WRITES = {".m4a": ("aac", "mp4", "fltp", 1024), ".alac": ("alac", "ipod", "s16p", 4096),
               ".wma": ("wmav2", "asf", "fltp", 2048), ".wv": ("wavpack", "wv", "fltp", 4096)}


DSD_RATE, DSF_BLOCK = 2_822_400, 4096


def write_audio(path: Path, samples: np.ndarray, sample_rate: int = 22_050) -> Path:
    """Encode by the file's suffix: .mp3, .flac, .ogg (Vorbis), .opus, .wav, .aiff with libsndfile; .m4a
    (AAC), .alac (ALAC in an M4A container, for a lossless M4A: rename it to .m4a), .wma and .wv with PyAV;
    .dsf by hand (nothing we have encodes DSD)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".dsf":
        write_dsf(path, samples, sample_rate)
        return path
    if path.suffix in PYAV_WRITES:
        encode_with_pyav(path, samples, sample_rate, *PYAV_WRITES[path.suffix])
        return path
    kind, subtype = SNDFILE_WRITES[path.suffix]
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    with soundfile.SoundFile(str(path), "w", sample_rate, channels, subtype, format=kind) as output:
        for start in range(0, len(samples), SNDFILE_BLOCK):  # libsndfile's Vorbis encoder crashes on one
            output.write(samples[start : start + SNDFILE_BLOCK])  # write of minutes of audio
    return path


def encode_with_pyav(path: Path, samples: np.ndarray, sample_rate: int, codec: str, container: str,
                     sample_format: str, frame_size: int, metadata: dict[str, str] | None = None,
                     options: dict[str, str] | None = None) -> None:
    """Encode with FFmpeg; ``metadata`` becomes tags as FFmpeg writes them, ``options`` go to its muxer."""
    import av

    planar = (samples[:, None] if samples.ndim == 1 else samples).T.astype(np.float32)  # [channels, n]
    layout = "mono" if len(planar) == 1 else "stereo"
    if sample_format in ("s16p", "s16"):
        planar = np.round(np.clip(planar, -1, 1) * 32767).astype(np.int16)
    with av.open(str(path), "w", format=container, options=options or {}) as output:
        output.metadata.update(metadata or {})
        stream = output.add_stream(codec, rate=sample_rate, layout=layout)
        stream.bit_rate = 128_000  # WMA's encoder opens only with one
        for start in range(0, planar.shape[1], frame_size):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar[:, start : start + frame_size]),
                                               format=sample_format, layout=layout)
            frame.sample_rate, frame.pts = sample_rate, start
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))


def write_dsf(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """A DSD64 stream file without a tag: the signal held up to 2.8224 MHz, then one bit per sample from a
    first-order sigma-delta modulator (a bit wherever the running sum of the pulse density passes an integer),
    in blocks of 4096 bytes per channel, least significant bit first, as Sony's DSF specification lays out.
    Done a second of input at a time, the running sum carried over, so minutes of audio fit in memory."""
    planar = np.clip(samples[:, None] if samples.ndim == 1 else samples, -1, 1).T * 0.5
    factor = DSD_RATE // sample_rate
    carried, parts = np.zeros((len(planar), 1)), []
    for start in range(0, planar.shape[1], sample_rate):
        held = np.repeat(planar[:, start : start + sample_rate].astype(np.float64), factor, axis=1)
        running = np.floor(carried + np.cumsum((held + 1) / 2, axis=1))
        parts.append(np.packbits(np.diff(running, axis=1, prepend=np.floor(carried)).astype(np.uint8), axis=1,
                                 bitorder="little"))
        carried = carried + np.sum((held + 1) / 2, axis=1, keepdims=True)
    packed = np.concatenate(parts, axis=1)
    blocks = -(-packed.shape[1] // DSF_BLOCK)
    packed = np.pad(packed, ((0, 0), (0, blocks * DSF_BLOCK - packed.shape[1])))
    data = packed.reshape(len(packed), blocks, DSF_BLOCK).transpose(1, 0, 2).tobytes()
    channels, frames = len(planar), planar.shape[1] * factor
    fmt = b"".join(value.to_bytes(size, "little") for value, size in (
        (1, 4), (0, 4), (2 if channels == 2 else 1, 4), (channels, 4), (DSD_RATE, 4), (1, 4), (frames, 8),
        (DSF_BLOCK, 4), (0, 4)))
    body = b"fmt " + (12 + len(fmt)).to_bytes(8, "little") + fmt + b"data" + (12 + len(data)).to_bytes(8, "little")
    size = 28 + len(body) + len(data)
    path.write_bytes(b"DSD " + (28).to_bytes(8, "little") + size.to_bytes(8, "little") + bytes(8) + body + data)


@pytest.fixture
def make_audio(tmp_path):
    """make_audio('a/b.mp3', seconds=6, **tone options) -> Path under the test's temporary folder."""

    def make(name: str, seconds: float = 6.0, sample_rate: int = 22_050, **options) -> Path:
        rate = 48_000 if name.endswith(".opus") else sample_rate
        return write_audio(tmp_path / name, tone(seconds, rate, **options), rate)

    return make


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """An untrained SpectrogramCNN over LABELS, exported with the project's exporter (metadata included)."""
    import torch

    from export.onnx_export import export_checkpoint
    from trainer.audio_params import AudioParams
    from trainer.config import ModelConfig
    from trainer.model import SpectrogramCNN
    from trainer.run_dir import save_checkpoint

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("model")
    model = SpectrogramCNN(ModelConfig(len(LABELS), channels=(4, 8, 8), hidden=8, dropout=0.1, attention=True,
                                         frequency_channel=True, backbone="scratch", tuning="full"),
                           AudioParams()).eval()
    save_checkpoint(folder / "checkpoint.pt", model, LABELS, [0.5] * len(LABELS),
                    {"metrics": {"top1_accuracy": 0.0}, "training_data": "untrained test model"})
    export_checkpoint(folder / "checkpoint.pt", folder / "tiny.onnx", inference_windows=2, model_version="test",
                      force=True)  # untrained and uncalibrated: what --force is for
    return folder / "tiny.onnx"


@pytest.fixture(autouse=True)
def no_user_settings(tmp_path, monkeypatch) -> Path:
    """Tests never read the settings file of the person running them; a test writes its own here."""
    path = tmp_path / "settings" / "config.toml"
    monkeypatch.setenv("TAGGER_CONFIG", str(path))
    return path


@pytest.fixture
def state_dir(tmp_path) -> Path:
    return tmp_path / "state"
