"""Replacing one byte range of a file, moving what follows: how a tag that grows or shrinks is written
without touching a byte outside it."""

from __future__ import annotations

import os
from typing import BinaryIO

CHUNK = 1 << 20


def replace_range(handle: BinaryIO, start: int, end: int, data: bytes) -> None:
    """Put ``data`` where bytes ``[start, end)`` of the open file ``handle`` were; the rest of the file
    moves by the difference in length. Only the range, and what must move, is written."""
    size = handle.seek(0, os.SEEK_END)
    shift = len(data) - (end - start)
    if shift > 0:  # move the tail up, last chunk first, so nothing is overwritten before it is read
        position = size
        while position > end:
            chunk_start = max(end, position - CHUNK)
            handle.seek(chunk_start)
            chunk = handle.read(position - chunk_start)
            handle.seek(chunk_start + shift)
            handle.write(chunk)
            position = chunk_start
    elif shift < 0:  # move the tail down, first chunk first, then cut the end off
        position = end
        while position < size:
            handle.seek(position)
            chunk = handle.read(min(CHUNK, size - position))
            handle.seek(position + shift)
            handle.write(chunk)
            position += len(chunk)
        handle.truncate(size + shift)
    handle.seek(start)
    handle.write(data)
