"""The scan's options, declared once: name, values, default and help.

The click options of ``tagger scan`` and ``tagger predict``, the settings file's keys and their checks,
``tagger config`` and the beets plugin's configuration are all derived from ``SCAN_OPTIONS``, so an
option cannot have one default on the command line and another in the settings file or in beets. Nothing
here imports click: the declaration says what values an option takes, and ``tagger.cli`` turns that into
click types.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

from tagger.genres import DEFAULT_MODE, DEFAULT_TOP_K, Mode
from tagger.vocabulary import GenreVocabulary

MAX_JOBS = 256  # worker processes; more than this is a typo, and would start that many interpreters
MAX_WINDOWS = 2000  # windows per track: a whole hour-long mix at 2 s a window


@dataclass(frozen=True)
class Values:
    """What an option takes; ``problem`` says why a value from a settings file is not one of them."""

    metavar: str | None = None

    def problem(self, value: Any) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Flag(Values):
    def problem(self, value: Any) -> str:
        return "" if isinstance(value, bool) else "must be true or false"


@dataclass(frozen=True)
class Probability(Values):
    metavar: str | None = "P"

    def problem(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number from 0 to 1"
        return "" if not math.isnan(value) and 0 <= value <= 1 else "must be a number from 0 to 1"


@dataclass(frozen=True)
class Count(Values):
    low: int = 1
    high: int | None = None

    def problem(self, value: Any) -> str:
        within = isinstance(value, int) and not isinstance(value, bool) and self.low <= value \
            and (self.high is None or value <= self.high)
        return "" if within else f"must be a whole number from {self.low}" + (f" to {self.high}" if self.high else "")


@dataclass(frozen=True)
class Choice(Values):
    choices: tuple[str, ...] = ()

    def problem(self, value: Any) -> str:
        return "" if value in self.choices else f"must be one of {', '.join(self.choices)}"


@dataclass(frozen=True)
class Text(Values):
    metavar: str | None = "TEXT"

    def problem(self, value: Any) -> str:
        return "" if isinstance(value, str) else "must be text"


@dataclass(frozen=True)
class Patterns(Values):
    """Glob patterns; repeated on the command line, a list in the settings file."""

    metavar: str | None = "PATTERN"

    def problem(self, value: Any) -> str:
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
        return "" if ok else "must be a list of glob patterns"


@dataclass(frozen=True)
class ModelName(Values):
    """A shipped model's name or an ONNX file (``tagger.model.resolve_model``)."""

    metavar: str | None = "NAME|FILE"

    def problem(self, value: Any) -> str:
        return "" if isinstance(value, str) else "must be a model's name or an ONNX file"


@dataclass(frozen=True)
class GenreMap(Values):
    """The model's genre names to the user's ("" drops a genre)."""

    def problem(self, value: Any) -> str:
        ok = isinstance(value, dict) and all(isinstance(name, str) for name in value.values())
        return "" if ok else "must map genre names to genre names (or \"\" to drop a genre)"


@dataclass(frozen=True)
class GenreNames(Values):
    def problem(self, value: Any) -> str:
        ok = isinstance(value, list) and all(isinstance(name, str) for name in value)
        return "" if ok else "must be a list of genre names"


@dataclass(frozen=True)
class ScanOption:
    """One option. ``name`` is the Python name and the settings key; the flag is it with dashes.
    ``shown_default``: how help describes a default worked out at run time (the model's, the cores')."""

    name: str
    values: Values
    default: Any
    help: str
    setting: bool = True  # the settings file (and the beets plugin's config) may set it
    shown_default: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def problem(self, value: Any) -> str:
        """Why ``value`` from a settings file is not one this option takes, or ""."""
        return "" if value is None and self.default is None else self.values.problem(value)


FROM_THE_MODEL = "the model's, which tagger info shows"
CORES = "number of cores"

