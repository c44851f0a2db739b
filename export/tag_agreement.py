"""Doubt a genre the pretrained network's own tags do not support, added to a model file (issue 28): music
outside the trained genres that the head still calls blues or country is then left `uncertain`.

A frozen-backbone model computes musicnn's embedding, and so, for one 200x50 product, its 50 Last.fm tag
probabilities (export/broad_genres.py). Most trained genres are named by some of those tags (FAMILIES: blues
by ``blues``, rock by ``rock``, ``classic rock``...). Per window, with ``g`` the trained genre the head finds
most probable there and ``s`` the summed probability of g's tags::

    d = sigmoid((s - cut) / width)      # how far the tags support g
    trained genres' probabilities *= d  # a broad genre's probability is left as it is

so the tagger's one decision rule, unchanged, leaves a file whose windows the tags do not support below its
``--min-confidence`` (it acts through that minimum: the rule always writes the most probable genre of a model
without one). A genre no tag names (GTZAN's classical and reggae) is never doubted. ``cut`` is fitted on
reference tracks of the trained genres alone: the highest cut at which at most ``1 - keep`` of the tracks
the model would tag lose or change their genres by the gate, each decided by the model's own rule.
The families were chosen by name, after seeing which tags the default model's wrong genres on the
development set of music outside its genres lacked (scripts/ood_signals.py): read that set's figures as a
check, not an unbiased estimate.

  python -m export.tag_agreement tagger/models/default.onnx --reference ../shared/data/gtzan-part  (in place;
  also quantizes its INT8 copy again)
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import onnx
from onnx import helper

from export.broad_genres import (
    BROAD_CONCAT,
    WIDTH,
    add_constant,
    check_musicnn_embedding,
    gate_command,
    msd_tags,
    reference_windows,
    requantize_copy,
    save_atomically,
    tag_probabilities,
)
from tagger.decision import DecisionRule
from tagger.graph_edit import TRAINED_PROBABILITIES, GraphEditError, metadata_of, producer, set_metadata
from tagger.model import OUTPUT_NAME, GenreModel, MetadataKeys, ModelInfo
from tagger.vocabulary import genre_key
from trainer.backbones.musicnn import MSD_TAGS

KEEP = 0.95  # share of the reference tracks the model tags that must keep their genres
UNQUESTIONED = 1e3  # the tag support of a genre no tag names: far above any cut
FAMILIES: dict[str, tuple[str, ...]] = {  # a trained genre -> musicnn's tags that name it or its close kin
    "blues": ("blues",),
    "country": ("country",),
    "disco": ("dance", "funk", "70s", "80s", "party"),
    "hiphop": ("Hip-Hop",),
    "jazz": ("jazz",),
    "metal": ("metal", "heavy metal", "hard rock"),
    "pop": ("pop", "indie pop", "catchy"),
    "rock": ("rock", "classic rock", "hard rock", "alternative rock", "indie rock"),
}


@dataclass(frozen=True)
class TagAgreement:
    """The families a model's trained genres were given, and where the gate was set."""

    families: dict[str, tuple[str, ...]] = field(default_factory=dict)  # the model's own labels
    cut: float = float("nan")
    width: float = WIDTH
    keep: float = KEEP
    fitted_on: str = ""
    reference_share: float = float("nan")  # share of the tagged reference tracks whose genres the gate changes


def trained_indices(info: ModelInfo) -> list[int]:
    """The outputs that are trained genres (not broad genres the graph appends)."""
    return [index for index, label in enumerate(info.labels) if label not in info.broad_genres]


def families_for(info: ModelInfo) -> dict[str, tuple[str, ...]]:
    """FAMILIES for the model's trained labels, matched in any spelling (``genre_key``)."""
    known = {genre_key(label): tags for label, tags in FAMILIES.items()}
    labels = [info.labels[index] for index in trained_indices(info)]
    return {label: known[genre_key(label)] for label in labels if genre_key(label) in known}


