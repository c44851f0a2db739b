"""The PyTorch port of musicnn's MSD network computes what the ORIGINAL TensorFlow network computed.

The reference outputs were recorded by scripts/convert_musicnn.py from the TensorFlow graph of the
musicnn 0.1.0 package with its checkpoint, on synthetic signals (their input patches are stored) and on
a few GTZAN clips (stored by path only; those checks need ../shared/data).
"""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
import torch

from export.onnx_export import trace_to_onnx
from tagger.audio import load_track
from tagger.model import INPUT_NAME, OUTPUT_NAME
from tests.conftest import SHARED_DATA
from trainer.audio_params import MUSICNN_AUDIO as AUDIO
from trainer.backbones.musicnn import LICENSE, WEIGHTS, MusicnnLogMel, MusicnnMSD
from trainer.backbones.musicnn_reference import leading_patches, reference_log_mel

REFERENCE = WEIGHTS.with_name("musicnn_msd_reference.npz")
TAG_TOLERANCE, EMBEDDING_TOLERANCE = 1e-4, 1e-3


@pytest.fixture(scope="module")
def network() -> MusicnnMSD:
    return MusicnnMSD().load_pretrained().eval()


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE) as stored:
        return {name: stored[name] for name in stored.files}


def run(network: MusicnnMSD, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        logits, penultimate, _, _ = network(torch.from_numpy(patches))
    return torch.sigmoid(logits).numpy(), penultimate.numpy()


def test_the_weights_carry_their_licence_notice():
    notice = LICENSE.read_text()
    assert "Music Technology Group, Universitat Pompeu Fabra" in notice and "Permission to use" in notice


def test_port_matches_tensorflow_on_synthetic_signals(network, reference):
    patches = reference["synthetic_patches"]
    tags, penultimate = run(network, patches)
    assert tags.shape == (len(patches), 50) and penultimate.shape == (len(patches), 200)
    assert np.max(np.abs(tags - reference["tags"][: len(patches)])) < TAG_TOLERANCE
    assert np.max(np.abs(penultimate - reference["penultimate"][: len(patches)])) < EMBEDDING_TOLERANCE


@pytest.mark.data
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="needs ../shared/data")
def test_port_matches_tensorflow_on_real_clips(network, reference):
    synthetic = len(reference["synthetic_patches"])
    per_clip = int(reference["patches_per_clip"])
    for index, clip in enumerate(reference["real_clips"]):
        patches = leading_patches(reference_log_mel(load_track(SHARED_DATA / str(clip), AUDIO.sample_rate)), per_clip)
        tags, penultimate = run(network, patches)
        rows = slice(synthetic + index * per_clip, synthetic + (index + 1) * per_clip)
        assert np.max(np.abs(tags - reference["tags"][rows])) < TAG_TOLERANCE, clip
        assert np.max(np.abs(penultimate - reference["penultimate"][rows])) < EMBEDDING_TOLERANCE, clip


def test_front_end_matches_librosa():
    rng = np.random.default_rng(3)
    t = np.arange(AUDIO.window_samples) / AUDIO.sample_rate
    waveform = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    ours = MusicnnLogMel(AUDIO)(torch.from_numpy(waveform)[None]).numpy()[0]
    expected = reference_log_mel(waveform)
    assert ours.shape == expected.shape == (AUDIO.frames, AUDIO.n_mels) == (187, 96)
    assert np.max(np.abs(ours - expected)) < 1e-3


class _Tagger(torch.nn.Module):
    """Waveform -> the network's 50 tag probabilities: front end and network in one graph."""

    def __init__(self, network: MusicnnMSD) -> None:
        super().__init__()
        self.front_end, self.network = MusicnnLogMel(AUDIO), network

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.network(self.front_end(waveform))[0])


def test_exported_graph_matches_the_port(network, tmp_path):
    model = _Tagger(network).eval()
    path = tmp_path / "musicnn.onnx"
    trace_to_onnx(model, AUDIO.window_samples, path)
    waveforms = (0.1 * np.random.default_rng(0).standard_normal((3, AUDIO.window_samples))).astype(np.float32)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    exported = session.run([OUTPUT_NAME], {INPUT_NAME: waveforms})[0]
    with torch.no_grad():
        expected = model(torch.from_numpy(waveforms)).numpy()
    assert np.max(np.abs(exported - expected)) < TAG_TOLERANCE
