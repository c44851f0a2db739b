"""Transfer from musicnn: what learns under each tuning, frozen layers that stay as published, the feature
cache, and a transfer model trained, exported and read by the tagger end to end."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from tests.conftest import write_audio
from trainer.audio_params import MUSICNN_AUDIO
from trainer.config import TUNINGS, TrainConfig
from trainer.data.features import FrozenFeatureCache
from trainer.transfer import MusicnnTransfer, build_model

CLASSES = 3


def transfer(tuning: str, attention: bool) -> MusicnnTransfer:
    torch.manual_seed(0)
    config = TrainConfig(data="", out="", backbone="musicnn-msd", tuning=tuning, attention=attention, hidden=16)
    model = build_model(config.model_config(CLASSES), MUSICNN_AUDIO, pretrained=True)
    assert isinstance(model, MusicnnTransfer)
    return model


def windows(count: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(0.1 * np.random.default_rng(seed).standard_normal((count, MUSICNN_AUDIO.window_samples),
                                                                              dtype=np.float32))


@pytest.mark.parametrize("attention", [False, True])
@pytest.mark.parametrize("tuning", TUNINGS)
def test_tuning_decides_what_learns_and_at_which_rate(tuning, attention):
    model = transfer(tuning, attention)
    learning = {name.split(".")[1] for name, p in model.named_parameters() if p.requires_grad and
                name.startswith("backbone.")}
    expected = {"frozen": set(), "partial": {"mid", "pool_norm", "dense", "dense_norm", "tags"},
                "full": {"input_norm", "front", "mid", "pool_norm", "dense", "dense_norm", "tags"}}[tuning]
    assert learning == expected
    assert all(p.requires_grad for p in model.head.parameters())
    assert model.has_frozen_weights() == (tuning != "full")
    groups = model.parameter_groups(1e-3, 0.1)
    assert groups[0]["lr"] == 1e-3 and {id(p) for p in groups[0]["params"]} == {id(p) for p in model.head.parameters()}
    if tuning == "frozen":
        assert len(groups) == 1
    else:
        assert groups[1]["lr"] == pytest.approx(1e-4)


@pytest.mark.parametrize("tuning", ["frozen", "partial"])
def test_frozen_layers_stay_as_published_through_training(tuning):
    """Training mode leaves frozen batch norms on their pretrained statistics, and a step changes none of
    the frozen weights, while the head does learn."""
    model = transfer(tuning, attention=False)
    frozen = {name: value.clone() for name, value in model.state_dict().items()
              if name.startswith(("backbone.input_norm", "backbone.front"))}
    head = [p.clone() for p in model.head.parameters()]
    model.train()
    assert not model.backbone.front[0].block.norm.training and model.head.training
    optimizer = torch.optim.AdamW(model.parameter_groups(1e-2, 0.1))
    loss = torch.nn.functional.binary_cross_entropy_with_logits(model(windows(4)), torch.eye(CLASSES)[[0, 1, 2, 0]])
    loss.backward()
    optimizer.step()
    after = model.state_dict()
    assert all(torch.equal(after[name], value) for name, value in frozen.items())
    assert any(not torch.equal(before, now) for before, now in zip(head, model.head.parameters(), strict=True))


def test_the_linear_head_reads_musicnns_penultimate_embedding():
    model = transfer("frozen", attention=False).eval()
    batch = windows(2)
    with torch.no_grad():
        _, penultimate, _, _ = model.backbone(model.frontend(batch))
        assert torch.allclose(model.frozen_part(batch), penultimate)
        assert torch.allclose(model(batch), model.head(penultimate))


@pytest.mark.parametrize("tuning", ["frozen", "partial"])
def test_a_head_on_musicnns_tags_reads_its_own_tag_probabilities(tuning):
    """The taggram head: musicnn's 50 tag probabilities from the same embedding, beside it or alone; the tag
    layer it shares with the backbone learns only where the backbone's back end does, in one optimizer group."""
    torch.manual_seed(0)
    config = TrainConfig(data="", out="", backbone="musicnn-msd", tuning=tuning, attention=False,
                         head_features="embedding+tags").model_config(CLASSES)
    model = build_model(config, MUSICNN_AUDIO, pretrained=True).eval()
    batch = windows(2)
    with torch.no_grad():
        tags, penultimate, _, _ = model.backbone(model.frontend(batch))
        head = model.head
        expected = head.linear(torch.cat([penultimate, torch.sigmoid(tags)], dim=1))
        torch.testing.assert_close(model(batch), expected)
    assert head.linear.in_features == 250
    assert model.backbone.tags.weight.requires_grad == (tuning == "partial")
    groups = model.parameter_groups(1e-3, 0.1)
    assert [id(p) for p in groups[0]["params"]] == [id(head.linear.weight), id(head.linear.bias)]
    torch.optim.AdamW(groups)  # no parameter in two groups


