"""The broad genre a model names from musicnn's own tags (export/broad_genres.py): the graph computes what
the module says, the cut keeps its bound, and models it cannot mean anything on are refused."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import onnx
import onnx.numpy_helper
import pytest
import torch
from click.testing import CliRunner

from export.broad_genres import (
    ELECTRONIC,
    NEW_GENRE_THRESHOLD,
    WIDTH,
    add_broad_genre,
    family_sums,
    fit_cut,
    gate_model,
    recipes,
    share_taken,
    tag_layer,
)
from tagger.cli import main
from tagger.decision import DecisionRule
from tagger.graph_edit import GraphEditError, with_softmax_head
from tagger.model import DEFAULT_MODEL_PATH, GenreModel, MetadataKeys
from tests.conftest import tone
from trainer.backbones.musicnn import MusicnnMSD


def sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


def windows(model: GenreModel, count: int = 4) -> np.ndarray:
    """Windows of different kinds of sound: tones, noise, silence."""
    samples = model.info.window_samples
    rng = np.random.default_rng(0)
    made = [tone(model.info.window_seconds, model.info.sample_rate, (110.0 * (k + 1), 330.0 * (k + 1)))[:samples]
            for k in range(count - 2)]
    made += [0.2 * rng.standard_normal(samples), np.zeros(samples)]
    return np.stack(made).astype(np.float32)


def learned_like(tmp_path, genres: int = 3, labels: list[str] | None = None):
    """An ungated model on musicnn's embedding with a known softmax head (what `tagger learn` writes)."""
    base = onnx.load(str(DEFAULT_MODEL_PATH))
    rng = np.random.default_rng(1)
    genres = len(labels) if labels else genres
    weights, bias = rng.normal(0, 0.1, (200, genres)).astype(np.float32), rng.normal(0, 0.1, genres).astype(np.float32)
    gates = {MetadataKeys.BROAD_GENRES, MetadataKeys.TAG_AGREEMENT}  # the head replaced, its gates are gone
    metadata = {prop.key: prop.value for prop in base.metadata_props if prop.key not in gates}
    labels = labels or [f"g{k}" for k in range(genres)]
    metadata.update({MetadataKeys.LABELS: json.dumps(labels), MetadataKeys.GENRE_NAMES: json.dumps(labels),
                     MetadataKeys.THRESHOLDS: json.dumps(dict.fromkeys(labels, 0.5)),
                     MetadataKeys.METRICS: "{}"})
    path = tmp_path / "learned.onnx"
    onnx.save(with_softmax_head(base, weights, bias, metadata), str(path))
    return path, weights, bias


def test_the_tag_layer_is_musicnns_own():
    network = MusicnnMSD().load_pretrained().eval()
    with torch.no_grad():
        logits, penultimate, _, _ = network(torch.randn(3, 187, 96))
    weights, bias = tag_layer()
    assert np.max(np.abs(sigmoid(penultimate.numpy() @ weights + bias) - torch.sigmoid(logits).numpy())) < 1e-5


def test_the_graph_gates_the_trained_genres_as_documented(tmp_path):
    path, weights, bias = learned_like(tmp_path)
    model = onnx.load(str(path))
    add_broad_genre(model, replace(ELECTRONIC, cut=0.05))
    gated_path = tmp_path / "gated.onnx"
    onnx.save(model, str(gated_path))
    gated = GenreModel(gated_path)
    heard = windows(gated)
    probabilities, embedding = gated.predict(heard), gated.embed(heard)
    new = sigmoid((family_sums(embedding, ELECTRONIC) - 0.05) / WIDTH)
    logits = embedding @ weights + bias
    head = np.exp(logits - logits.max(1, keepdims=True))
    head /= head.sum(1, keepdims=True)
    assert gated.info.labels == ["g0", "g1", "g2", "electronic"] and gated.info.genre_names[-1] == "Electronic"
    assert np.max(np.abs(probabilities[:, -1] - new)) < 1e-5
    assert np.max(np.abs(probabilities[:, :-1] - head * (1 - new)[:, None])) < 1e-5
    assert gated.info.thresholds["electronic"] == NEW_GENRE_THRESHOLD


