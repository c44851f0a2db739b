"""The user's settings file: TOML in the XDG config directory (or ``$TAGGER_CONFIG``), read with the
standard library. Its keys are the declared scan options that may be settings (``tagger.scan_options``:
mode, top_k, threshold, jobs, ...) and ``[genres]`` with the user's ``map`` and ``allow``-list.

Command-line flags override the file, and the file overrides the built-in defaults; `tagger config` shows
the effective settings and where each came from.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tagger.scan_options import GENRE_SETTINGS, SETTINGS, ScanOption, vocabulary_from
from tagger.vocabulary import GenreVocabulary
from tagger.xdg import NoHomeError, base_directory

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_ENV = "TAGGER_CONFIG"


class ConfigError(Exception):
    """The settings file cannot be read or holds a setting we do not know, or one of the wrong type."""


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
    _check(values, SETTINGS, path, "")
    if not isinstance(genres, dict):
        raise ConfigError(f"{path}: [genres] must be a table")
    _check(genres, GENRE_SETTINGS, path, "genres.")
    return Settings(path, True, values, vocabulary_from(genres))


def _check(values: dict[str, Any], known: dict[str, ScanOption], path: Path, prefix: str) -> None:
    for name, value in values.items():
        if name not in known:
            choices = ", ".join(prefix + key for key in known)
            raise ConfigError(f"{path}: unknown setting {prefix}{name!r} (known: {choices})")
        problem = known[name].problem(value)
        if problem:
            raise ConfigError(f"{path}: {prefix}{name} {problem}")
