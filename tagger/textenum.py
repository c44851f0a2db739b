"""An Enum whose members are their string values everywhere: in f-strings, CSV, JSON and SQLite.

(``enum.StrEnum`` does this from Python 3.11; the tagger still supports 3.10.)
"""

from __future__ import annotations

from enum import Enum


class TextEnum(str, Enum):
    def __str__(self) -> str:
        return str(self.value)
