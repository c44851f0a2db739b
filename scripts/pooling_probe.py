"""Does pooling a track's windows before the head help (issue 28)? Research for the default's head.

On gtzan-part, the default model's embedding of N windows per track (placed as a scan places them), then
the same head fit (`tagger learn`'s: multinomial logistic regression, C chosen inside each outer fold's
training tracks) on three views of a track: every window an example and the track's probabilities their
mean (what the tagger computes), the mean of its windows' embeddings, or their mean and standard deviation
side by side (a track-level head, which the model file's per-window contract cannot express yet). Pooled
top-1 over 5 outer folds, for several fold seeds: how much of any difference is the split's luck.

  python scripts/pooling_probe.py --data ../shared/data/gtzan-part [--windows 2,10] [--seeds 5]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import record, table
from tagger.audio import read_windows
from tagger.learning.head import Examples, cross_validate
from tagger.model import GenreModel

SECTION = "Pooling a track's windows before the head (issue 28)"  # its section of benchmarks/RESULTS.md
VIEWS: dict[str, Callable[[np.ndarray], np.ndarray]] = {  # a track's [windows, width] -> its examples' rows
    "every window (the tagger's mean of probabilities)": lambda embedding: embedding,
    "mean of the windows' embeddings": lambda embedding: embedding.mean(axis=0, keepdims=True),
    "mean and std of the windows' embeddings": lambda embedding: np.hstack(
        [embedding.mean(axis=0), embedding.std(axis=0)])[None],
}


def examples(embeddings: list[np.ndarray], genres: np.ndarray, view: Callable[[np.ndarray], np.ndarray]) -> Examples:
    rows = [view(embedding) for embedding in embeddings]
    names = sorted(set(genres))
    targets = np.zeros((len(genres), len(names)))
    targets[np.arange(len(genres)), [names.index(genre) for genre in genres]] = 1
    track_of_row = np.concatenate([np.full(len(row), track) for track, row in enumerate(rows)])
    return Examples(np.concatenate(rows), targets, track_of_row, np.arange(len(genres)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--windows", default="2,10")
    parser.add_argument("--seeds", type=int, default=5)
    arguments = parser.parse_args()
    model = GenreModel()
    info = model.info
    files = sorted(arguments.data.rglob("*.mp3"))
    genres = np.array([path.parent.name for path in files])
    rows = []
    for count in map(int, arguments.windows.split(",")):
        embeddings = [model.embed(read_windows(path, info.sample_rate, info.window_seconds, count)) for path in files]
        for name, view in VIEWS.items():
            data = examples(embeddings, genres, view)
            top1 = [float((cross_validate(data, seed).probabilities.argmax(1) == data.targets.argmax(1)).mean())
                    for seed in range(arguments.seeds)]
            rows.append([count, name, f"{np.mean(top1):.3f}", f"{min(top1):.3f}-{max(top1):.3f}"])
    body = (f"`python scripts/pooling_probe.py`: {len(files)} tracks of {arguments.data.name}, the default model's "
            f"embedding, `tagger learn`'s head fit; 5 outer folds by track, fold seeds 0-{arguments.seeds - 1}.\n\n"
            + table(["windows per track", "the head sees", "pooled top-1, mean over seeds", "range"], rows))
    print(body)
    record(SECTION, body)


if __name__ == "__main__":
    main()