def test_a_linear_head_saved_before_head_features_loads():
    model = transfer("frozen", attention=False)
    state = {name: value.clone() for name, value in model.state_dict().items()}
    old = {("head.1." + name[len("head.linear."):] if name.startswith("head.linear.") else name):
           (2 * value if name.startswith("head.") else value) for name, value in state.items()}
    model.load_state_dict(old)
    torch.testing.assert_close(model.head.linear.weight, 2 * state["head.linear.weight"])


def test_feature_cache_computes_once_per_waveform_and_frozen_weights(tmp_path, monkeypatch):
    model = transfer("frozen", attention=False)
    cache = FrozenFeatureCache(tmp_path, model)
    waveform = 0.1 * np.random.default_rng(1).standard_normal(3 * MUSICNN_AUDIO.window_samples).astype(np.float32)
    first = cache.windows(waveform)
    assert first.shape == (3, 200)
    with torch.no_grad():
        direct = model.eval().frozen_part(torch.from_numpy(waveform.reshape(3, -1))).numpy()
    np.testing.assert_allclose(first, direct, rtol=1e-3, atol=1e-4)  # stored in half precision

    monkeypatch.setattr(FrozenFeatureCache, "_compute", lambda *_: pytest.fail("recomputed a cached waveform"))
    np.testing.assert_array_equal(cache.windows(waveform.copy()), first)

    other = transfer("frozen", attention=False)
    with torch.no_grad():
        other.backbone.dense.weight.mul_(2.0)
    assert FrozenFeatureCache(tmp_path, other).directory != cache.directory
    assert FrozenFeatureCache(tmp_path, transfer("frozen", attention=True)).directory != cache.directory


def write_three_genres(folder: Path) -> None:
    """Three synthetic genres of six 6-second clips at musicnn's rate: low tones, high tones, noise."""
    rng = np.random.default_rng(0)
    rate, seconds = 16_000, 6.0
    t = np.arange(int(rate * seconds)) / rate
    for genre, base in (("low", 110.0), ("high", 3000.0), ("noise", 0.0)):
        for index in range(6):
            signal = (rng.standard_normal(len(t)) if base == 0 else
                      np.sin(2 * np.pi * base * (1 + 0.05 * index) * t) + 0.01 * rng.standard_normal(len(t)))
            write_audio(folder / genre / f"{genre}{index}.flac", (0.2 * signal).astype(np.float32), rate)


