"""A model file whose metadata breaks the contract is refused with one line before any file is touched."""

from __future__ import annotations

import json

import onnx
import pytest
from click.testing import CliRunner
from tagtools import digest

from tagger.cli import main
from tagger.model import OUTPUT_NAME, MetadataKeys


def _with_metadata(tiny_model, tmp_path, **changes: str | None):
    """The tiny model with metadata keys replaced (a value) or removed (None)."""
    graph = onnx.load(str(tiny_model))
    kept = [prop for prop in graph.metadata_props if prop.key not in changes]
    del graph.metadata_props[:]
    graph.metadata_props.extend(kept)
    for key, value in changes.items():
        if value is not None:
            graph.metadata_props.add(key=key, value=value)
    path = tmp_path / "broken.onnx"
    onnx.save(graph, str(path))
    return path


def _labels(tiny_model) -> list[str]:
    graph = onnx.load(str(tiny_model))
    return json.loads(next(prop.value for prop in graph.metadata_props if prop.key == MetadataKeys.LABELS))


BROKEN = {
    "labels as a string": ({MetadataKeys.LABELS: json.dumps("rock"), MetadataKeys.GENRE_NAMES: None}, "labels"),
    "labels with an empty name": ({MetadataKeys.LABELS: json.dumps(["rock", ""])}, "labels"),
    "labels with a number": ({MetadataKeys.LABELS: json.dumps(["rock", 3])}, "labels"),
    "a label twice": ({MetadataKeys.LABELS: json.dumps(["rock", "rock"])}, "twice"),
    "fewer labels than outputs": ({MetadataKeys.LABELS: json.dumps(["rock"]), MetadataKeys.GENRE_NAMES: None,
                                   MetadataKeys.THRESHOLDS: None}, "1 genres"),
    "more labels than outputs": ({MetadataKeys.LABELS: json.dumps([f"g{i}" for i in range(40)]),
                                  MetadataKeys.GENRE_NAMES: None, MetadataKeys.THRESHOLDS: None}, "40 genres"),
    "genre names of another length": ({MetadataKeys.GENRE_NAMES: json.dumps(["Rock"])}, "genre names"),
    "genre names as a string": ({MetadataKeys.GENRE_NAMES: json.dumps("Rock")}, "genre_names"),
    "a threshold above 1": ({MetadataKeys.THRESHOLDS: "LABEL0:1.5"}, "thresholds"),
    "a negative sample rate": ({MetadataKeys.SAMPLE_RATE: "-16000"}, "sample_rate"),
    "a fractional sample rate": ({MetadataKeys.SAMPLE_RATE: "16000.5"}, "sample_rate"),
    "a window of a day": ({MetadataKeys.WINDOW_SECONDS: "86400"}, "window_seconds"),
    "a window of nothing": ({MetadataKeys.WINDOW_SECONDS: "nan"}, "window_seconds"),
    "no windows per track": ({MetadataKeys.INFERENCE_WINDOWS: "0"}, "inference_windows"),
    "a calibration that is a list": ({MetadataKeys.CALIBRATION: "[1]"}, "calibration"),
    "a min confidence of 2": ({MetadataKeys.CALIBRATION: json.dumps({"min_confidence": 2})}, "min_confidence"),
    "no labels": ({MetadataKeys.LABELS: None}, "labels"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_contract_is_one_line_before_any_file_is_touched(case, tiny_model, tmp_path, make_audio):
    changes, named = BROKEN[case]
    if changes.get(MetadataKeys.THRESHOLDS) == "LABEL0:1.5":
        changes = {MetadataKeys.THRESHOLDS: json.dumps({_labels(tiny_model)[0]: 1.5})}
    model = _with_metadata(tiny_model, tmp_path, **changes)
    song = make_audio("lib/song.mp3")
    before = digest(song)
    result = CliRunner().invoke(main, ["scan", str(song), "--write-tags", "--mode", "replace", "--min-confidence",
                                       "0", "--model", str(model), "--state-dir", str(tmp_path / "state")])
    assert result.exit_code == 2, result.output  # a usage error: the --model given is not a usable model
    message = result.output.strip().splitlines()
    assert len(message) == 1 and message[0].startswith("Error:") and named in message[0], result.output
    assert digest(song) == before
    assert not (tmp_path / "state").exists()  # refused before the state was even opened


def _logits_model(tiny_model, tmp_path):
    """The tiny model giving -3 times its probabilities: a network whose outputs are not probabilities, which
    only running it shows (its metadata and declared shapes are all in order)."""
    from onnx import helper

    graph = onnx.load(str(tiny_model))
    output = next(output for output in graph.graph.output if output.name == OUTPUT_NAME)  # not the embedding
    producer = next(node for node in graph.graph.node if output.name in node.output)
    producer.output[list(producer.output).index(output.name)] = "raw"
    graph.graph.node.append(helper.make_node("Mul", ["raw", "minus_three"], [output.name]))
    graph.graph.initializer.append(helper.make_tensor("minus_three", onnx.TensorProto.FLOAT, [], [-3.0]))
    path = tmp_path / "logits.onnx"
    onnx.save(graph, str(path))
    return path


def test_outputs_outside_zero_one_are_refused(tmp_path, tiny_model):
    """A network that gives logits (no sigmoid) is not a model the tagger can threshold."""
    result = CliRunner().invoke(main, ["info", "--model", str(_logits_model(tiny_model, tmp_path))])
    assert result.exit_code == 2 and "not probabilities in [0, 1]" in result.output


def test_a_scan_whose_model_fails_when_run_stops_with_one_line(tmp_path, tiny_model, make_audio):
    """The scan's main process holds no session; the workers' model check stops the scan before any file is
    heard or written, said once, not as a decoder crash on every file."""
    songs = [make_audio(f"lib/song{index}.mp3") for index in range(3)]
    before = [digest(song) for song in songs]
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "lib"), "--write-tags", "--jobs", "2", "--model",
                                       str(_logits_model(tiny_model, tmp_path)), "--state-dir", str(tmp_path / "s")])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if "not probabilities in [0, 1]" in line]
    assert len(errors) == 1 and errors[0].startswith("error: model "), result.output
    assert "crashed" not in result.output and "tagged 0" in result.output, result.output
    assert [digest(song) for song in songs] == before


@pytest.mark.parametrize("content", [b"", b"not a model at all\n", b"\x08\x07" * 100])
def test_a_file_that_is_not_onnx_is_a_one_line_usage_error(tmp_path, content):
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    for command in (["info", "--model", str(path)], ["predict", str(path), "--model", str(path)]):
        result = CliRunner().invoke(main, command)
        lines = result.output.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and "is not an ONNX model" in lines[0], result.output
