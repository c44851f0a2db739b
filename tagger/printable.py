"""Text that came from a file or its name, made safe to print on a terminal.

A file name or a tag value is untrusted: an escape sequence in it could retitle the terminal, clear the
screen or forge a line of output, and a line break could forge a per-file line. Every such text the CLI
prints goes through ``printable``; reports keep the exact text (JSON escapes it in its own way).
"""

from __future__ import annotations

import re

# C0 controls (line breaks and tabs included), DEL, C1 controls (0x9b is an escape sequence on its own to
# some terminals), and the bidirectional overrides and isolates that make text read other than it is.
# Surrogates: a byte of a file name that is not valid UTF-8, as Python holds it (surrogate escapes), is
# shown as that byte; no terminal can print a lone surrogate.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SURROGATE_ESCAPES = range(0xDC80, 0xDD00)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code in _SURROGATE_ESCAPES:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character shown as ``\\xNN`` (``\\uNNNN`` for the bidirectional ones), and
    the bytes of a name that are not valid UTF-8 as ``\\xNN`` too."""
    return _UNSAFE.sub(_escaped, text)
