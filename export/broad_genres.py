"""A broad genre the pretrained network names itself, added to a model file, so that music outside the
trained genres gets that broad genre (or nothing) instead of a confident wrong one (issue 28).

musicnn's back end ends in 50 Last.fm tag outputs learned from about 200,000 Million-Song-Dataset tracks.
A frozen-backbone model (the default: a linear head on musicnn's embedding) computes the input of that tag
layer anyway, so the layer costs one 200x50 product per window. Five of its tags name electronic genres
(``electronic``, ``electronica``, ``electro``, ``House``, ``dance``); none of the trained ten does, and
electronic music is what the ten-genre model mislabels most (hip-hop, classical, disco) and most confidently.

Per window, with ``s`` the sum of those tags' probabilities::

    e = sigmoid((s - cut) / width)          # the new genre's probability
    trained genres' probabilities *= 1 - e  # a window that is electronic is not blues

so the tagger's one decision rule (thresholds, top-k, ``--min-confidence``) chooses between them unchanged:
clearly electronic music gets the broad genre, borderline music falls below ``--min-confidence`` and is
left ``uncertain``. ``cut`` is fitted on reference tracks of the trained genres alone (none of them
electronic): the lowest cut at which at most ``1 - keep`` of them would give the new genre a probability of
0.5 or more, i.e. a bound on how often it displaces a trained genre. Nothing is fitted on music outside the
trained genres; that music only measures (``benchmarks/bench_ood.py``).

  python -m export.broad_genres tagger/models/default.onnx --reference ../shared/data/gtzan-part  (in place;
  also quantizes its INT8 copy again)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnx.numpy_helper
from onnx import helper

from tagger.audio import DecodeError, read_windows
from tagger.graph_edit import (
    TRAINED_PROBABILITIES,
    GraphEditError,
    final_linear,
    initializer,
    linear_input_width,
    metadata_of,
    producer,
    set_metadata,
)
from tagger.model import OUTPUT_NAME, GenreModel, MetadataKeys, ModelInfo
from trainer.backbones.musicnn import MSD_TAGS, WEIGHTS

KEEP = 0.95  # share of reference tracks the new genre must leave to their trained genres
WIDTH = 0.025  # tag-sum units over which e rises from 0.5 to 0.88: a sharp but not a hard gate
NEW_GENRE_THRESHOLD = 0.5  # the new genre is chosen once more likely than not
MSD_TAGS_TENSOR, MSD_TAG_PROBABILITIES = "msd_tags", "msd_tag_probabilities"  # the tag layer's output and node
BROAD_CONCAT = "with_broad_genres"  # the node that appends the broad genres to the trained ones


@dataclass(frozen=True)
class BroadGenre:
    """A genre named by a family of musicnn's tags, and where its gate was set."""

    label: str
    name: str  # as written into tags
    tags: tuple[str, ...]
    cut: float = float("nan")
    width: float = WIDTH
    keep: float = KEEP
    fitted_on: str = ""
    reference_share: float = float("nan")  # share of the reference tracks it takes at that cut


ELECTRONIC = BroadGenre("electronic", "Electronic", ("electronic", "electronica", "electro", "House", "dance"))


def recipes(info: ModelInfo) -> list[BroadGenre]:
    """The broad genres a model file was given, as recorded in its metadata."""
    return [BroadGenre(**{**recipe, "tags": tuple(recipe["tags"])}) for recipe in info.broad_genres.values()]


def tag_layer() -> tuple[np.ndarray, np.ndarray]:
    """musicnn's tag layer: weights [200, 50] and biases [50], as TensorFlow stored them."""
    with np.load(WEIGHTS) as stored:
        return stored["dense_1/kernel"].astype(np.float32), stored["dense_1/bias"].astype(np.float32)


