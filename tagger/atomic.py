"""Crash-safe file edits that keep the file itself: its bytes, owner, mode, links and attributes.

The usual way: the edit is made on a copy, which is flushed and renamed over the original. A rename within
one directory is atomic, so whatever moment the process dies the path holds the untouched original or
the complete new file; a leftover ``.<digest>.<pid>.tagger-tmp`` is all a crash can leave (a short name,
so that a file whose own name is near the system's 255-byte limit still gets a copy). The copy is
created private (0600), keeps the holes of a sparse file, gets the original's owner, then its mode
(setuid and setgid included: chown clears them) and extended attributes (ACLs, SELinux labels, macOS-style
metadata).

A full disk or a failing one never costs a byte: every write is checked for its length (a short write is
retried, a write that makes no progress is ENOSPC), the copy is compared with the original byte for byte
after it is made and before it is edited, it is flushed before the rename, and an in-place write is read
back; an error anywhere leaves the original as it was and reaches the caller as ``WriteFailedError``, one
line naming the cause.

Where a copy cannot be the same file (the original has other hard links, belongs to someone we cannot give
a file to, or has attributes we cannot set) the edit is written in place instead, only where the new
bytes differ, and only when the file's size stays the same; ``on_in_place`` is handed the original bytes
of that range first, so that the journal can repair a write interrupted half-way.

Other programs: a file that another program has open for writing (a download in progress) is refused, and
so is one that changed between being read and being replaced (its size, times or inode moved). On Linux a
read lease proves that no writer opened the file meanwhile; elsewhere the comparison of its status does.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

TEMP_SUFFIX = ".tagger-tmp"
COPY_CHUNK = 1 << 20
InPlaceBackup = Callable[[int, bytes, bytes], None]  # (offset, original bytes, new bytes)


class WriteFailedError(OSError):
    """The disk would not take the write (full, failing, over a quota); the file is left as it was."""


class WriteRefusedError(OSError):
    """The file is left as it was: another program is writing it or changed it meanwhile, or it can only be
    written in place and the edit would change its size."""


@dataclass(frozen=True)
class Identity:
    """What must not move between reading a file and replacing it: any edit or replacement changes it."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, status: os.stat_result) -> Identity:
        return cls(status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def temp_path_for(path: Path) -> Path:
    """A hidden name beside ``path``, short whatever the length of ``path``'s own name, unique per file and
    process, and recognisable as ours with the process that made it (``remove_if_stale``)."""
    name_digest = hashlib.sha1(os.fsencode(path.name)).hexdigest()[:12]
    return path.with_name(f".{name_digest}.{os.getpid()}{TEMP_SUFFIX}")


def write_all(descriptor: int, data: bytes | memoryview, offset: int) -> None:
    """``pwrite`` all of ``data`` at ``offset``: a short write (what a filling disk returns) is continued,
    and a write that makes no progress is reported as the full disk it is."""
    view = memoryview(data)
    while view:
        written = os.pwrite(descriptor, view, offset)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view, offset = view[written:], offset + written


@contextlib.contextmanager
def disk_errors_as_failed_writes() -> Iterator[None]:
    """An OSError of the disk itself (full, failing, over a quota, a file too large) as WriteFailedError,
    with one line that names the cause; the other OSErrors (permissions, a vanished file) pass unchanged."""
    try:
        yield
    except OSError as error:
        if error.errno not in DISK_ERRORS:  # WriteRefusedError has none: it passes too
            raise
        raise WriteFailedError(error.errno, f"{DISK_ERRORS[error.errno]} ({error.strerror}); left as it was") \
            from error


DISK_ERRORS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "over the disk quota",
    errno.EIO: "the disk failed to read or write",
    errno.EFBIG: "the file would exceed the size this system allows",
}


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_if_stale(path: Path) -> bool:
    """Delete ``path`` if it is a temporary copy left by a tagger process that no longer runs.

    Raises OSError when such a copy cannot be deleted (a folder we may not write)."""
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


