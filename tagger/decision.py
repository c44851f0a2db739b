"""From one file's calibrated probabilities to the genres to write: the rule `tagger scan`, `tagger predict`
and the beets plugin share, so that each decides exactly as the others do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tagger.genres import DEFAULT_TOP_K, below_confidence, choose, explain
from tagger.vocabulary import GenreVocabulary

if TYPE_CHECKING:  # numpy is loaded when a file is first decided: a rescan of unchanged files decides none
    import numpy as np

    from tagger.model import ModelInfo


@dataclass(frozen=True)
class Decision:
    """What the rule made of one file's probabilities."""

    chosen: list[str]  # the model's genre names the rule took, most probable first
    genres: list[str]  # what to write: ``chosen`` in the user's vocabulary ([] when uncertain)
    uncertain: str = ""  # why nothing is written because the model is unsure, or ""


@dataclass(frozen=True)
class DecisionRule:
    """A model's genre names and thresholds with the user's choices: ``top_k``, ``--min-confidence``
    (None: the model's), ``--threshold`` (None: the model's per-genre ones) and their genre vocabulary."""

    names: list[str]
    thresholds: np.ndarray
    min_confidence: float | None
    top_k: int = DEFAULT_TOP_K
    vocabulary: GenreVocabulary = field(default_factory=GenreVocabulary)

    @classmethod
    def for_model(cls, info: ModelInfo, threshold: float | None = None, min_confidence: float | None = None,
                  top_k: int = DEFAULT_TOP_K, vocabulary: GenreVocabulary | None = None) -> DecisionRule:
        return cls(info.genre_names, info.threshold_array(threshold), info.min_confidence(min_confidence), top_k,
                   vocabulary or GenreVocabulary())

    def decide(self, scores: list[float] | np.ndarray) -> Decision:
        import numpy as np

        probabilities = np.asarray(scores, dtype=np.float32)
        chosen = [self.names[index] for index in choose(probabilities, self.thresholds, self.top_k)]
        if below_confidence(probabilities, self.min_confidence):
            best = int(np.argmax(probabilities))
            return Decision(chosen, [], f"top genre {self.names[best]} at {probabilities[best]:.2f} is below "
                                        f"--min-confidence {self.min_confidence:g}")
        return Decision(chosen, self.vocabulary.apply(chosen))

    def explain(self, scores: list[float] | np.ndarray) -> list[str]:
        """Why each genre was taken or left, in output order (for a person: `tagger predict`)."""
        import numpy as np

        return explain(np.asarray(scores, dtype=np.float32), self.thresholds, self.top_k)
