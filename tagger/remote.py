"""Audio in object storage (``s3://``, ``gs://``, ...) read through pyarrow's filesystems, by byte ranges.

A ``RemoteFile`` stands where the tagger's readers take a local ``Path``: it has a name and a suffix (the
format registry goes by them), a ``stat()`` with the size, and ``open("rb")``, which gives a seekable file
over pyarrow's ranged reads, so a decoder that reads three windows of a song fetches three ranges, not the
song. It counts the bytes it fetches (``bytes_read``), which is how a batch knows what a track cost to fetch. pyarrow is
imported only here, and only when a URI names a filesystem.
"""

from __future__ import annotations

import io
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, cast
from urllib.parse import urlparse

LOCAL_SCHEMES = ("", "file")


@dataclass(frozen=True)
class RemoteStat:
    st_size: int


# An object is fetched in aligned blocks, each at most once per track while it is kept: the sniff, the
# fingerprint and the decoder all look at the start and the end of a file, and a seek-by-bisection (Ogg) or a
# decoder's next read lands in a block already fetched. A read fetches at least READ_AHEAD_BYTES, since at
# object storage's latency (tens of ms a request) 64 KiB costs little more than 4 KiB, and decoders read on in
# small steps; small blocks keep what is fetched past a read's ends small.
BLOCK_BYTES = 16 * 1024
READ_AHEAD_BYTES = 64 * 1024
KEPT_BLOCKS = 256  # 4 MiB of one object at most


class _BlockReader(io.RawIOBase):
    """A seekable binary file over one object (soundfile, FFmpeg and the sniff read through it), served from
    its RemoteFile's blocks."""

    def __init__(self, native: Any, owner: RemoteFile) -> None:
        super().__init__()
        self._native, self._owner, self._position = native, owner, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._owner.read_range(self._native, self._position, len(buffer))
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            base = 0
        elif whence == os.SEEK_CUR:
            base = self._position
        elif whence == os.SEEK_END:
            base = self._owner.stat().st_size
        else:
            raise ValueError(f"invalid whence ({whence})")
        if base + offset < 0:
            raise OSError(f"seek before the start of {self._owner.uri}")
        self._position = base + offset
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        if not self.closed:
            self._native.close()
        super().close()


class RemoteFile:
    """One object in a pyarrow filesystem, readable like a local audio file."""

    def __init__(self, filesystem: Any, path: str, uri: str, size: int | None = None) -> None:
        self.filesystem, self.path, self.uri = filesystem, path, uri
        self._size = size
        self.bytes_read = 0  # fetched from storage, each block once
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        pure = PurePosixPath(path)
        self.name, self.suffix = pure.name, pure.suffix

    def __str__(self) -> str:
        return self.uri

    def stat(self) -> RemoteStat:
        """The object's size; FileNotFoundError where there is no such object (or it is a folder)."""
        if self._size is None:
            from pyarrow import fs

            try:
                info = self.filesystem.get_file_info(self.path)
            except Exception as error:  # pyarrow's errors for a refused or failed request
                raise _os_error(error) from error
            if info.type != fs.FileType.File:
                raise FileNotFoundError(f"no such object: {self.uri}")
            self._size = int(info.size)
        return RemoteStat(self._size)

    def open(self, mode: str = "rb") -> BinaryIO:
        if mode != "rb":
            raise ValueError("objects in storage are only read")
        try:
            native = self.filesystem.open_input_file(self.path)
        except Exception as error:  # pyarrow raises its own errors (ArrowIOError is an OSError, but not all)
            raise _os_error(error) from error
        return cast(BinaryIO, _BlockReader(native, self))

    def read_range(self, native: Any, offset: int, count: int) -> bytes:
        """Bytes [offset, offset + count) of the object (fewer at its end), from the blocks kept and, for the
        rest, requests of whole runs of missing blocks that also read ahead."""
        size = self.stat().st_size
        end = min(offset + count, size)
        if end <= offset:
            return b""
        wanted = range(offset // BLOCK_BYTES, (end - 1) // BLOCK_BYTES + 1)
        missing = [index for index in wanted if index not in self._blocks]
        if missing:  # a request is due anyway: it reads ahead too, over blocks not kept yet
            horizon = (min(missing[0] * BLOCK_BYTES + READ_AHEAD_BYTES, size) - 1) // BLOCK_BYTES
            missing += [index for index in range(wanted.stop, horizon + 1) if index not in self._blocks]
        fetched: dict[int, bytes] = {}
        for run in _runs(missing):
            data = self._fetch(native, run[0] * BLOCK_BYTES, len(run) * BLOCK_BYTES)
            fetched.update({index: data[(index - run[0]) * BLOCK_BYTES : (index - run[0] + 1) * BLOCK_BYTES]
                            for index in run})
        pieces = [fetched[index] if index in fetched else self._blocks[index] for index in wanted]
        for index in sorted({*fetched, *wanted}):  # what was read now is the last to be let go
            self._blocks[index] = fetched[index] if index in fetched else self._blocks[index]
            self._blocks.move_to_end(index)
        while len(self._blocks) > KEPT_BLOCKS:
            self._blocks.popitem(last=False)
        skip = offset - wanted[0] * BLOCK_BYTES
        return b"".join(pieces)[skip : skip + end - offset]

    def _fetch(self, native: Any, offset: int, count: int) -> bytes:
        try:
            data = native.read_at(min(count, self.stat().st_size - offset), offset)
        except Exception as error:  # pyarrow's errors for a refused or failed request
            raise _os_error(error) from error
        self.bytes_read += len(data)
        return bytes(data)


def _runs(indices: list[int]) -> list[list[int]]:
    """Ascending indices grouped into runs of consecutive ones."""
    runs: list[list[int]] = []
    for index in indices:
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def _os_error(error: Exception) -> OSError:
    """pyarrow's error as an OSError with its first line (what a one-line report says)."""
    return OSError(str(error).splitlines()[0] if str(error) else type(error).__name__)


AudioPath = Path | RemoteFile  # what the readers (sniff, decoders, audio) take


def is_local(uri: str) -> bool:
    return urlparse(uri).scheme in LOCAL_SCHEMES or len(urlparse(uri).scheme) == 1  # C:\ on Windows


def local_path(uri: str) -> Path:
    """The local path of a plain path or a ``file://`` URI."""
    parsed = urlparse(uri)
    return Path(parsed.path) if parsed.scheme == "file" else Path(uri)


def open_uri(uri: str, size: int | None = None) -> Path | RemoteFile:
    """What the readers take for ``uri``: a local Path, or a RemoteFile for an object in storage."""
    if is_local(uri):
        return local_path(uri)
    from pyarrow import fs

    filesystem, path = fs.FileSystem.from_uri(uri)
    return RemoteFile(filesystem, path, uri, size)


def list_objects(uri: str) -> list[tuple[str, int]]:
    """Every object under a storage prefix, as (URI, size), in name order."""
    from pyarrow import fs

    filesystem, root = fs.FileSystem.from_uri(uri)
    scheme = urlparse(uri).scheme
    infos = filesystem.get_file_info(fs.FileSelector(root, recursive=True))
    return sorted((f"{scheme}://{info.path}", int(info.size)) for info in infos if info.type == fs.FileType.File)
