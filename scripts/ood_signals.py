"""Which signal tells music outside the ten genres from GTZAN's (issue 28): research; none is shipped as a gate.

For every clip of gtzan-part and of the development set of scripts/fetch_ood_set.py: musicnn's own 50
Million-Song-Dataset tag probabilities (the taggram) averaged over 8 windows, the shipped default's
calibrated genre probabilities at its own windows, and its embedding (the model file's second output)
averaged over those windows: how far a clip lies from gtzan-part's clips (the mean distance to its K
nearest, standardised, a gtzan-part clip measured against the others, never against itself; or the
Mahalanobis distance to the nearest genre, fitted out of fold). Each candidate score's ROC AUC (gtzan-part
against the chiptune and electronic files; orchestral counts as in-vocabulary: classical is fair for it),
the share of each style it flags at a threshold chosen on gtzan-part alone (keeping 95 % of its clips), so
the development set only measures and never chooses, and which of gtzan-part's genres pay for it. Last,
for the outside files the default would give one of the ten trained genres (top probability at least its
--min-confidence): which genres, and what the network's own tags call that music.

  python scripts/ood_signals.py --gtzan ../shared/data/gtzan-part --ood ~/ood-music
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.covariance import LedoitWolf
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import record
from export.tag_agreement import trained_indices
from tagger.audio import DecodeError, read_windows
from tagger.model import GenreModel
from trainer.audio_params import MUSICNN_AUDIO
from trainer.backbones.musicnn import MSD_TAGS, MusicnnLogMel, MusicnnMSD

WINDOWS = 8
SECTION = "Signals outside the ten genres (issue 28)"  # its section of benchmarks/RESULTS.md
NEAREST = 5  # gtzan-part clips a clip's embedding distance is averaged over
KEEP = 0.95  # the share of gtzan-part a threshold keeps
IN_VOCABULARY = ("gtzan", "orchestral")
ELECTRONIC = ("electronic", "electronica", "electro", "dance", "House", "ambient", "chillout", "experimental")
GENRE_TAGS = ("rock", "pop", "jazz", "metal", "soul", "blues", "country", "Hip-Hop", "funk", "rnb", "folk", "punk",
              "classic rock", "hard rock", "heavy metal", "oldies", "acoustic", "guitar", "easy listening")


def clips(gtzan: Path, ood: Path) -> list[tuple[Path, str, str]]:
    """(file, style, genre): gtzan-part's clips are style "gtzan" with their folder's genre; the development
    set's files have their manifest's style and no genre."""
    found = [(path, "gtzan", path.parent.name) for path in sorted(gtzan.rglob("*.mp3"))]
    return found + [(ood / row["path"], row["style"], "") for row in csv.DictReader((ood / "manifest.csv").open())]


@dataclass(frozen=True)
class Heard:
    """Per clip: its style and gtzan-part genre ("" outside it), mean taggram [clips, 50], the default's
    calibrated probabilities [clips, genres] and its mean embedding [clips, width]."""

    styles: np.ndarray
    gtzan_genres: np.ndarray
    taggrams: np.ndarray
    genres: np.ndarray
    embeddings: np.ndarray


def listen(found: list[tuple[Path, str, str]]) -> Heard:
    network, front = MusicnnMSD().load_pretrained().eval(), MusicnnLogMel().eval()
    model = GenreModel()
    heard: list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray]] = []
    for path, style, genre in found:
        try:
            windows = read_windows(path, MUSICNN_AUDIO.sample_rate, MUSICNN_AUDIO.window_seconds, WINDOWS)
        except DecodeError as error:
            print(f"skipped {path}: {error}", file=sys.stderr)
            continue
        with torch.no_grad():
            logits = network(front(torch.from_numpy(windows)))[0]
        info = model.info
        own = read_windows(path, info.sample_rate, info.window_seconds, info.inference_windows)  # as a scan hears it
        heard.append((style, genre, torch.sigmoid(logits).mean(0).numpy(),
                      model.info.calibration.apply(model.predict(own).mean(0)), model.embed(own).mean(0)))
    styles, gtzan_genres, taggrams, genres, embeddings = zip(*heard, strict=True)
    return Heard(np.array(styles), np.array(gtzan_genres), np.stack(taggrams), np.stack(genres), np.stack(embeddings))


def tag_sum(names: tuple[str, ...]) -> Callable[[Heard], np.ndarray]:
    columns = [MSD_TAGS.index(name) for name in names]
    return lambda heard: heard.taggrams[:, columns].sum(axis=1)


def distance_from_gtzan(heard: Heard, nearest: int = NEAREST) -> np.ndarray:
    """Mean Euclidean distance of each clip's standardised embedding to its ``nearest`` gtzan-part clips
    (a gtzan-part clip's own distance of 0 left out)."""
    reference = heard.embeddings[heard.styles == "gtzan"]
    mean, scale = reference.mean(0), reference.std(0) + 1e-3
    points, reference = (heard.embeddings - mean) / scale, (reference - mean) / scale
    distances = np.linalg.norm(points[:, None, :] - reference[None, :, :], axis=2)
    distances[heard.styles == "gtzan"] = np.where(distances[heard.styles == "gtzan"] < 1e-9, np.inf,
                                                  distances[heard.styles == "gtzan"])
    return np.sort(distances, axis=1)[:, :nearest].mean(axis=1)


def genre_distance(heard: Heard, folds: int = 5) -> np.ndarray:
    """Mahalanobis distance of each clip's mean embedding to the nearest genre's mean over gtzan-part (one
    covariance shared by the genres, Ledoit-Wolf shrunk: 94 clips in 200 dimensions; Lee et al., 2018). A
    gtzan-part clip is measured against means and covariance fitted on the other folds only."""
    inside = np.flatnonzero(heard.styles == "gtzan")
    labels = heard.gtzan_genres
    splits = StratifiedKFold(folds, shuffle=True, random_state=0).split(inside, labels[inside])
    fits = [(inside[train], inside[test]) for train, test in splits]
    fits.append((inside, np.flatnonzero(heard.styles != "gtzan")))
    scores = np.empty(len(labels))
    for train, scored in fits:
        names, members = np.unique(labels[train], return_inverse=True)
        means = np.stack([heard.embeddings[train][members == index].mean(0) for index in range(len(names))])
        precision = LedoitWolf().fit(heard.embeddings[train] - means[members]).precision_
        offsets = heard.embeddings[scored][:, None, :] - means[None]
        scores[scored] = np.sqrt(np.einsum("cgi,ij,cgj->cg", offsets, precision, offsets)).min(axis=1)
    return scores


SCORES: dict[str, Callable[[Heard], np.ndarray]] = {
    "the head's top probability, low": lambda heard: -heard.genres.max(axis=1),
    "electronic tags, summed": tag_sum(ELECTRONIC),
    "genre tags the ten share, summed, low": lambda heard: -tag_sum(GENRE_TAGS)(heard),
    "genre tags the ten share, largest, low": lambda heard: -heard.taggrams[
        :, [MSD_TAGS.index(tag) for tag in GENRE_TAGS]].max(axis=1),
    "instrumental tag": tag_sum(("instrumental",)),
    "instrumental and ambient tags": tag_sum(("instrumental", "ambient")),
    "embedding: distance to the nearest gtzan-part clips": distance_from_gtzan,
    "embedding: Mahalanobis distance to the nearest genre (out of fold)": genre_distance,
}


def flagged_genres(values: np.ndarray, cut: float, heard: Heard) -> str:
    """The gtzan-part genres a threshold costs most: the share of each genre's clips it flags."""
    inside = heard.styles == "gtzan"
    shares = {genre: float((values[inside & (heard.gtzan_genres == genre)] > cut).mean())
              for genre in np.unique(heard.gtzan_genres[inside])}
    return ", ".join(f"{genre} {share:.2f}" for genre, share in sorted(shares.items(), key=lambda kv: -kv[1])[:3]
                     if share > 0)


def wrongly_trained(heard: Heard) -> list[str]:
    """Per outside style: the trained genres the default would write on it, and the network's top tags there."""
    model = GenreModel().info
    trained = trained_indices(model)
    minimum = model.calibration.min_confidence or 0.0
    top = heard.genres.argmax(axis=1)
    lines = []
    for style in sorted(set(heard.styles) - set(IN_VOCABULARY)):
        chosen = (heard.styles == style) & np.isin(top, trained) & (heard.genres.max(axis=1) >= minimum)
        if not chosen.any():
            continue
        counts = Counter(model.labels[index] for index in top[chosen]).most_common()
        tags = heard.taggrams[chosen].mean(0)
        lines.append(f"- {style}: {chosen.sum()} of {(heard.styles == style).sum()} files would get a trained genre ("
                     + ", ".join(f"{label} {count}" for label, count in counts) + "); the network's own tags on "
                     "them: " + ", ".join(f"{MSD_TAGS[index]} {tags[index]:.2f}" for index in np.argsort(-tags)[:6]))
    return lines


def signal_table(heard: Heard) -> list[str]:
    """Each candidate score's ROC AUC, the share of each style it flags at KEEP and what gtzan-part pays."""
    styles = heard.styles
    outside = ~np.isin(styles, IN_VOCABULARY)
    judged = (styles == "gtzan") | outside
    others = sorted(set(styles) - {"gtzan"})
    lines = [f"| score (high: outside) | ROC AUC | flagged at {KEEP:.0%} of gtzan-part kept: " + " | ".join(others)
             + " | gtzan-part genres it flags most |", "| --- | --- | " + "".join("--- | " for _ in others) + "--- |"]
    for name, score in SCORES.items():
        values = score(heard)
        auc = roc_auc_score(outside[judged], values[judged])
        cut = np.quantile(values[styles == "gtzan"], KEEP)
        shares = " | ".join(f"{(values[styles == style] > cut).mean():.2f}" for style in others)
        lines.append(f"| {name} | {auc:.3f} | {shares} | {flagged_genres(values, cut, heard)} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gtzan", type=Path, required=True)
    parser.add_argument("--ood", type=Path, required=True)
    arguments = parser.parse_args()
    torch.set_num_threads(2)
    heard = listen(clips(arguments.gtzan, arguments.ood))
    styles = heard.styles
    counts = ", ".join(f"{style} {(styles == style).sum()}" for style in sorted(set(styles) - {"gtzan"}))
    body = [f"`python scripts/ood_signals.py`: {(styles == 'gtzan').sum()} gtzan-part clips; {counts}. Taggram "
            f"over {WINDOWS} windows, the default's probabilities and embedding at its own windows.", "",
            *signal_table(heard), "", *wrongly_trained(heard)]
    print("\n".join(body))
    record(SECTION, "\n".join(body))


if __name__ == "__main__":
    main()