def support_matrix(info: ModelInfo, families: dict[str, tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """[50, trained] membership of each tag in each trained genre's family, and [trained] offsets that put a
    genre without a family out of reach of any cut."""
    labels = [info.labels[index] for index in trained_indices(info)]
    members = np.zeros((len(MSD_TAGS), len(labels)), dtype=np.float32)
    for column, label in enumerate(labels):
        members[[MSD_TAGS.index(tag) for tag in families.get(label, ())], column] = 1.0
    offsets = np.array([0.0 if label in families else UNQUESTIONED for label in labels], dtype=np.float32)
    return members, offsets


def window_support(probabilities: np.ndarray, tags: np.ndarray, members: np.ndarray,
                   offsets: np.ndarray) -> np.ndarray:
    """Per window [n]: the tag support of its most probable trained genre (``probabilities`` [n, trained])."""
    supports = tags @ members + offsets
    return supports[np.arange(len(supports)), probabilities.argmax(axis=1)]


def gated(probabilities: np.ndarray, tags: np.ndarray, info: ModelInfo, agreement: TagAgreement) -> np.ndarray:
    """What the gated graph outputs per window, from the ungated outputs [n, labels] and tags [n, 50]."""
    trained = trained_indices(info)
    members, offsets = support_matrix(info, agreement.families)
    support = window_support(probabilities[:, trained], tags, members, offsets)
    doubt = 0.5 * (1.0 + np.tanh((support - agreement.cut) / (2 * agreement.width)))  # the sigmoid, no overflow
    result = probabilities.copy()
    result[:, trained] *= doubt[:, None]
    return result


@dataclass(frozen=True)
class Heard:
    """A reference track as the model hears it: ungated probabilities [n, labels] and tags [n, 50]."""

    probabilities: np.ndarray
    tags: np.ndarray


def written(heard: Heard, info: ModelInfo, rule: DecisionRule, agreement: TagAgreement | None) -> list[str]:
    """The genres the model's rule writes for the track ([] when uncertain), with the gate or without it."""
    windows = heard.probabilities if agreement is None else gated(heard.probabilities, heard.tags, info, agreement)
    return rule.decide(info.calibration.apply(windows.mean(axis=0))).genres


def tagged_before(tracks: list[Heard], info: ModelInfo, rule: DecisionRule) -> list[tuple[Heard, list[str]]]:
    """The tracks the model's rule tags without the gate, each with the genres it writes."""
    return [(track, genres) for track in tracks if (genres := written(track, info, rule, None))]


def _share_changed(tagged: list[tuple[Heard, list[str]]], info: ModelInfo, rule: DecisionRule,
                   agreement: TagAgreement) -> float:
    return float(np.mean([written(track, info, rule, agreement) != genres for track, genres in tagged])) \
        if tagged else 0.0


def share_changed(tracks: list[Heard], info: ModelInfo, agreement: TagAgreement) -> float:
    """The share of the tracks the model tags whose genres the gate takes away or changes (a doubted genre
    can hand the track to a broad genre; without a --min-confidence nothing is ever left untagged)."""
    rule = DecisionRule.for_model(info)
    return _share_changed(tagged_before(tracks, info, rule), info, rule, agreement)


def fit_cut(tracks: list[Heard], info: ModelInfo, agreement: TagAgreement) -> float:
    """The highest cut at which at most ``1 - keep`` of the tagged reference tracks lose or change their
    genres (bisection: the share only grows with the cut; the ungated decisions are taken once)."""
    if not tracks:
        raise ValueError("no reference tracks to set the cut on")
    rule = DecisionRule.for_model(info)
    tagged = tagged_before(tracks, info, rule)
    low, high = 0.0, float(len(MSD_TAGS))
    for _ in range(50):
        middle = (low + high) / 2
        taken = _share_changed(tagged, info, rule, replace(agreement, cut=middle))
        low, high = (middle, high) if taken <= 1 - agreement.keep else (low, middle)
    return low


def hear(model: GenreModel, files: Iterable[Path]) -> list[Heard]:
    """Each readable file at the model's own windows: its outputs and musicnn's tags."""
    return [Heard(model.predict(windows), tag_probabilities(model.embed(windows)))
            for windows in reference_windows(model, files)]


def check_doubtable(model: onnx.ModelProto, info: ModelInfo) -> dict[str, tuple[str, ...]]:
    """The families the model's genres get; refuses a model already gated so, with no genre any tag names,
    or without musicnn's own embedding."""
    if info.tag_agreement:
        raise GraphEditError("the model already doubts genres its tags do not support")
    families = families_for(info)
    if not families:
        raise GraphEditError("none of the model's genres is named by musicnn's tags: there is nothing to check")
    check_musicnn_embedding(model)
    return families


def add_tag_agreement(model: onnx.ModelProto, info: ModelInfo, agreement: TagAgreement) -> None:
    """Edit ``model`` in place: the trained genres' probabilities are multiplied by the gate, before a broad
    genre is appended where the model has one; the recipe goes into the metadata."""
    check_doubtable(model, info)
    graph = model.graph
    tags = msd_tags(graph)
    concat = next((node for node in graph.node if node.name == BROAD_CONCAT), None)
    if concat is not None:
        trained, output = concat.input[0], "trained_supported"
        concat.input[0] = output
    else:
        trained, output = TRAINED_PROBABILITIES, OUTPUT_NAME
        producer(graph, OUTPUT_NAME).output[0] = trained
    members, offsets = support_matrix(info, agreement.families)
    gate = [
        helper.make_node("ArgMax", [trained], ["agreement_genre"], axis=1, keepdims=1, name="agreement_genre"),
        helper.make_node("MatMul", [tags, add_constant(graph, "agreement.members", members)], ["agreement_sums"],
                         name="agreement_sums"),
        helper.make_node("Add", ["agreement_sums", add_constant(graph, "agreement.offsets", offsets)],
                         ["agreement_supports"], name="agreement_supports"),
        helper.make_node("GatherElements", ["agreement_supports", "agreement_genre"], ["agreement_support"], axis=1,
                         name="agreement_support"),
        helper.make_node("Sub", ["agreement_support",
                                 add_constant(graph, "agreement.cut", np.array(agreement.cut, np.float32))],
                         ["agreement_excess"], name="agreement_excess"),
        helper.make_node("Div", ["agreement_excess",
                                 add_constant(graph, "agreement.width", np.array(agreement.width, np.float32))],
                         ["agreement_logit"], name="agreement_logit"),
        helper.make_node("Sigmoid", ["agreement_logit"], ["agreement_doubt"], name="agreement_doubt"),
        helper.make_node("Mul", [trained, "agreement_doubt"], [output], name="agreement_applied"),
    ]
    nodes = list(graph.node)
    at = nodes.index(concat) if concat is not None else len(nodes)  # the graph stays in topological order
    del graph.node[:]
    graph.node.extend(nodes[:at] + gate + nodes[at:])
    recipe = {**asdict(agreement), "families": {label: list(tags) for label, tags in agreement.families.items()}}
    set_metadata(model, {**metadata_of(model), MetadataKeys.TAG_AGREEMENT: json.dumps(recipe)})
    onnx.checker.check_model(model, full_check=True)


def doubt_model(source: Path, destination: Path, reference: list[Path], keep: float = KEEP) -> TagAgreement:
    """Fit the gate on ``reference`` files heard by ``source`` and write the gated model to ``destination``
    (atomically: a temporary file beside it, then renamed)."""
    model, base = onnx.load(str(source)), GenreModel(source)
    families = check_doubtable(model, base.info)  # before hearing the reference through an embedding it cannot use
    tracks = hear(base, reference)
    unfitted = TagAgreement(families, keep=keep)
    cut = math.floor(fit_cut(tracks, base.info, unfitted) * 1e4) / 1e4  # 4 places, rounded down: the bound holds
    fitted = replace(unfitted, cut=cut, fitted_on=f"{len(tracks)} tracks of the trained genres",
                     reference_share=round(share_changed(tracks, base.info, replace(unfitted, cut=cut)), 4))
    add_tag_agreement(model, base.info, fitted)
    save_atomically(model, destination)
    return fitted


def give_tag_agreement(model_path: Path, reference: list[Path], keep: float = KEEP) -> tuple[TagAgreement, dict | None]:
    """Gate the model file in place, and its INT8 copy with it (``requantize_copy``)."""
    fitted = doubt_model(model_path, model_path, reference, keep)
    return fitted, requantize_copy(model_path, reference)


def main() -> None:
    gate_command(__doc__ or "", give_tag_agreement, lambda fitted: f"tag agreement: cut {fitted.cut} over "
                 f"{fitted.fitted_on}; changes {fitted.reference_share:.1%} of the tagged ones", KEEP)

if __name__ == "__main__":
    main()
