"""Which signal tells music outside the ten genres from GTZAN's (issue 28): research, not shipped.

For every clip of gtzan-part and of the development set of scripts/fetch_ood_set.py: musicnn's own 50
Million-Song-Dataset tag probabilities (the taggram) averaged over 8 windows, the shipped default's
calibrated genre probabilities at its own windows, and its embedding (the model file's second output)
averaged over those windows: how far a clip lies from gtzan-part's clips (the mean distance to its K
nearest, standardised; a gtzan-part clip is measured against the others, never against itself). Each
candidate score's ROC AUC (gtzan-part against the
chiptune and electronic files; orchestral counts as in-vocabulary: classical is fair for it), and the
share of each style it flags at a threshold chosen on gtzan-part alone (keeping 95 % of its clips), so the
development set only measures and never chooses.

  python scripts/ood_signals.py --gtzan ../shared/data/gtzan-part --ood ~/ood-music
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tagger.audio import DecodeError, read_windows
from tagger.model import GenreModel
from trainer.audio_params import MUSICNN_AUDIO
from trainer.backbones.musicnn import MSD_TAGS, MusicnnLogMel, MusicnnMSD

WINDOWS = 8
NEAREST = 5  # gtzan-part clips a clip's embedding distance is averaged over
KEEP = 0.95  # the share of gtzan-part a threshold keeps
IN_VOCABULARY = ("gtzan", "orchestral")
ELECTRONIC = ("electronic", "electronica", "electro", "dance", "House", "ambient", "chillout", "experimental")
GENRE_TAGS = ("rock", "pop", "jazz", "metal", "soul", "blues", "country", "Hip-Hop", "funk", "rnb", "folk", "punk",
              "classic rock", "hard rock", "heavy metal", "oldies", "acoustic", "guitar", "easy listening")


def clips(gtzan: Path, ood: Path) -> list[tuple[Path, str]]:
    found = [(path, "gtzan") for path in sorted(gtzan.rglob("*.mp3"))]
    return found + [(ood / row["path"], row["style"]) for row in csv.DictReader((ood / "manifest.csv").open())]


@dataclass(frozen=True)
class Heard:
    """Per clip: its style, mean taggram [clips, 50], the default's calibrated probabilities [clips, genres]
    and its mean embedding [clips, width]."""

    styles: np.ndarray
    taggrams: np.ndarray
    genres: np.ndarray
    embeddings: np.ndarray


def listen(found: list[tuple[Path, str]]) -> Heard:
    network, front = MusicnnMSD().load_pretrained().eval(), MusicnnLogMel().eval()
    model = GenreModel()
    styles, taggrams, genres, embeddings = [], [], [], []
    for path, style in found:
        try:
            windows = read_windows(path, MUSICNN_AUDIO.sample_rate, MUSICNN_AUDIO.window_seconds, WINDOWS)
        except DecodeError as error:
            print(f"skipped {path}: {error}", file=sys.stderr)
            continue
        with torch.no_grad():
            logits = network(front(torch.from_numpy(windows)))[0]
        info = model.info
        own = read_windows(path, info.sample_rate, info.window_seconds, info.inference_windows)  # as a scan hears it
        styles.append(style)
        taggrams.append(torch.sigmoid(logits).mean(0).numpy())
        genres.append(model.info.calibration.apply(model.predict(own).mean(0)))
        embeddings.append(model.embed(own).mean(0))
    return Heard(np.array(styles), np.stack(taggrams), np.stack(genres), np.stack(embeddings))


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


SCORES: dict[str, Callable[[Heard], np.ndarray]] = {
    "the head's top probability, low": lambda heard: -heard.genres.max(axis=1),
    "electronic tags, summed": tag_sum(ELECTRONIC),
    "genre tags the ten share, summed, low": lambda heard: -tag_sum(GENRE_TAGS)(heard),
    "instrumental tag": tag_sum(("instrumental",)),
    "embedding: distance to the nearest gtzan-part clips": distance_from_gtzan,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gtzan", type=Path, required=True)
    parser.add_argument("--ood", type=Path, required=True)
    arguments = parser.parse_args()
    torch.set_num_threads(2)
    heard = listen(clips(arguments.gtzan, arguments.ood))
    styles, taggrams = heard.styles, heard.taggrams
    outside = ~np.isin(styles, IN_VOCABULARY)
    judged = (styles == "gtzan") | outside
    others = sorted(set(styles) - {"gtzan"})
    print(f"{(styles == 'gtzan').sum()} gtzan-part clips; " + ", ".join(f"{s} {(styles == s).sum()}" for s in others))
    print(f"| score (high: outside) | ROC AUC | flagged at {KEEP:.0%} of gtzan-part kept: "
          + " | ".join(others) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in others) + " |")
    for name, score in SCORES.items():
        values = score(heard)
        auc = roc_auc_score(outside[judged], values[judged])
        cut = np.quantile(values[styles == "gtzan"], KEEP)
        print(f"| {name} | {auc:.3f} | " + " | ".join(f"{(values[styles == s] > cut).mean():.2f}" for s in others)
              + " |")
    print("\nmean tag probability, gtzan-part against outside, largest differences:")
    difference = taggrams[outside].mean(0) - taggrams[styles == "gtzan"].mean(0)
    for index in np.argsort(-np.abs(difference))[:10]:
        print(f"  {MSD_TAGS[index]:<18} gtzan-part {taggrams[styles == 'gtzan', index].mean():.3f}  "
              f"outside {taggrams[outside, index].mean():.3f}")


if __name__ == "__main__":
    main()
