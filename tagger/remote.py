"""Audio in object storage (``s3://``, ``gs://``, ...) read through pyarrow's filesystems, by byte ranges.

A ``RemoteFile`` stands where the tagger's readers take a local ``Path``: it has a name and a suffix (the
format registry goes by them), a ``stat()`` with the size, and ``open("rb")``, which gives pyarrow's seekable
file, so a decoder that reads three windows of a song fetches three ranges, not the song. It counts the
bytes it hands out (``bytes_read``), which is how a batch knows what a track cost to fetch. pyarrow is
imported only here, and only when a URI names a filesystem.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

LOCAL_SCHEMES = ("", "file")


@dataclass(frozen=True)
class RemoteStat:
    st_size: int


class _Counted(io.RawIOBase):
    """A pyarrow file as a Python binary file (soundfile and FFmpeg read through it), counting what is read."""

    def __init__(self, native: Any, owner: RemoteFile) -> None:
        super().__init__()
        self._native, self._owner = native, owner

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._native.read(len(buffer))
        buffer[: len(data)] = data
        self._owner.bytes_read += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._native.seek(offset, whence)

    def tell(self) -> int:
        return self._native.tell()

    def close(self) -> None:
        self._native.close()
        super().close()


class RemoteFile:
    """One object in a pyarrow filesystem, readable like a local audio file."""

    def __init__(self, filesystem: Any, path: str, uri: str, size: int | None = None) -> None:
        self.filesystem, self.path, self.uri = filesystem, path, uri
        self._size = size
        self.bytes_read = 0
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
                raise OSError(str(error).splitlines()[0] if str(error) else type(error).__name__) from error
            if info.type != fs.FileType.File:
                raise FileNotFoundError(f"no such object: {self.uri}")
            self._size = int(info.size)
        return RemoteStat(self._size)

    def open(self, mode: str = "rb") -> io.BufferedReader:
        if mode != "rb":
            raise ValueError("objects in storage are only read")
        try:
            native = self.filesystem.open_input_file(self.path)
        except Exception as error:  # pyarrow raises its own errors (ArrowIOError is an OSError, but not all)
            raise OSError(str(error).splitlines()[0] if str(error) else type(error).__name__) from error
        return io.BufferedReader(_Counted(native, self), buffer_size=64 * 1024)


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
