"""The log-mel front end inside the model must compute what librosa computes."""

import librosa
import numpy as np
import torch

from tests.conftest import tone
from trainer.audio_params import AudioParams
from trainer.frontend import LogMel


def librosa_features(window: np.ndarray, params: AudioParams) -> np.ndarray:
    mel = librosa.feature.melspectrogram(
        y=window.astype(np.float64), sr=params.sample_rate, n_fft=params.n_fft, hop_length=params.hop_length,
        n_mels=params.n_mels,
    )
    return librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=params.top_db)


def test_log_mel_matches_librosa_on_tones_noise_and_quiet_audio():
    params = AudioParams()
    rng = np.random.default_rng(1)
    windows = np.stack([
        tone(params.window_seconds, frequencies=(110.0, 330.0, 2500.0)),
        (0.3 * rng.standard_normal(params.window_samples)).astype(np.float32),
        (1e-4 * tone(params.window_seconds, frequencies=(1000.0,), seed=2)).astype(np.float32),
    ])
    ours = LogMel(params)(torch.from_numpy(windows)).numpy()
    assert ours.shape == (3, params.n_mels, params.frames)
    for window, features in zip(windows, ours, strict=True):
        expected = librosa_features(window, params)
        assert expected.shape == features.shape
        # float32 against float64: agree to a hundredth of a decibel everywhere
        assert np.max(np.abs(features - expected)) < 1e-2


def test_top_db_floor_is_per_window():
    params = AudioParams()
    loud = tone(params.window_seconds)
    quiet = 0.001 * loud
    features = LogMel(params)(torch.from_numpy(np.stack([loud, quiet]))).numpy()
    for item in features:
        assert item.max() - item.min() <= params.top_db + 1e-3


def test_factorised_spectrum_matches_torch_stft():
    from trainer.frontend import FactorisedPowerSpectrum

    params = AudioParams()
    windows = torch.from_numpy(np.stack([tone(4.0, seed=s, frequencies=(97.0, 1234.5)) for s in range(3)]))
    ours = FactorisedPowerSpectrum(params.n_fft, params.hop_length)(windows)
    padded = torch.nn.functional.pad(windows.unsqueeze(1), (params.n_fft // 2,) * 2).squeeze(1)
    reference = torch.stft(padded, params.n_fft, params.hop_length, window=torch.hann_window(params.n_fft),
                           center=False, return_complex=True).abs().square()
    assert ours.shape == reference.shape
    assert torch.max(torch.abs(ours - reference)) <= 1e-5 * torch.max(reference)
