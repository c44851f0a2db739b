"""The user's settings file: TOML in the XDG config directory (or ``$TAGGER_CONFIG``), read with the
standard library. Its keys are the README's ("Settings live in a TOML file"): scan defaults (mode, top_k,
threshold, id3v23, jobs, exclude) and ``[genres]`` with the user's ``map`` and ``allow``-list.

Command-line flags override the file, and the file overrides the built-in defaults; `tagger config` shows
the effective settings and where each came from.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tagger.genres import Mode
from tagger.vocabulary import genre_key, without_duplicates
from tagger.xdg import NoHomeError, base_directory

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_ENV = "TAGGER_CONFIG"
# Settings that are also `tagger scan` options, with their types; flags of the same name override them.
SCAN_SETTINGS: dict[str, type | tuple[type, ...]] = {
    "mode": str, "top_k": int, "threshold": (int, float), "min_confidence": (int, float), "id3v23": bool,
    "separator": str, "jobs": int, "exclude": list, "analyse_all": bool,
}
GENRE_SETTINGS: dict[str, type | tuple[type, ...]] = {"map": dict, "allow": list}


class ConfigError(Exception):
    """The settings file cannot be read or holds a setting we do not know, or one of the wrong type."""


@dataclass(frozen=True)
class GenreVocabulary:
    """The user's names for genres: the model's genre -> theirs ("" drops it), then an allow-list. Names
    match in any spelling (``tagger.vocabulary``)."""

    mapping: dict[str, str] = field(default_factory=dict)
    allow: tuple[str, ...] | None = None  # None allows every genre

    @cached_property
    def _mapping_by_key(self) -> dict[str, str]:
        return {genre_key(name): value for name, value in self.mapping.items()}

    @cached_property
    def _allowed_keys(self) -> frozenset[str] | None:
        return None if self.allow is None else frozenset(map(genre_key, self.allow))

    def apply(self, names: list[str]) -> list[str]:
        """The names to write for the model's chosen genres (applied to every file of a scan)."""
        mapped = [self._mapping_by_key.get(genre_key(name), name) for name in names]
        allowed = self._allowed_keys
        return without_duplicates([name for name in mapped if name and (allowed is None or genre_key(name) in allowed)])


@dataclass(frozen=True)
class Settings:
    path: Path
    found: bool  # whether the file exists
    scan: dict[str, Any]  # the scan settings the file sets, by option name
    vocabulary: GenreVocabulary


def config_path() -> Path:
    """``$TAGGER_CONFIG``, else ``$XDG_CONFIG_HOME/genre-tagger/config.toml``, else under ``~/.config``.
    Raises NoHomeError where none of them can be found."""
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return base_directory("XDG_CONFIG_HOME", ".config") / "genre-tagger" / "config.toml"


def load_settings(path: Path | None = None) -> Settings:
    """The settings file's values, checked; an absent file is no settings at all (and so is a settings file
    that has no place: no home directory and no variable naming one)."""
    try:
        path = path or config_path()
    except NoHomeError:
        return Settings(Path(f"${CONFIG_ENV}"), False, {}, GenreVocabulary())
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings(path, False, {}, GenreVocabulary())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read settings file {path}: {error}") from error
    genres = values.pop("genres", {})
    _check(values, SCAN_SETTINGS, path, "")
    if "mode" in values and values["mode"] not in {mode.value for mode in Mode}:
        raise ConfigError(f"{path}: mode must be one of {', '.join(mode.value for mode in Mode)}")
    if not isinstance(genres, dict):
        raise ConfigError(f"{path}: [genres] must be a table")
    _check(genres, GENRE_SETTINGS, path, "genres.")
    mapping = genres.get("map", {})
    if not all(isinstance(value, str) for value in mapping.values()):
        raise ConfigError(f"{path}: genres.map values must be genre names (or \"\" to drop a genre)")
    allow = genres.get("allow")
    if allow is not None and not all(isinstance(name, str) for name in allow):
        raise ConfigError(f"{path}: genres.allow must be a list of genre names")
    vocabulary = GenreVocabulary({name: value.strip() for name, value in mapping.items()},
                                 tuple(allow) if allow is not None else None)
    return Settings(path, True, values, vocabulary)


def _check(values: dict[str, Any], known: dict[str, type | tuple[type, ...]], path: Path, prefix: str) -> None:
    for name, value in values.items():
        if name not in known:
            choices = ", ".join(prefix + key for key in known)
            raise ConfigError(f"{path}: unknown setting {prefix}{name!r} (known: {choices})")
        expected = known[name]
        if isinstance(value, bool) and expected is not bool:  # TOML booleans are ints to isinstance
            raise ConfigError(f"{path}: {prefix}{name} must not be true or false")
        if not isinstance(value, expected):
            raise ConfigError(f"{path}: {prefix}{name} has the wrong type ({type(value).__name__})")