def check_musicnn_embedding(model: onnx.ModelProto) -> None:
    """Refuse a graph whose embedding layer is not musicnn's pretrained one (a fine-tuned backbone, or another
    network: musicnn's tags mean what they say only on its own embedding), or whose last linear layer reads
    more or other than that layer's 200 values (a head on musicnn's tags, ``ModelConfig.head_features``)."""
    with np.load(WEIGHTS) as stored:
        pretrained = stored["dense/kernel"].T
    for node in model.graph.node:
        if node.op_type == "Gemm" and len(node.input) > 1:
            stored_weights = initializer(model.graph, node.input[1])
            weights = None if stored_weights is None else onnx.numpy_helper.to_array(stored_weights)
            if weights is not None and weights.shape == pretrained.shape and np.allclose(weights, pretrained,
                                                                                          atol=1e-6):
                break
    else:
        raise GraphEditError("the model's embedding is not musicnn's pretrained one (a tuned or other backbone): "
                             "musicnn's tags would not mean what they say on it")
    width = linear_input_width(model.graph, final_linear(model.graph))
    if width != pretrained.shape[0]:
        raise GraphEditError(f"the model's head reads {width} features, not musicnn's {pretrained.shape[0]}-d "
                             "embedding alone (a head on its tags?): the gate needs that embedding")


def check_gateable(model: onnx.ModelProto, genre: BroadGenre) -> None:
    """Refuse a model that already names ``genre`` or a broad genre, or lacks musicnn's own embedding."""
    metadata = metadata_of(model)
    if genre.label in json.loads(metadata[MetadataKeys.LABELS]) or json.loads(
            metadata.get(MetadataKeys.BROAD_GENRES, "{}")):
        raise GraphEditError(f"the model already has a {genre.label!r} genre or a broad genre")
    if MetadataKeys.TAG_AGREEMENT in metadata:
        raise GraphEditError("the model already doubts genres its tags do not support: add broad genres first")
    check_musicnn_embedding(model)


def tag_probabilities(embeddings: np.ndarray) -> np.ndarray:
    """Per window [n, 200] -> [n, 50]: musicnn's tag probabilities, as its tag layer computes them."""
    weights, bias = tag_layer()
    return 1.0 / (1.0 + np.exp(-(embeddings.astype(np.float64) @ weights + bias)))


def family_sums(embeddings: np.ndarray, genre: BroadGenre) -> np.ndarray:
    """Per window [n, 200] -> [n]: the summed probability of the genre's tags."""
    return tag_probabilities(embeddings)[:, [MSD_TAGS.index(tag) for tag in genre.tags]].sum(axis=1)


def track_probability(sums: np.ndarray, cut: float, width: float) -> float:
    """The new genre's probability for one track: the mean over its windows, as the tagger averages."""
    return float(np.mean(1.0 / (1.0 + np.exp(-(sums - cut) / width))))


def share_taken(tracks: list[np.ndarray], cut: float, width: float) -> float:
    """The share of tracks whose new-genre probability reaches NEW_GENRE_THRESHOLD at ``cut``."""
    return float(np.mean([track_probability(sums, cut, width) >= NEW_GENRE_THRESHOLD for sums in tracks]))


def fit_cut(tracks: list[np.ndarray], keep: float = KEEP, width: float = WIDTH) -> float:
    """The lowest cut at which at most ``1 - keep`` of the reference tracks are taken (bisection: the share
    only falls as the cut rises)."""
    if not tracks:
        raise ValueError("no reference tracks to set the cut on")
    low, high = 0.0, 1.0 + max(float(sums.max()) for sums in tracks)
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if share_taken(tracks, middle, width) > 1 - keep else (low, middle)
    return high


def reference_windows(model: GenreModel, files: Iterable[Path]) -> Iterator[np.ndarray]:
    """Each readable file's windows at the model's own count (what a scan would hear); one line for each
    file that cannot be read."""
    info = model.info
    for path in files:
        try:
            windows = read_windows(path, info.sample_rate, info.window_seconds, info.inference_windows)
        except DecodeError as error:
            print(f"skipped {path}: {error}", file=sys.stderr)
            continue
        yield windows


def reference_sums(model: GenreModel, files: Iterable[Path], genre: BroadGenre) -> list[np.ndarray]:
    """Each readable file's per-window tag sums."""
    return [family_sums(model.embed(windows), genre) for windows in reference_windows(model, files)]