def test_a_transfer_model_is_cross_validated_refit_exported_and_tags(tmp_path):
    """Frozen musicnn with a linear head on three synthetic genres: a 2-fold cross-validation through
    `trainer compare`, refit on all tracks, exported at musicnn's own rate and window with its licence,
    and read back by the tagger."""
    from tagger.model import GenreModel
    from trainer.cli import main as trainer_main

    write_three_genres(tmp_path / "data")
    runner = CliRunner()
    compared = runner.invoke(trainer_main, [
        "compare", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "cv"), "--folds", "2",
        "--configs", "musicnn-frozen-linear", "--epochs", "3", "--batch-size", "4", "--val-fraction", "0.25",
        "--cache-dir", str(tmp_path / "cache"), "--threads", "1", "--bootstrap", "100", "--permutations", "100",
    ], catch_exceptions=False)
    assert compared.exit_code == 0, compared.output
    assert "waveform augmentation and time shift do not apply" in compared.output
    comparison = json.loads((tmp_path / "cv" / "comparison.json").read_text())
    assert comparison["folds"] == 2 and comparison["test_tracks"] == 18
    unit = tmp_path / "cv" / "musicnn-frozen-linear-seed0"
    fold = json.loads((unit / "fold2" / "metrics.json").read_text())
    assert fold["trainable_parameters"] == 200 * CLASSES + CLASSES and 1 <= fold["best_epoch"] <= 3
    assert json.loads((unit / "fold2" / "split.json").read_text())["fold"] == "2/2"

    run = tmp_path / "final"
    refitted = runner.invoke(trainer_main, ["refit", str(unit), "--out", str(run)], catch_exceptions=False)
    assert refitted.exit_code == 0, refitted.output
    split = json.loads((run / "split.json").read_text())
    assert len(split["train"]) == 18 and not split["val"] and not split["test"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["cross_validation"]["pooled_track"]["n"] == 18
    assert metrics["epochs"] == round(float(np.median(metrics["cross_validation"]["kept_epochs"])))
    refused = runner.invoke(trainer_main, ["evaluate", str(run)])
    assert refused.exit_code == 1 and "held no tracks out" in refused.output

    exported = runner.invoke(trainer_main, ["export", str(run), "--out", str(tmp_path / "m.onnx")],
                             catch_exceptions=False)
    assert exported.exit_code == 0, exported.output
    assert "real training windows" in exported.output  # a refit holds no test tracks to check parity on
    model = GenreModel(tmp_path / "m.onnx")
    assert model.info.sample_rate == 16_000 and model.info.window_samples == MUSICNN_AUDIO.window_samples
    assert model.info.metrics["cross_validated_tracks"] == 18
    (notice,) = model.info.licenses.values()
    assert "Music Technology Group, Universitat Pompeu Fabra" in notice
    assert model.predict(windows(2).numpy()).shape == (2, CLASSES)


def test_without_the_feature_cache_augmented_waveforms_run_through_the_frozen_part():
    from trainer.data.prepare import SplitData
    from trainer.data.windows import WindowDataset
    from trainer.train import Inputs

    model = transfer("frozen", attention=False)
    side = SplitData([], [np.zeros(MUSICNN_AUDIO.window_samples, np.float32)], np.eye(CLASSES)[:1])
    messages: list[str] = []
    config = TrainConfig(data="", out="", backbone="musicnn-msd", feature_cache=False)
    inputs = Inputs(model, config, messages.append)
    training = inputs.training(side)
    assert isinstance(training, WindowDataset) and training.augmentation is not None and not messages
    batch = windows(2)
    model.eval()
    with torch.no_grad():
        assert torch.equal(inputs.forward(batch), model(batch))


def test_a_head_probe_trains_the_head_on_the_frozen_backbone_before_every_layer_learns(tmp_path):
    """LP-FT: the probe's head, trained on cached frozen features, is the one fine-tuning starts from;
    the backbone is still as published then; the fine-tuning runs at the backbone's rate. A network with
    nothing pretrained that learns is not probed."""
    from trainer.data.prepare import PreparedData, SplitData
    from trainer.data.split import Split
    from trainer.train import PROBE, Inputs, probe_head

    rng = np.random.default_rng(0)
    targets = np.eye(CLASSES, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]
    waveforms = [(0.1 * (1 + row.argmax()) * rng.standard_normal(2 * MUSICNN_AUDIO.window_samples)).astype(np.float32)
                 for row in targets]
    side = SplitData([], waveforms, targets)
    data = PreparedData([f"g{k}" for k in range(CLASSES)], Split([], [], []),
                        {"train": side, "val": SplitData([], waveforms[:3], targets[:3])}, "synthetic")
    config = TrainConfig(data="", out="", backbone="musicnn-msd", tuning="full", attention=False, batch_size=4,
                         learning_rate=1e-2, cache_dir=str(tmp_path / "cache"), threads=1)
    model = transfer("full", attention=False)
    published = {name: value.clone() for name, value in model.backbone.state_dict().items()}
    head_before = [p.clone() for p in model.head.parameters()]
    tune_config, kept = probe_head(Inputs(model, config, print), data, config, tmp_path, print, epochs=3)

    assert 1 <= kept <= 3 and len(json.loads((tmp_path / PROBE / "history.json").read_text())) == 3
    assert any(not torch.equal(before, now) for before, now in zip(head_before, model.head.parameters(), strict=True))
    assert all(torch.equal(model.backbone.state_dict()[name], value) for name, value in published.items())
    assert all(p.requires_grad for p in model.parameters())  # the twin's freezing is its own
    assert tune_config.learning_rate == pytest.approx(1e-3) and tune_config.backbone_lr_scale == 1.0
    frozen = transfer("frozen", attention=False)
    assert probe_head(Inputs(frozen, config, print), data, config, tmp_path, print, epochs=3) == (config, None)
    assert probe_head(Inputs(model, config, print), data, config, tmp_path, print, epochs=0) == (config, None)


def test_fine_tuning_is_probed_cross_validated_and_refit_with_the_folds_median_probe(tmp_path):
    """`musicnn-finetuned` through `trainer compare --folds 2` and `trainer refit`: each fold probes the head
    first (its own history), then fine-tunes on the given excerpts per track; options given on the
    command line win over the configuration's own; the refit probes for the folds' median probe epochs."""
    from trainer.cli import main as trainer_main
    from trainer.train import PROBE

    write_three_genres(tmp_path / "data")
    runner = CliRunner()
    compared = runner.invoke(trainer_main, [
        "compare", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "cv"), "--folds", "2",
        "--configs", "musicnn-finetuned", "--epochs", "1", "--probe-epochs", "3", "--windows-per-track", "1",
        "--batch-size", "4", "--val-fraction", "0.25", "--cache-dir", str(tmp_path / "cache"), "--threads", "1",
        "--bootstrap", "100", "--permutations", "100",
    ], catch_exceptions=False)
    assert compared.exit_code == 0, compared.output
    unit = tmp_path / "cv" / "musicnn-finetuned-seed0"
    probes = []
    for fold in ("fold1", "fold2"):
        config = json.loads((unit / fold / "config.json").read_text())
        recipe = (config["epochs"], config["probe_epochs"], config["windows_per_track"], config["tuning"])
        assert recipe == (1, 3, 1, "full")
        metrics = json.loads((unit / fold / "metrics.json").read_text())
        assert len(json.loads((unit / fold / PROBE / "history.json").read_text())) == 3
        assert metrics["epochs"] == 1 and 1 <= metrics["probe_best_epoch"] <= 3
        assert metrics["trainable_parameters"] > 700_000  # every layer learned after the probe
        probes.append(metrics["probe_best_epoch"])

    run = tmp_path / "final"
    refitted = runner.invoke(trainer_main, ["refit", str(unit), "--out", str(run), "--threads", "2"],
                             catch_exceptions=False)
    assert refitted.exit_code == 0, refitted.output
    assert len(json.loads((run / PROBE / "history.json").read_text())) == round(float(np.median(probes)))
    assert json.loads((run / "config.json").read_text())["threads"] == 2  # the folds trained with 1


