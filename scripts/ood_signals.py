"""Which signal tells music outside the ten genres from GTZAN's (issue 28): research, not shipped.

For every clip of gtzan-part and of the development set of scripts/fetch_ood_set.py: musicnn's own 50
Million-Song-Dataset tag probabilities (the taggram) averaged over 8 windows, and the shipped default's
calibrated genre probabilities at its own windows. Each candidate score's ROC AUC (gtzan-part against the
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
KEEP = 0.95  # the share of gtzan-part a threshold keeps
IN_VOCABULARY = ("gtzan", "orchestral")
ELECTRONIC = ("electronic", "electronica", "electro", "dance", "House", "ambient", "chillout", "experimental")
GENRE_TAGS = ("rock", "pop", "jazz", "metal", "soul", "blues", "country", "Hip-Hop", "funk", "rnb", "folk", "punk",
              "classic rock", "hard rock", "heavy metal", "oldies", "acoustic", "guitar", "easy listening")


def clips(gtzan: Path, ood: Path) -> list[tuple[Path, str]]:
    found = [(path, "gtzan") for path in sorted(gtzan.rglob("*.mp3"))]
    return found + [(ood / row["path"], row["style"]) for row in csv.DictReader((ood / "manifest.csv").open())]


def listen(found: list[tuple[Path, str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Styles, mean taggrams [clips, 50] and the default's calibrated probabilities [clips, genres]."""
    network, front = MusicnnMSD().load_pretrained().eval(), MusicnnLogMel().eval()
    model = GenreModel()
    styles, taggrams, genres = [], [], []
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
    return np.array(styles), np.stack(taggrams), np.stack(genres)


def tag_sum(names: tuple[str, ...]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    columns = [MSD_TAGS.index(name) for name in names]
    return lambda taggram, genres: taggram[:, columns].sum(axis=1)


SCORES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "the head's top probability, low": lambda taggram, genres: -genres.max(axis=1),
    "electronic tags, summed": tag_sum(ELECTRONIC),
    "genre tags the ten share, summed, low": lambda taggram, genres: -tag_sum(GENRE_TAGS)(taggram, genres),
    "instrumental tag": tag_sum(("instrumental",)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gtzan", type=Path, required=True)
    parser.add_argument("--ood", type=Path, required=True)
    arguments = parser.parse_args()
    torch.set_num_threads(2)
    styles, taggrams, genres = listen(clips(arguments.gtzan, arguments.ood))
    outside = ~np.isin(styles, IN_VOCABULARY)
    judged = (styles == "gtzan") | outside
    others = sorted(set(styles) - {"gtzan"})
    print(f"{(styles == 'gtzan').sum()} gtzan-part clips; " + ", ".join(f"{s} {(styles == s).sum()}" for s in others))
    print(f"| score (high: outside) | ROC AUC | flagged at {KEEP:.0%} of gtzan-part kept: "
          + " | ".join(others) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in others) + " |")
    for name, score in SCORES.items():
        values = score(taggrams, genres)
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
