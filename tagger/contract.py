"""Checks of a model file's metadata contract, so that a bad model fails before any file is touched.

A model is data from elsewhere: a labels *string* instead of a list would otherwise be iterated letter by
letter into genre tags, and a label count that differs from the network's outputs would be an IndexError
halfway through a library, or worse, a silent truncation.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the metadata is checked without numpy; only a session's outputs need it
    import numpy as np

# What a sane model states; anything outside is a broken or hostile file, not a model to run.
SAMPLE_RATE_RANGE = (4_000, 384_000)
WINDOW_SECONDS_RANGE = (0.1, 120.0)
INFERENCE_WINDOWS_RANGE = (1, 1_000)


class ContractError(ValueError):
    """The model's metadata or outputs break the contract; the message names the key."""


def text_list(value: Any, key: str) -> list[str]:
    """A JSON list of distinct non-empty strings, such as genre labels."""
    if not isinstance(value, list) or not value:
        raise ContractError(f"{key!r} must be a non-empty list of strings, not {type(value).__name__}")
    if not all(isinstance(item, str) and item.strip() for item in value):
        raise ContractError(f"{key!r} must hold only non-empty strings")
    if len(set(value)) != len(value):
        raise ContractError(f"{key!r} names a genre twice")
    return list(value)


def number_in(value: Any, key: str, bounds: tuple[float, float], integer: bool = False) -> float:
    """A finite number within ``bounds`` (inclusive); an integer where ``integer``."""
    number = float(value)
    if not math.isfinite(number) or not bounds[0] <= number <= bounds[1] or (integer and not number.is_integer()):
        kind = "an integer" if integer else "a number"
        raise ContractError(f"{key!r} must be {kind} in [{bounds[0]:g}, {bounds[1]:g}], not {value!r}")
    return number


def probability_map(value: Any, key: str, labels: list[str]) -> dict[str, float]:
    """A JSON object of some labels to probabilities in [0, 1]."""
    if not isinstance(value, dict):
        raise ContractError(f"{key!r} must be an object of genre to probability")
    unknown = sorted(set(value) - set(labels))
    if unknown:
        raise ContractError(f"{key!r} names genres the model does not predict: {', '.join(unknown)}")
    return {label: number_in(number, f"{key}[{label}]", (0.0, 1.0)) for label, number in value.items()}


def check_outputs(probabilities: np.ndarray, windows: int, labels: list[str]) -> None:
    """The network's answer to ``windows`` windows: one probability in [0, 1] per label and window."""
    import numpy as np

    if probabilities.shape != (windows, len(labels)):
        raise ContractError(f"the network gives outputs of shape {probabilities.shape} for {windows} window(s), "
                            f"but its metadata names {len(labels)} genres")
    if not np.all(np.isfinite(probabilities)) or probabilities.min() < 0 or probabilities.max() > 1:
        raise ContractError("the network's outputs are not probabilities in [0, 1]")