class _WriterWatch:
    """A read lease on a file (Linux): refused while any process has the file open for writing, and broken
    as soon as one opens it, ourselves included. Where leases are not available (another OS, a network
    file system, a file of another user, a thread other than the main one) ``unbroken`` always says True
    and the comparison of the file's status is the only guard."""

    def __init__(self, path: Path) -> None:
        self.descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        self.leased = False
        self._previous_handler: object = None
        if not hasattr(fcntl, "F_SETLEASE") or threading.current_thread() is not threading.main_thread():
            return
        # A broken lease is signalled with SIGIO, whose default action ends the process.
        self._previous_handler = signal.signal(signal.SIGIO, signal.SIG_IGN)
        try:
            fcntl.fcntl(self.descriptor, fcntl.F_SETLEASE, fcntl.F_RDLCK)
            self.leased = True
        except BlockingIOError as error:
            self.close()
            raise WriteRefusedError("another program has the file open for writing (a download or an editor?); "
                                "left as it was") from error
        except OSError:
            pass

    def unbroken(self) -> bool:
        return not self.leased or fcntl.fcntl(self.descriptor, fcntl.F_GETLEASE) == fcntl.F_RDLCK

    def close(self) -> None:
        if self.leased:
            with contextlib.suppress(OSError):
                fcntl.fcntl(self.descriptor, fcntl.F_SETLEASE, fcntl.F_UNLCK)
            self.leased = False
        if self._previous_handler is not None:
            signal.signal(signal.SIGIO, self._previous_handler)  # type: ignore[arg-type]
            self._previous_handler = None
        if self.descriptor >= 0:  # closed once only: the number may belong to another file afterwards
            os.close(self.descriptor)
            self.descriptor = -1


def _unchanged_since(path: Path, identity: Identity, watch: _WriterWatch) -> None:
    if not watch.unbroken() or Identity.of(os.stat(path)) != identity:
        raise WriteRefusedError("the file changed while it was being written (another program?); left as it was")


def rewrite(path: Path, edit: Callable[[Path], None], expected: Identity | None = None,
            on_in_place: InPlaceBackup | None = None) -> None:
    """Apply ``edit`` to a copy of ``path`` and put the result in its place, keeping the file's identity.

    ``expected``: the identity the caller read the file at (its analysis); a file that moved since is
    refused. Raises PermissionError for a file the user made read-only (a rename would bypass that), and
    WriteRefusedError when another program is writing the file.
    """
    path = Path(os.path.realpath(path))
    if is_read_only(path):
        raise PermissionError(f"file is read-only: {path}")
    with disk_errors_as_failed_writes():
        _rewrite(path, edit, expected, on_in_place)


def _rewrite(path: Path, edit: Callable[[Path], None], expected: Identity | None,
             on_in_place: InPlaceBackup | None) -> None:
    watch = _WriterWatch(path)
    try:
        status = os.stat(path)
        identity = Identity.of(status)
        if expected is not None and identity != expected:
            raise WriteRefusedError("the file changed after it was analysed; left as it was (scan it again)")

        def check() -> None:
            _unchanged_since(path, identity, watch)

        if status.st_nlink == 1 and _replace_with_edited_copy(path, status, edit, check):
            return
        _write_in_place(path, edit, on_in_place, check, watch)
    finally:
        watch.close()