def test_a_logistic_head_is_cross_validated_refit_exported_and_gives_softmax_probabilities(tmp_path):
    """`musicnn-frozen-logistic` through `trainer compare --folds 2`, `trainer refit` and `trainer export`:
    each fold fits the head without epochs (its C chosen within the fold's training tracks), the refit needs
    no epochs either, and the exported file's probabilities are one softmax over the genres that tells the
    three synthetic genres apart, equal to PyTorch's."""
    from tagger.model import GenreModel
    from trainer.cli import main as trainer_main
    from trainer.run_dir import load_checkpoint

    write_three_genres(tmp_path / "data")
    runner = CliRunner()
    compared = runner.invoke(trainer_main, [
        "compare", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "cv"), "--folds", "2",
        "--configs", "musicnn-frozen-logistic", "--val-fraction", "0.25", "--cache-dir", str(tmp_path / "cache"),
        "--threads", "1", "--bootstrap", "100", "--permutations", "100",
    ], catch_exceptions=False)
    assert compared.exit_code == 0, compared.output
    assert "logistic head: C " in compared.output
    unit = tmp_path / "cv" / "musicnn-frozen-logistic-seed0"
    for fold in ("fold1", "fold2"):
        metrics = json.loads((unit / fold / "metrics.json").read_text())
        assert metrics["regularisation"] > 0 and "epochs" not in metrics and not (unit / fold / "history.json").exists()
        assert metrics["test"]["track"]["top1_accuracy"] == 1.0  # tones an octave apart and noise
        assert np.allclose(np.sum(metrics["test_track_probabilities"], axis=1), 1.0, atol=1e-4)

    run = tmp_path / "final"
    refitted = runner.invoke(trainer_main, ["refit", str(unit), "--out", str(run)], catch_exceptions=False)
    assert refitted.exit_code == 0, refitted.output
    assert "(logistic head)" in refitted.output
    network, _ = load_checkpoint(run)
    assert network.config.probabilities == "softmax"
    exported = runner.invoke(trainer_main, ["export", str(run), "--out", str(tmp_path / "m.onnx")],
                             catch_exceptions=False)
    assert exported.exit_code == 0, exported.output
    model = GenreModel(tmp_path / "m.onnx")
    excerpts = windows(3)
    probabilities = model.predict(excerpts.numpy())
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    with torch.no_grad():
        expected = network.probabilities(network(excerpts)).numpy()
    assert np.abs(probabilities - expected).max() < 1e-4


@pytest.mark.parametrize("options", [{"tuning": "full"}, {"attention": True}, {"head_features": "tags"},
                                     {"backbone": "scratch"}])
def test_a_logistic_head_is_refused_where_it_has_no_frozen_embedding_to_fit_on(options):
    config = TrainConfig(data="", out="", backbone="musicnn-msd", tuning="frozen", attention=False,
                         head_fit="logistic")
    with pytest.raises(ValueError, match="logistic head"):
        replace(config, **options).model_config(3)
