"""What the cross-validation says about a learned head, in the words a user needs before trusting it:
how often the top genre is right, per genre precision and recall, and which genres it confuses."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

CONFUSED_PAIRS = 5  # the most frequent confusions shown


@dataclass(frozen=True)
class GenreFigures:
    name: str
    tracks: int  # tracks that carry the genre
    precision: float  # of the tracks whose top genre it is, the share that carry it
    recall: float  # of the tracks that carry it, the share whose top genre it is


@dataclass(frozen=True)
class CrossValidatedFigures:
    tracks: int
    folds: int
    grouping: str
    top1: float
    top1_interval: tuple[float, float]  # 95 %, Wilson's
    genres: list[GenreFigures]
    confused: list[tuple[str, str, int]]  # (a genre the track carries, the genre it was given, tracks)
    coverage: float  # the share of tracks a scan would tag at the chosen --min-confidence
    written_precision: float  # of the genres it would write, the share that the tracks carry

    def as_metadata(self) -> dict:
        """The figures the model file records (``tagger info`` prints them)."""
        return {"cross_validated_tracks": self.tracks, "folds": self.folds, "grouped_by": self.grouping,
                "top1_accuracy": round(self.top1, 4), "top1_interval": [round(v, 4) for v in self.top1_interval],
                "coverage": round(self.coverage, 4), "written_genre_precision": round(self.written_precision, 4),
                "per_genre": {g.name: {"tracks": g.tracks, "precision": round(g.precision, 4),
                                       "recall": round(g.recall, 4)} for g in self.genres}}

    def lines(self) -> list[str]:
        low, high = self.top1_interval
        lines = [f"cross-validated over {self.tracks} tracks in {self.folds} folds, one {self.grouping} never on "
                 f"both sides: the top genre is right for {self.top1:.1%} (95 % interval {low:.1%}-{high:.1%})",
                 f"at its --min-confidence a scan would tag {self.coverage:.0%} of such tracks, and "
                 f"{self.written_precision:.0%} of the genres it writes would be right",
                 "", *genre_table(self.as_metadata()["per_genre"])]
        if self.confused:
            lines += ["", "most confused (tracks of the first genre given the second):"]
            lines += [f"  {truth} -> {given}: {count}" for truth, given, count in self.confused]
        return lines


def genre_table(per_genre: dict[str, dict]) -> list[str]:
    """Lines of a table of genre -> {tracks, precision, recall}, as `learn` prints it and `info` shows it
    from a model file's metrics (where a value that is not a number raises ValueError or TypeError)."""
    lines = [f"  {'genre':<24} {'tracks':>6} {'precision':>9} {'recall':>7}"]
    lines += [f"  {name[:24]:<24} {int(row['tracks']):>6} {float(row['precision']):>9.2f} {float(row['recall']):>7.2f}"
              for name, row in per_genre.items()]
    return lines


def figures(targets: np.ndarray, probabilities: np.ndarray, calibrated: np.ndarray, names: list[str], folds: int,
            grouping: str, thresholds: np.ndarray, min_confidence: float | None) -> CrossValidatedFigures:
    """``probabilities``: out-of-fold track probabilities; ``calibrated``: the same under the calibration the
    model will record, with which the tagging rule (thresholds, top-k, --min-confidence) is applied."""
    from scipy.stats import binomtest

    from tagger.genres import DEFAULT_TOP_K
    from trainer.metrics import tagging_figures, top1_hits, written_genres

    truth = targets.astype(bool)
    top = probabilities.argmax(axis=1)
    hits = top1_hits(targets, probabilities)
    interval = binomtest(int(hits.sum()), len(hits)).proportion_ci(method="wilson")
    genres = [GenreFigures(name, int(truth[:, index].sum()),
                           float(truth[top == index, index].mean()) if (top == index).any() else 0.0,
                           float((top[truth[:, index]] == index).mean()) if truth[:, index].any() else 0.0)
              for index, name in enumerate(names)]
    confused = Counter((names[int(np.argmax(row))], names[given]) for row, given, hit in zip(targets, top, hits,
                                                                                               strict=True)
                       if not hit)
    written = written_genres(calibrated, calibrated, thresholds, DEFAULT_TOP_K, min_confidence)
    tagging = tagging_figures(targets, calibrated, written)
    return CrossValidatedFigures(
        len(targets), folds, grouping, float(hits.mean()), (float(interval.low), float(interval.high)), genres,
        [(truth_name, given, count) for (truth_name, given), count in confused.most_common(CONFUSED_PAIRS)],
        float(tagging["covered"].mean()), float(tagging["right"].sum() / max(tagging["written"].sum(), 1)))