def test_the_shipped_default_names_electronic_as_its_metadata_says():
    model = GenreModel()
    (recipe,) = recipes(model.info)
    assert model.info.labels[-1] == recipe.label == "electronic"
    assert recipe.reference_share <= 1 - recipe.keep and recipe.fitted_on
    heard = windows(model)
    expected = sigmoid((family_sums(model.embed(heard), recipe) - recipe.cut) / recipe.width)
    assert np.max(np.abs(model.predict(heard)[:, -1] - expected)) < 1e-5


def test_the_decision_rule_chooses_the_broad_genre_or_abstains_near_its_cut():
    info = GenreModel().info
    rule = DecisionRule.for_model(info)
    trained = len(info.labels) - 1
    clearly = np.r_[np.full(trained, 0.02), 0.95]
    assert rule.decide(clearly).genres == ["Electronic"]
    borderline = np.r_[np.full(trained, 0.4 * 0.45), 0.55]  # a trained genre at 0.4, scaled by 1 - 0.55
    decision = rule.decide(borderline)
    assert decision.genres == [] and "below --min-confidence" in decision.uncertain


def test_the_cut_is_the_lowest_that_keeps_the_bound():
    rng = np.random.default_rng(2)
    tracks = [rng.uniform(0, 1, size=rng.integers(1, 5)) for _ in range(300)]
    for keep in (0.8, 0.95):
        cut = fit_cut(tracks, keep)
        assert share_taken(tracks, cut, WIDTH) <= 1 - keep < share_taken(tracks, cut - 1e-3, WIDTH)


def test_a_model_whose_embedding_is_not_musicnns_is_refused(tiny_model):
    with pytest.raises(GraphEditError, match="not musicnn's pretrained one"):
        add_broad_genre(onnx.load(str(tiny_model)), ELECTRONIC)


def test_a_model_whose_head_reads_more_than_the_embedding_is_refused(tmp_path):
    """A head on the embedding and more (musicnn's tags beside it, say): the gate would be spliced onto the
    wrong tensor."""
    path, weights, _ = learned_like(tmp_path)
    model = onnx.load(str(path))
    head = next(node for node in model.graph.node if node.name == "learned_head")
    model.graph.node.insert(0, onnx.helper.make_node("Concat", [head.input[0], head.input[0]], ["wider"], axis=1))
    head.input[0] = "wider"
    stored = next(init for init in model.graph.initializer if init.name == head.input[1])
    stored.CopyFrom(onnx.numpy_helper.from_array(np.concatenate([weights, weights]), stored.name))
    with pytest.raises(GraphEditError, match="reads 400 features"):
        add_broad_genre(model, ELECTRONIC)


def test_a_model_is_not_gated_twice():
    with pytest.raises(GraphEditError, match="already has"):
        add_broad_genre(onnx.load(str(DEFAULT_MODEL_PATH)), ELECTRONIC)


def test_gating_a_model_file_fits_on_the_reference_and_tagger_info_says_so(tmp_path, make_audio):
    path, _, _ = learned_like(tmp_path)
    reference = [make_audio(f"ref{k}.wav", seconds=8.0, frequencies=(150.0 + 40 * k, 600.0 + 90 * k))
                 for k in range(6)]
    fitted = gate_model(path, path, reference, keep=0.5)
    info = GenreModel(path).info
    assert recipes(info) == [fitted] and fitted.fitted_on == "6 tracks of the trained genres"
    assert fitted.reference_share <= 0.5
    shown = CliRunner().invoke(main, ["info", str(path)])
    assert shown.exit_code == 0, shown.output
    assert "broad genre electronic: musicnn's tags electronic + electronica" in shown.output
    assert "Electronic" in shown.output