SCAN_OPTIONS: tuple[ScanOption, ...] = (
    ScanOption("write_tags", Flag(), False, "Write genres into the files (default: dry run, nothing changes).",
               setting=False),
    ScanOption("model", ModelName(), None, "A model shipped with the tagger by name (e.g. default.int8; an unknown "
               "name lists them) or an ONNX model file.", shown_default="the shipped default model"),
    ScanOption("threshold", Probability(), None, "One probability threshold for every genre.",
               shown_default="the model's per genre"),
    ScanOption("top_k", Count(low=1), DEFAULT_TOP_K, "At most this many genres."),
    ScanOption("min_confidence", Probability(), None, "Write nothing (status uncertain) when the top genre's "
               "calibrated probability is below P; 0 always writes.", shown_default=FROM_THE_MODEL),
    ScanOption("mode", Choice(choices=tuple(mode.value for mode in Mode)), DEFAULT_MODE.value,
               "fill-empty: tag only files without a genre (blank, Other, Unknown and the like count as none) and "
               "keep the genres people chose; merge: add predicted genres to existing ones; replace: overwrite "
               "them."),
    ScanOption("id3v23", Flag(), False, "Write ID3v2.3 tags to MP3s (default: keep each file's version)."),
    ScanOption("separator", Text(), None, "Write several genres as one value joined by TEXT, e.g. '; ', for players "
               "that show only a field's first value; existing values are split on it too.",
               shown_default="one value per genre"),
    ScanOption("jobs", Count(low=1, high=MAX_JOBS), os.cpu_count() or 1,
               "Worker processes that decode and analyse files in parallel.", shown_default=CORES),
    ScanOption("windows", Count(low=1, high=MAX_WINDOWS), None, "Windows analysed per track.",
               shown_default="the model's"),
    ScanOption("force", Flag(), False, "Analyse again even files whose results are cached.", setting=False),
    ScanOption("analyse_all", Flag(), False, "Analyse files the mode leaves alone too (fill-empty: those with "
               "genres of their own), for their scores in the report (default: they are kept without being "
               "analysed)."),
    ScanOption("exclude", Patterns(), [], "Never scan paths matching this glob pattern, e.g. '*/Podcasts/*' "
               "(repeat the option)."),
)
# The user's genre vocabulary: the settings file's [genres] table, and the beets plugin's keys of the same names.
GENRE_OPTIONS: tuple[ScanOption, ...] = (
    ScanOption("map", GenreMap(), {}, "The model's genre -> yours; \"\" drops it."),
    ScanOption("allow", GenreNames(), None, "Write only these genres (after the map).",
               shown_default="every genre"),
)
BY_NAME = {option.name: option for option in SCAN_OPTIONS}
SETTINGS = {option.name: option for option in SCAN_OPTIONS if option.setting}
GENRE_SETTINGS = {option.name: option for option in GENRE_OPTIONS}
DECISION = ("threshold", "top_k", "min_confidence")  # the genre-decision rule, shared by scan and predict


def default(name: str) -> Any:
    return BY_NAME[name].default


def vocabulary_from(values: dict[str, Any]) -> GenreVocabulary:
    """The vocabulary from checked ``map`` and ``allow`` values (absent: the declared defaults)."""
    mapping, allow = values.get("map") or {}, values.get("allow")
    return GenreVocabulary({name: value.strip() for name, value in mapping.items()},
                           tuple(allow) if allow is not None else None)


@dataclass(frozen=True)
class ScanOptions:
    """Everything a scan may be asked to do differently, carried whole instead of many parameters; each
    default is the declared one."""

    write_tags: bool = default("write_tags")
    mode: Mode = DEFAULT_MODE  # the declared default ("mode" above) as the enum
    threshold: float | None = default("threshold")  # one threshold for every genre instead of the model's own
    min_confidence: float | None = default("min_confidence")  # None: the model's
    top_k: int = default("top_k")
    windows: int | None = default("windows")  # None: the model's recommendation
    id3v23: bool = default("id3v23")
    separator: str | None = default("separator")  # None: a value per genre
    jobs: int = default("jobs")
    force: bool = default("force")  # ignore cached results
    analyse_all: bool = default("analyse_all")
    vocabulary: GenreVocabulary = field(default_factory=GenreVocabulary)  # the user's genre names

    @classmethod
    def from_values(cls, values: dict[str, Any], vocabulary: GenreVocabulary) -> ScanOptions:
        """The options from declared values by name (the command line's, a config's); others are ignored."""
        chosen = {name: values[name] for name in cls.__dataclass_fields__ if name in values}
        if "mode" in chosen:
            chosen["mode"] = Mode(chosen["mode"])
        if "separator" in chosen:
            chosen["separator"] = chosen["separator"] or None  # "" writes a value per genre, as no separator
        return cls(**chosen, vocabulary=vocabulary)
