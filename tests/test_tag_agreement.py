"""Doubting a genre musicnn's own tags do not support (export/tag_agreement.py): the graph computes what the
module says, with or without a broad genre after it, the cut keeps its bound, and what cannot be doubted
is refused."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import onnx
import pytest
from click.testing import CliRunner

from export.broad_genres import ELECTRONIC, add_broad_genre, gate_model, tag_layer
from export.tag_agreement import (
    FAMILIES,
    Heard,
    TagAgreement,
    add_tag_agreement,
    doubt_model,
    families_for,
    fit_cut,
    gated,
    share_changed,
)
from tagger.cli import main
from tagger.graph_edit import GraphEditError
from tagger.model import DEFAULT_MODEL_PATH, GenreModel
from tests.test_broad_genres import learned_like, sigmoid, windows
from trainer.backbones.musicnn import MSD_TAGS

GENRES = ["blues", "Hip Hop", "classical"]  # two with tag families (one in another spelling), one without


def tags_of(model: GenreModel, heard: np.ndarray) -> np.ndarray:
    weights, bias = tag_layer()
    return sigmoid(model.embed(heard).astype(np.float64) @ weights + bias)


@pytest.mark.parametrize("with_broad_genre", [False, True])
def test_the_graph_doubts_the_trained_genres_as_documented(tmp_path, with_broad_genre):
    path, _, _ = learned_like(tmp_path, labels=GENRES)
    graph = onnx.load(str(path))
    if with_broad_genre:
        add_broad_genre(graph, replace(ELECTRONIC, cut=0.05))
        onnx.save(graph, str(path))
    base = GenreModel(path)
    agreement = TagAgreement(families_for(base.info), cut=0.15)
    assert set(agreement.families) == {"blues", "Hip Hop"}
    add_tag_agreement(graph, base.info, agreement)
    doubted_path = tmp_path / "doubted.onnx"
    onnx.save(graph, str(doubted_path))
    doubted = GenreModel(doubted_path)
    heard = windows(doubted, 6)
    before, after = base.predict(heard), doubted.predict(heard)
    expected = gated(before, tags_of(base, heard), base.info, agreement)
    assert np.abs(after - expected).max() < 1e-5
    assert doubted.info.labels == base.info.labels and doubted.info.tag_agreement["cut"] == 0.15
    trained = [index for index, label in enumerate(base.info.labels) if label not in base.info.broad_genres]
    assert np.all(after[:, trained] <= before[:, trained] + 1e-6)  # the gate only ever takes confidence away
    if with_broad_genre:
        assert np.allclose(after[:, -1], before[:, -1], atol=1e-6)  # Electronic is not a trained genre to doubt
    classical = base.info.labels.index("classical")
    led = before[:, trained].argmax(axis=1) == trained.index(classical)
    assert np.allclose(after[led], before[led], atol=1e-6)  # a genre no tag names is never doubted
    if not with_broad_genre:
        with pytest.raises(GraphEditError, match="already doubts"):
            add_broad_genre(graph, ELECTRONIC)  # broad genres go first


def test_the_cut_is_the_highest_that_keeps_its_bound():
    """Synthetic reference tracks, all blues, whose blues tag has a known probability."""
    info = GenreModel().info
    rng = np.random.default_rng(0)
    blues = info.labels.index("blues")
    tracks = []
    for support in np.linspace(0.05, 0.6, 40):
        probabilities = np.full((2, len(info.labels)), 0.01, np.float32)
        probabilities[:, blues] = 0.97
        tags = rng.uniform(0, 0.01, (2, len(MSD_TAGS)))
        tags[:, MSD_TAGS.index("blues")] = support
        tracks.append(Heard(probabilities, tags))
    agreement = TagAgreement(families_for(info), keep=0.9)
    cut = fit_cut(tracks, info, agreement)
    assert share_changed(tracks, info, replace(agreement, cut=cut)) <= 0.1
    assert share_changed(tracks, info, replace(agreement, cut=cut + 0.02)) > 0.1
    assert 0.05 < cut < 0.6


def test_what_cannot_be_doubted_is_refused(tmp_path):
    unnamed, _, _ = learned_like(tmp_path)  # genres g0, g1, g2: no tag names them
    with pytest.raises(GraphEditError, match="none of the model's genres"):
        doubt_model(unnamed, unnamed, [])
    shipped = onnx.load(str(DEFAULT_MODEL_PATH))
    with pytest.raises(GraphEditError, match="already doubts"):
        add_tag_agreement(shipped, GenreModel().info, TagAgreement(FAMILIES, cut=0.1))


def test_doubting_a_model_file_fits_on_the_reference_and_tagger_info_says_so(tmp_path, make_audio):
    path, _, _ = learned_like(tmp_path, labels=GENRES)
    reference = [make_audio(f"ref{k}.wav", seconds=8.0, frequencies=(150.0 + 40 * k, 600.0 + 90 * k))
                 for k in range(6)]
    gate_model(path, path, reference, keep=0.5)
    fitted = doubt_model(path, path, reference, keep=0.5)
    info = GenreModel(path).info
    assert info.tag_agreement["cut"] == fitted.cut and fitted.fitted_on == "6 tracks of the trained genres"
    assert fitted.reference_share <= 0.5
    shown = CliRunner().invoke(main, ["info", str(path)])
    assert shown.exit_code == 0, shown.output
    assert "tag agreement: a genre is doubted where musicnn's tags for it sum below" in shown.output


def test_the_shipped_default_doubts_the_genres_its_tags_name():
    info = GenreModel().info
    recipe = info.tag_agreement
    assert set(recipe["families"]) == set(FAMILIES) and "classical" not in recipe["families"]
    assert recipe["reference_share"] <= 1 - recipe["keep"] and recipe["cut"] > 0
    int8 = GenreModel(DEFAULT_MODEL_PATH.with_name("default.int8.onnx")).info
    assert int8.tag_agreement == recipe and int8.labels == info.labels


def test_without_a_min_confidence_the_cut_bounds_the_tracks_handed_to_a_broad_genre():
    """A model that always writes its top genre can only change what it writes, by handing a doubted track
    to Electronic: the fitted cut still keeps that to its bound instead of doubting everything."""
    shipped = GenreModel().info
    info = replace(shipped, calibration=replace(shipped.calibration, min_confidence=None))
    blues, electronic = info.labels.index("blues"), info.labels.index("electronic")
    tracks = []
    for support in np.linspace(0.0, 0.5, 40):
        probabilities = np.full((2, len(info.labels)), 0.01, np.float32)
        probabilities[:, blues], probabilities[:, electronic] = 0.9, 0.55
        tags = np.zeros((2, len(MSD_TAGS)))
        tags[:, MSD_TAGS.index("blues")] = support
        tracks.append(Heard(probabilities, tags))
    agreement = TagAgreement(families_for(info), keep=0.9)
    cut = fit_cut(tracks, info, agreement)
    assert share_changed(tracks, info, replace(agreement, cut=cut)) <= 0.1
    assert cut < 0.2  # most of these tracks' blues is supported: doubting them all would hand them to Electronic
