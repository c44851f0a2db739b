"""Crash-safe file edits: change a copy, flush it to disk, then rename it over the original.

A rename within one directory is atomic on POSIX file systems, so whatever moment the process dies,
the path holds either the untouched original or the complete new file, never a half-written one. A
leftover temporary file (``.<name>.<pid>.tagger-tmp``, the process id keeping concurrent runs apart) is all
a crash can leave.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

TEMP_SUFFIX = ".tagger-tmp"


def temp_path_for(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_if_stale(path: Path) -> bool:
    """Delete ``path`` if it is a temporary copy left by a tagger process that no longer runs."""
    parts = path.name.rsplit(".", 2)
    if not path.name.startswith(".") or not path.name.endswith(TEMP_SUFFIX) or len(parts) < 3:
        return False
    try:
        os.kill(int(parts[1]), 0)
        return False  # that process is alive: the copy is in use
    except ProcessLookupError:
        path.unlink(missing_ok=True)
        return True
    except (ValueError, PermissionError):
        return False  # not our name pattern, or a process of another user


def is_read_only(path: Path) -> bool:
    """True when we may not write, or when nobody may (no write bit): root could, but the owner said no."""
    return not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222


def rewrite(path: Path, edit: Callable[[Path], None]) -> None:
    """Apply ``edit`` to a copy of ``path`` and atomically replace ``path`` with the result.

    The copy keeps the original's permission bits (and owner, where we may set it). Raises
    PermissionError for a file the user made read-only: a rename would bypass that protection.
    """
    path = Path(os.path.realpath(path))
    if is_read_only(path):
        raise PermissionError(f"file is read-only: {path}")
    temporary = temp_path_for(path)
    try:
        shutil.copyfile(path, temporary)
        shutil.copymode(path, temporary)
        status = path.stat()
        # Only root may give files away; otherwise the copy belongs to the user running us.
        with contextlib.suppress(OSError):
            os.chown(temporary, status.st_uid, status.st_gid)
        edit(temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        _fsync_directory(path.parent)
    finally:
        temporary.unlink(missing_ok=True)