def add_constant(graph: onnx.GraphProto, name: str, value: np.ndarray) -> str:
    """Store ``value`` in the graph as the initializer ``name``; its name, for a node's input."""
    graph.initializer.append(onnx.numpy_helper.from_array(value, name))
    return name


def msd_tags(graph: onnx.GraphProto) -> str:
    """The tensor of musicnn's 50 tag probabilities per window, computed from the embedding by its own tag
    layer: added to the graph where no gate added it yet."""
    if any(node.name == MSD_TAG_PROBABILITIES for node in graph.node):
        return MSD_TAGS_TENSOR
    weights, bias = tag_layer()
    graph.node.extend([
        helper.make_node("Gemm", [final_linear(graph).input[0], add_constant(graph, "msd_tags.weight", weights),
                                  add_constant(graph, "msd_tags.bias", bias)], ["msd_tag_logits"], name="msd_tags"),
        helper.make_node("Sigmoid", ["msd_tag_logits"], [MSD_TAGS_TENSOR], name=MSD_TAG_PROBABILITIES),
    ])
    return MSD_TAGS_TENSOR


def add_broad_genre(model: onnx.ModelProto, genre: BroadGenre) -> None:
    """Edit ``model`` in place: the probabilities gain ``genre`` as a last label, gated as the module says;
    its metadata (labels, names, thresholds, the recipe) follows."""
    check_gateable(model, genre)
    graph = model.graph
    metadata = metadata_of(model)
    labels = json.loads(metadata[MetadataKeys.LABELS])
    tags = msd_tags(graph)  # before the rename: the tag layer is found from the output's linear layer
    producer(graph, OUTPUT_NAME).output[0] = TRAINED_PROBABILITIES
    family = np.array([MSD_TAGS.index(tag) for tag in genre.tags], dtype=np.int64)
    prefix = f"broad_{genre.label}"
    graph.node.extend([
        helper.make_node("Gather", [tags, add_constant(graph, f"{prefix}.tags", family)], [f"{prefix}_tags"],
                         axis=1, name=f"{prefix}_tags"),
        helper.make_node("ReduceSum", [f"{prefix}_tags", add_constant(graph, f"{prefix}.axes", np.array([1]))],
                         [f"{prefix}_sum"], keepdims=1, name=f"{prefix}_sum"),
        helper.make_node("Sub", [f"{prefix}_sum",
                                 add_constant(graph, f"{prefix}.cut", np.array(genre.cut, np.float32))],
                         [f"{prefix}_excess"], name=f"{prefix}_excess"),
        helper.make_node("Div", [f"{prefix}_excess",
                                 add_constant(graph, f"{prefix}.width", np.array(genre.width, np.float32))],
                         [f"{prefix}_logit"], name=f"{prefix}_logit"),
        helper.make_node("Sigmoid", [f"{prefix}_logit"], [f"{prefix}_probability"], name=f"{prefix}_probability"),
        helper.make_node("Sub", [add_constant(graph, f"{prefix}.one", np.array(1.0, np.float32)),
                                 f"{prefix}_probability"], [f"{prefix}_complement"], name=f"{prefix}_complement"),
        helper.make_node("Mul", [TRAINED_PROBABILITIES, f"{prefix}_complement"], ["trained_kept"],
                         name="trained_kept"),
        helper.make_node("Concat", ["trained_kept", f"{prefix}_probability"], [OUTPUT_NAME], axis=1,
                         name=BROAD_CONCAT),
    ])
    output = next(output for output in graph.output if output.name == OUTPUT_NAME)
    output.type.tensor_type.shape.dim[1].dim_value = len(labels) + 1
    names = json.loads(metadata.get(MetadataKeys.GENRE_NAMES, "null")) or labels
    thresholds = json.loads(metadata.get(MetadataKeys.THRESHOLDS, "{}"))
    metadata.update({
        MetadataKeys.LABELS: json.dumps([*labels, genre.label]),
        MetadataKeys.GENRE_NAMES: json.dumps([*names, genre.name]),
        MetadataKeys.THRESHOLDS: json.dumps({**thresholds, genre.label: NEW_GENRE_THRESHOLD}),
        MetadataKeys.BROAD_GENRES: json.dumps({genre.label: asdict(genre)}),
    })
    set_metadata(model, metadata)
    onnx.checker.check_model(model, full_check=True)