def _replace_with_edited_copy(path: Path, status: os.stat_result, edit: Callable[[Path], None],
                              check: Callable[[], None]) -> bool:
    """The copy-edit-rename write; False (nothing done) when no copy can be made beside the file or it could
    not be given the original's owner or attributes, so that the caller writes in place instead."""
    temporary = temp_path_for(path)
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except PermissionError:  # a folder we may not write in, holding a file we may
        return False
    try:
        try:
            _copy_keeping_holes(path, descriptor, status.st_size)
            if not _same_owner_mode_and_attributes(path, descriptor, status):
                return False
        finally:
            os.close(descriptor)
        _check_copy(path, temporary)
        edit(temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        check()
        os.replace(temporary, path)
        _fsync_directory(path.parent)
        return True
    finally:
        temporary.unlink(missing_ok=True)


def _data_regions(descriptor: int, size: int) -> Iterator[tuple[int, int]]:
    """[start, end) of each region holding data (SEEK_DATA/SEEK_HOLE); the whole file where the file
    system cannot tell."""
    position = 0
    while position < size:
        try:
            start = os.lseek(descriptor, position, os.SEEK_DATA)
        except OSError as error:
            if error.errno != errno.ENXIO:  # ENXIO: only a hole is left
                yield position, size
            return
        end = min(size, os.lseek(descriptor, start, os.SEEK_HOLE))
        yield start, end
        position = end


def _copy_keeping_holes(source: Path, destination: int, size: int) -> None:
    """Copy the data regions only, so a sparse file's holes stay holes in the copy."""
    with open(source, "rb") as handle:
        descriptor = handle.fileno()
        for start, end in _data_regions(descriptor, size):
            position = start
            while position < end:
                chunk = os.pread(descriptor, min(COPY_CHUNK, end - position), position)
                if not chunk:
                    break
                write_all(destination, chunk, position)
                position += len(chunk)
    os.ftruncate(destination, size)


def _check_copy(original: Path, copy: Path) -> None:
    """Refuse a copy that is not the original byte for byte (cut short by a full disk, a file system that
    lost a write): it is compared before any edit, so that what the edit's own check then compares is
    the original's content."""
    if not _same_bytes(original, copy):
        raise OSError(errno.EIO, "the private copy does not match the original")


def _same_bytes(first: Path, second: Path) -> bool:
    with open(first, "rb") as one, open(second, "rb") as other:
        if os.fstat(one.fileno()).st_size != os.fstat(other.fileno()).st_size:
            return False
        while chunk := one.read(COPY_CHUNK):
            if other.read(len(chunk)) != chunk:
                return False
    return True


def _same_owner_mode_and_attributes(path: Path, descriptor: int, status: os.stat_result) -> bool:
    """Give the copy the original's owner, then its mode (chown clears setuid and setgid), then its
    extended attributes (an ACL last, as it sets the group bits); False where any of it is refused."""
    try:
        if (status.st_uid, status.st_gid) != (os.geteuid(), os.getegid()):
            os.fchown(descriptor, status.st_uid, status.st_gid)
        os.fchmod(descriptor, stat.S_IMODE(status.st_mode))
        if hasattr(os, "listxattr"):
            for name in sorted(os.listxattr(path), key=lambda name: name.startswith("system.posix_acl")):
                os.setxattr(descriptor, name, os.getxattr(path, name))
    except OSError:
        return False
    return True


def _write_in_place(path: Path, edit: Callable[[Path], None], on_in_place: InPlaceBackup | None,
                    check: Callable[[], None], watch: _WriterWatch) -> None:
    """Edit a private scratch copy, then write only the bytes that differ into the file itself."""
    with tempfile.TemporaryDirectory(prefix="tagger-") as scratch_folder:
        scratch = Path(scratch_folder) / path.name
        size = os.stat(path).st_size
        descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _copy_keeping_holes(path, descriptor, size)
        finally:
            os.close(descriptor)
        _check_copy(path, scratch)
        edit(scratch)
        if scratch.stat().st_size != size:
            raise WriteRefusedError("the file has other hard links or another owner, so it is written in place, and "
                                "the new tag does not fit in its padding; left as it was")
        start, end = _differing_range(path, scratch, size)
        if start == end:
            return
        with open(path, "rb") as original, open(scratch, "rb") as edited:
            original.seek(start)
            edited.seek(start)
            before, after = original.read(end - start), edited.read(end - start)
    if on_in_place is not None:
        on_in_place(start, before, after)
    check()
    watch.close()  # our own open for writing would break the lease
    descriptor = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    try:
        write_all(descriptor, after, start)
        os.fsync(descriptor)
        if os.pread(descriptor, len(after), start) != after:  # the journal's backup repairs it on the next run
            raise OSError(errno.EIO, "the bytes written in place do not read back")
    finally:
        os.close(descriptor)


def _differing_range(first: Path, second: Path, size: int) -> tuple[int, int]:
    """The smallest [start, end) outside which two files of ``size`` bytes are equal."""
    start, end = size, 0
    with open(first, "rb") as one, open(second, "rb") as other:
        for position in range(0, size, COPY_CHUNK):
            left, right = one.read(COPY_CHUNK), other.read(COPY_CHUNK)
            if left != right:
                start = min(start, position + next(i for i in range(len(left)) if left[i] != right[i]))
                end = position + next(i for i in range(len(left) - 1, -1, -1) if left[i] != right[i]) + 1
    return (start, end) if start < end else (0, 0)
