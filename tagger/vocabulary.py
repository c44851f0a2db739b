"""Genre names as people write them: one canonical name per genre, whatever its spelling.

Two names are the same genre when they agree in letters and digits (case, spaces, hyphens, slashes and
apostrophes never matter: "Hip Hop", "hiphop" and "HIP-HOP" are one genre), or when the alias table
(``genre_aliases.json``, data rather than code, as beets keeps its genre tree) lists them together:
"R&B" and "Rhythm and Blues".
"""

from __future__ import annotations

import json
import unicodedata
from functools import cache
from pathlib import Path

ALIASES = Path(__file__).with_name("genre_aliases.json")


def spelling_key(name: str) -> str:
    """Letters and digits only, case-folded and Unicode-normalised: what survives any separator style."""
    normal = unicodedata.normalize("NFKC", name).casefold()
    return "".join(character for character in normal if character.isalnum())


@cache
def _canonical_by_key() -> dict[str, str]:
    table = json.loads(ALIASES.read_text(encoding="utf-8"))
    index: dict[str, str] = {}
    for canonical, aliases in table.items():
        if canonical.startswith("_"):
            continue
        for name in (canonical, *aliases):
            index[spelling_key(name)] = canonical
    return index


def genre_key(name: str) -> str:
    """Equal for names of the same genre: the spelling key of its canonical name when the table knows it."""
    key = spelling_key(name)
    return spelling_key(_canonical_by_key().get(key, name))


def without_duplicates(names: list[str]) -> list[str]:
    """The first spelling of each genre, in order."""
    seen: set[str] = set()
    kept = []
    for name in names:
        key = genre_key(name)
        if key not in seen:
            seen.add(key)
            kept.append(name)
    return kept