def save_atomically(model: onnx.ModelProto, destination: Path) -> None:
    """Write ``model`` to ``destination`` through a temporary file beside it, then renamed over it."""
    temporary = destination.with_name(destination.name + ".tmp")
    onnx.save(model, str(temporary))
    temporary.replace(destination)


def gate_model(source: Path, destination: Path, reference: list[Path], keep: float = KEEP,
               genre: BroadGenre = ELECTRONIC) -> BroadGenre:
    """Fit the gate on ``reference`` files heard by ``source`` and write the gated model to ``destination``
    (atomically: a temporary file beside it, then renamed)."""
    model = onnx.load(str(source))
    check_gateable(model, genre)  # before hearing the reference through an embedding it cannot use
    tracks = reference_sums(GenreModel(source), reference, genre)
    cut = fit_cut(tracks, keep, genre.width)
    cut = math.ceil(cut * 1e4) / 1e4  # stored to 4 places, rounded up so the bound still holds
    fitted = replace(genre, cut=cut, keep=keep, fitted_on=f"{len(tracks)} tracks of the trained genres",
                     reference_share=round(share_taken(tracks, cut, genre.width), 4))
    add_broad_genre(model, fitted)
    save_atomically(model, destination)
    return fitted


def reference_files(folder: Path) -> list[Path]:
    from tagger.formats import is_audio_file

    return sorted(path for path in folder.rglob("*") if path.is_file() and is_audio_file(path))


def requantize_copy(model_path: Path, reference: list[Path]) -> dict | None:
    """Where the model file has an INT8 copy beside it, quantize that copy again from the (edited) model, on
    windows of the reference tracks, so that both compute the same genres; None where it has none."""
    from export.quantize import quantize_int8

    if not model_path.with_name(model_path.stem + ".int8.onnx").is_file():
        return None
    info = GenreModel(model_path).info
    calibration = np.concatenate([read_windows(path, info.sample_rate, info.window_seconds, 1)
                                  for path in reference[:: max(1, len(reference) // 16)]])
    return quantize_int8(model_path, calibration, f"{len(calibration)} reference tracks")


def requantized(quantized: dict) -> str:
    """What ``requantize_copy`` did, in a line."""
    return (f"INT8 copy quantized again: top-1 agreement {quantized['top1_agreement']:.1%} on "
            f"{quantized['windows_kind']}")


def give_broad_genres(model_path: Path, reference: list[Path], keep: float = KEEP) -> tuple[BroadGenre, dict | None]:
    """Gate the model file in place, and its INT8 copy with it (``requantize_copy``)."""
    fitted = gate_model(model_path, model_path, reference, keep)
    return fitted, requantize_copy(model_path, reference)


def gate_command(description: str, give: Callable[[Path, list[Path], float], tuple[Any, dict | None]],
                 describe: Callable[[Any], str], keep: float) -> None:
    """The command line of a graph gate: a model file edited in place, fitted on a folder of reference tracks
    (``give``: export/broad_genres.py's or export/tag_agreement.py's), its INT8 copy with it."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="a model file with musicnn's frozen embedding (gated in place)")
    parser.add_argument("--reference", type=Path, required=True,
                        help="a folder of tracks of the trained genres (never the music being checked)")
    parser.add_argument("--keep", type=float, default=keep)
    arguments = parser.parse_args()
    try:
        fitted, quantized = give(arguments.model, reference_files(arguments.reference), arguments.keep)
    except ValueError as error:  # a GraphEditError, or no readable reference track
        raise SystemExit(f"error: {arguments.model}: {error}") from None
    print(describe(fitted))
    if quantized:
        print(requantized(quantized))


def main() -> None:
    gate_command(__doc__ or "", give_broad_genres, lambda fitted: f"{fitted.name}: cut {fitted.cut} over "
                 f"{fitted.fitted_on}; takes {fitted.reference_share:.1%} of them", KEEP)

if __name__ == "__main__":
    main()
