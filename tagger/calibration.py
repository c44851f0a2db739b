"""Calibrated probabilities: a model's "0.8" should be right about 8 times in 10.

Networks trained with BCE on a few hundred excerpts are over- or under-confident, and ``--min-confidence``
only means something when probabilities are honest. The trainer fits one temperature on held-out track
probabilities (validation, or every track's out-of-fold probability after a cross-validation) and records
it in the model file; the tagger divides the logit of each averaged track probability by it. The scaling is
monotone, so it never changes which genre ranks first, and thresholds move with it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a model's calibration is read without numpy (a scan's main process may never need it)
    import numpy as np

_EPSILON = 1e-7


def temperature_scale(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """sigmoid(logit(p) / T): T > 1 softens an over-confident model, T < 1 sharpens a timid one."""
    import numpy as np

    p = np.clip(np.asarray(probabilities, dtype=np.float64), _EPSILON, 1 - _EPSILON)
    return 1.0 / (1.0 + np.exp(-np.log(p / (1 - p)) / temperature))


@dataclass(frozen=True)
class Calibration:
    """What a model file records about its calibration (the ``calibration`` metadata key)."""

    temperature: float = 1.0
    # The --min-confidence a scan uses unless told otherwise: chosen on the same held-out tracks as the
    # temperature, where abstaining below it removed more wrong tags than right ones.
    min_confidence: float | None = None
    fitted_on: str = ""
    expected_calibration_error: dict[str, float] | None = None

    def apply(self, probabilities: np.ndarray) -> np.ndarray:
        import numpy as np

        return temperature_scale(probabilities, self.temperature).astype(np.float32)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict | None) -> Calibration:
        """A model without a calibration (older files) is left as it is: temperature 1, no minimum."""
        if not values:
            return cls()
        if not isinstance(values, dict):
            raise ValueError("calibration must be a JSON object")
        calibration = cls(**{name: values[name] for name in cls.__dataclass_fields__ if name in values})
        if not isinstance(calibration.temperature, int | float) or not 0 < calibration.temperature < float("inf"):
            raise ValueError(f"calibration temperature must be positive, not {calibration.temperature!r}")
        minimum = calibration.min_confidence
        if minimum is not None and (not isinstance(minimum, int | float) or not 0 <= minimum <= 1):
            raise ValueError(f"calibration min_confidence must be in [0, 1], not {minimum!r}")
        return calibration
