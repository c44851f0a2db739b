"""Genre names as people write them: one canonical name per genre, whatever its spelling.

Two names are the same genre when they agree in letters and digits (case, spaces, hyphens, slashes and
apostrophes never matter: "Hip Hop", "hiphop" and "HIP-HOP" are one genre), or when the alias table
(``genre_aliases.json``, data rather than code, as beets keeps its genre tree) lists them together:
"R&B" and "Rhythm and Blues".
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property
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


def spellings_by_genre(names: Iterable[str]) -> dict[str, str]:
    """Each genre's (``genre_key``'s) most frequent spelling among ``names``, one per occurrence; a tie goes
    to the spelling seen first."""
    counts: dict[str, Counter[str]] = {}
    for name in names:
        counts.setdefault(genre_key(name), Counter())[name] += 1
    return {key: spellings.most_common(1)[0][0] for key, spellings in counts.items()}


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
