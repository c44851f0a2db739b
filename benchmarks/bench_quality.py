"""Quality of the SHIPPED model as the tagger runs it: tagger.analysis.analyze on the held-out test tracks.

The test tracks are those of the shipped model's split (split seed 0 of the labelled data, recomputed with
the trainer's own split function), so no track here was seen in training or threshold tuning. This checks
the whole product path (MP3 decoding, resampling, window placement, the ONNX file, the tagger's genre
rule), not the PyTorch model, and gives bootstrap intervals over tracks.

Usage: python benchmarks/bench_quality.py [--data ../shared/data/gtzan-part] [--model FILE]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import record, table  # noqa: E402
from tagger.analysis import analyze  # noqa: E402
from tagger.genres import choose  # noqa: E402
from tagger.model import GenreModel  # noqa: E402
from trainer import stats  # noqa: E402
from trainer.config import TrainConfig  # noqa: E402
from trainer.data.sources import load_dataset  # noqa: E402
from trainer.data.split import drop_rare_labels, split_tracks  # noqa: E402
from trainer.refit import CROSS_VALIDATED_TRACKS  # noqa: E402

REPLICATES = 2000


def test_tracks(data: Path):
    defaults = TrainConfig(data=str(data), out="")
    tracks, _ = drop_rare_labels(load_dataset(data).tracks, defaults.min_tracks)
    split = split_tracks(tracks, defaults.val_fraction, defaults.test_fraction, defaults.split_seed, defaults.group_by)
    by_id = {track.id: track for track in tracks}
    return [by_id[i] for i in split.test]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "gtzan-part")
    parser.add_argument("--model", type=Path, default=None)
    arguments = parser.parse_args()
    model = GenreModel(arguments.model)
    if CROSS_VALIDATED_TRACKS in model.info.metrics:
        raise SystemExit(f"{model.path.name} was refit on every track after a cross-validation: no held-out track "
                         "is left to measure it on (its card gives the pooled cross-validated figures); pass "
                         "--model with a model trained on a split, such as `trainer export` of a `trainer train` run")
    labels = model.info.labels
    tracks = test_tracks(arguments.data)
    top1, tagged_right, tag_counts = [], [], []
    for track in tracks:
        scores = np.asarray(analyze(str(track.path), model, model.info.inference_windows).scores)
        truth = set(track.labels)
        top1.append(labels[int(np.argmax(scores))] in truth)
        chosen = {labels[i] for i in choose(scores, model.info.threshold_array(), top_k=2)}
        tagged_right.append(bool(chosen & truth))
        tag_counts.append(len(chosen))
    samples = stats.bootstrap_indices(np.arange(len(tracks)), REPLICATES, 0)
    rows = []
    for name, hits in (("top-1 accuracy", np.array(top1)), ("a written genre is right", np.array(tagged_right))):
        low, high = stats.mean_interval(hits, samples)
        rows.append([name, f"{hits.mean():.3f}", f"[{low:.3f}, {high:.3f}]"])
    majority = max(np.unique([t.labels[0] for t in tracks], return_counts=True)[1]) / len(tracks)
    rows += [["chance (uniform over genres)", f"{1 / len(labels):.3f}", ""], ["majority genre", f"{majority:.3f}", ""]]
    body = (
        f"Model `{model.path.name}` ({model.info.model_version}), {len(tracks)} held-out test tracks of "
        f"`{arguments.data.name}` (split seed 0), {model.info.inference_windows} windows per track, the tagger's "
        f"rule (tuned thresholds, top-k 2, mean {np.mean(tag_counts):.2f} genres written per track). "
        f"95 % intervals from {REPLICATES} bootstrap resamples of tracks.\n\n"
        + table(["measure", "value", "95 % interval"], rows)
    )
    print(body)
    record(f"Model quality, {model.path.name} (tagger path)", body)


if __name__ == "__main__":
    main()
