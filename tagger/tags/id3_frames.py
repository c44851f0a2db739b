"""Counting the frames of a raw ID3v2 tag, to catch frames mutagen would silently drop.

mutagen skips frames it cannot parse (a bad text encoding, a non-ASCII frame id) without an error, and
saving would then lose them for good. Comparing its frame count with the raw tag's refuses such files.
"""

from __future__ import annotations

import re
from pathlib import Path

from tagger.sniff import syncsafe

FRAME_ID = re.compile(rb"[A-Z0-9]{4}")
HEADER_SIZE = 10
FLAG_UNSYNCHRONISED, FLAG_EXTENDED = 0x80, 0x40


def _walk(frames: bytes, syncsafe_sizes: bool) -> int | None:
    """Number of non-empty frames, or None where the bytes do not read as a clean frame sequence."""
    count, position = 0, 0
    while position + HEADER_SIZE <= len(frames):
        frame_id = frames[position : position + 4]
        if frame_id.strip(b"\x00") == b"":
            return count  # padding
        if not FRAME_ID.fullmatch(frame_id):
            return None
        raw_size = frames[position + 4 : position + 8]
        size = syncsafe(raw_size) if syncsafe_sizes else int.from_bytes(raw_size, "big")
        position += HEADER_SIZE + size
        if position > len(frames):
            return None
        count += size > 0
    return count


def raw_frame_count(path: Path) -> int | None:
    """Frames in the ID3v2.3/2.4 tag at the start of ``path``; None if it cannot be counted cleanly."""
    with open(path, "rb") as handle:
        header = handle.read(HEADER_SIZE)
        if len(header) < HEADER_SIZE or header[:3] != b"ID3" or header[3] not in (3, 4):
            return None
        major, flags = header[3], header[5]
        body = handle.read(syncsafe(header[6:10]))
    if major == 3 and flags & FLAG_UNSYNCHRONISED:
        body = body.replace(b"\xff\x00", b"\xff")
    if flags & FLAG_EXTENDED:
        extended = syncsafe(body[:4]) if major == 4 else int.from_bytes(body[:4], "big") + 4
        body = body[extended:]
    if major == 4:
        counted = _walk(body, syncsafe_sizes=True)
        return counted if counted is not None else _walk(body, syncsafe_sizes=False)
    return _walk(body, syncsafe_sizes=False)
