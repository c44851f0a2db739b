"""Augmentation keeps labels true and does what each setting says; schedules and label smoothing."""

import numpy as np
import pytest
import torch

from trainer.data.augment import Augmentation, add_noise, apply_gain, augment, mix
from trainer.data.windows import WindowDataset
from trainer.losses import SmoothedTargets, make_loss
from trainer.schedule import Schedule

RATE = 22_050


def tone(frequency: float, seconds: float = 1.0) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * frequency * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_mix_keeps_the_level_of_the_excerpt():
    quiet, loud = tone(220) * 0.1, tone(330) * 3
    mixed = mix(quiet, loud, 0.4)
    assert rms(mixed) == pytest.approx(rms(quiet), rel=1e-5)
    assert not np.allclose(mixed, quiet)


def test_noise_has_the_requested_signal_to_noise_ratio():
    signal = tone(440, 4.0)
    noisy = add_noise(signal, 20.0, np.random.default_rng(0))
    snr = 10 * np.log10(rms(signal) ** 2 / rms(noisy - signal) ** 2)
    assert snr == pytest.approx(20.0, abs=0.2)


def test_silence_gets_no_noise_and_gain_is_in_decibels():
    silence = np.zeros(1000, np.float32)
    assert np.array_equal(add_noise(silence, 10.0, np.random.default_rng(0)), silence)
    assert rms(apply_gain(tone(440), 6.0)) / rms(tone(440)) == pytest.approx(10 ** (6 / 20), rel=1e-5)


def test_augment_stays_in_range_and_off_settings_change_nothing():
    rng = np.random.default_rng(1)
    loud = tone(440) * 3
    out = augment(loud, None, Augmentation(gain_db=6.0), rng)
    assert out.dtype == np.float32 and np.abs(out).max() <= 1.0
    assert not Augmentation().active
    dataset = WindowDataset([tone(440, 3.0)], np.array([[1.0, 0.0]]), RATE, RATE, augmentation=Augmentation())
    assert dataset.augmentation is None


def test_mixing_partners_carry_exactly_the_same_labels():
    targets = np.array([[1, 0], [1, 0], [0, 1], [1, 1], [0, 1]], np.float32)
    dataset = WindowDataset([tone(200 + 50 * i, 2.0) for i in range(5)], targets, RATE, RATE,
                            augmentation=Augmentation(mix_probability=1.0))
    assert dataset.partners == [[1], [0], [4], [], [2]]
    for item in range(len(dataset)):
        window, target, track = dataset[item]
        assert window.shape == (RATE,) and torch.equal(target, torch.from_numpy(targets[track]))


def test_augmented_windows_differ_between_epochs_but_not_between_equal_seeds():
    def first_two_reads(seed):
        dataset = WindowDataset([tone(300, 3.0), tone(310, 3.0)], np.array([[1.0], [1.0]]), RATE, RATE, seed=seed,
                                augmentation=Augmentation(gain_db=6.0, noise_probability=1.0, mix_probability=1.0))
        return dataset[0][0], dataset[0][0]

    first, second = first_two_reads(7)
    again, _ = first_two_reads(7)
    assert not torch.equal(first, second)
    assert torch.equal(first, again)


def test_label_smoothing_moves_targets_towards_one_half():
    seen = {}

    class Recorder(torch.nn.Module):
        def forward(self, logits, targets):
            seen["targets"] = targets
            return targets.sum()

    SmoothedTargets(Recorder(), 0.1)(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]]))
    assert seen["targets"][0].tolist() == pytest.approx([0.95, 0.05])
    assert isinstance(make_loss("bce", torch.ones(2, 2), 0.1), SmoothedTargets)
    with pytest.raises(ValueError, match="label smoothing"):
        SmoothedTargets(Recorder(), 1.0)


def _learning_rates(kind: str, epochs: int = 4, steps: int = 5) -> list[float]:
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([parameter], lr=1e-2)
    schedule = Schedule(kind, optimizer, epochs, steps, plateau_patience=0)
    rates = []
    for _ in range(epochs):
        for _ in range(steps):
            optimizer.step()
            schedule.after_batch()
        schedule.after_epoch(validation_loss=1.0)  # never improves
        rates.append(optimizer.param_groups[0]["lr"])
    return rates


def test_schedules():
    cosine = _learning_rates("cosine")
    assert cosine == sorted(cosine, reverse=True) and cosine[-1] == pytest.approx(1e-4)
    plateau = _learning_rates("plateau")
    assert plateau[1] < plateau[0]  # halved when validation loss stalls
    onecycle = _learning_rates("onecycle")
    assert max(onecycle) > onecycle[-1] and onecycle[-1] < 1e-3  # warms up, then anneals to nearly zero
    with pytest.raises(ValueError, match="unknown learning-rate schedule"):
        _learning_rates("step")
