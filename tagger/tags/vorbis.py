"""FLAC, Ogg Vorbis, Ogg Opus and Ogg FLAC: one ``GENRE`` Vorbis comment per genre, every other byte kept.

The comments are edited raw (``vorbis_comment``): a comment that is not valid UTF-8 survives a write and
an undo byte for byte. Where they live is the container's ``CommentHolder``'s business, as ID3's tag
holders are: a FLAC metadata block (``flac_meta``) or an Ogg header packet (``ogg_comment``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from tagger import sniff
from tagger.tags import flac_meta, ogg_comment, vorbis_comment
from tagger.tags.base import OneVersionTags, digest, stream_digest
from tagger.tags.vorbis_comment import Comments


def _flac_comments(metadata: flac_meta.Metadata) -> Comments:
    index = metadata.index(flac_meta.VORBIS_COMMENT)
    return vorbis_comment.new_comments(b"") if index is None else vorbis_comment.parse(metadata.blocks[index][1], 0)


def _flac_padding(metadata: flac_meta.Metadata) -> int | None:
    index = metadata.index(flac_meta.PADDING)
    return None if index is None else len(metadata.blocks[index][1])


class CommentHolder(Protocol):
    """Where a container keeps its Vorbis comments: reading them, recording the sizes around them,
    digesting everything else, and putting comments back (parsers refuse another container's content)."""

    def comments(self, handle: BinaryIO) -> Comments: ...

    def sizes(self, handle: BinaryIO) -> dict[str, Any]:
        """What undo needs besides the GENRE entries to put the file back byte for byte."""
        ...

    def kept(self, handle: BinaryIO, path: Path) -> dict[str, str]: ...

    def put(self, handle: BinaryIO, edit: Callable[[Comments], Comments], sizes: dict[str, Any] | None) -> None:
        """Replace the comments by ``edit`` of them; ``sizes``: those of a snapshot to restore, or None."""
        ...


class FlacBlock:
    """The VORBIS_COMMENT metadata block of a FLAC stream, and the padding block that absorbs its growth."""

    def comments(self, handle: BinaryIO) -> Comments:
        return _flac_comments(flac_meta.read_metadata(handle))

    def sizes(self, handle: BinaryIO) -> dict[str, Any]:
        metadata = flac_meta.read_metadata(handle)
        index = metadata.index(flac_meta.VORBIS_COMMENT)
        return {"block": None if index is None else len(metadata.blocks[index][1]), "padding": _flac_padding(metadata)}

    def kept(self, handle: BinaryIO, path: Path) -> dict[str, str]:
        metadata = flac_meta.read_metadata(handle)
        parts = vorbis_comment.kept(_flac_comments(metadata))
        parts.update((f"metadata block #{index} (type {kind})", digest(data))
                     for index, (kind, data) in enumerate(metadata.blocks)
                     if kind not in (flac_meta.VORBIS_COMMENT, flac_meta.PADDING))
        handle.seek(0)
        parts["what precedes the FLAC stream"] = digest(handle.read(metadata.start))
        handle.seek(metadata.end)
        parts["audio"] = stream_digest(handle)
        return parts

    def put(self, handle: BinaryIO, edit: Callable[[Comments], Comments], sizes: dict[str, Any] | None) -> None:
        """A restore brings back the block's absence (none before our write) and the padding's size."""
        metadata = flac_meta.read_metadata(handle)
        comments = edit(_flac_comments(metadata))
        keep_block = sizes is None or sizes["block"] is not None or bool(comments.entries)
        data = vorbis_comment.render(comments) if keep_block else None
        padding = sizes["padding"] if sizes is not None else None
        flac_meta.write_blocks(handle, metadata, flac_meta.with_block(metadata, flac_meta.VORBIS_COMMENT, data,
                                                                      padding))


class OggPacket:
    """The comment header packet of an Ogg stream (Vorbis, Opus, Ogg FLAC), and the pages that carry it."""

    def comments(self, handle: BinaryIO) -> Comments:
        return ogg_comment.read(handle).comments

    def sizes(self, handle: BinaryIO) -> dict[str, Any]:
        packet = ogg_comment.read(handle)
        return {"packet": packet.comments.size, "layout": ogg_comment.layout(packet.pages)}

    def kept(self, handle: BinaryIO, path: Path) -> dict[str, str]:
        packet = ogg_comment.read(handle)
        parts = vorbis_comment.kept(packet.comments)
        parts.update((f"header packet #{index + 2}", digest(data)) for index, data in enumerate(packet.others))
        parts["audio"] = sniff.audio_fingerprint(path)
        return parts

    def put(self, handle: BinaryIO, edit: Callable[[Comments], Comments], sizes: dict[str, Any] | None) -> None:
        """The packet keeps its size where the new comments fit (a restore: the size and page layout it had)."""
        packet = ogg_comment.read(handle)
        size = packet.comments.size if sizes is None else sizes["packet"]
        ogg_comment.write(handle, packet, vorbis_comment.fitted(edit(packet.comments), size),
                          None if sizes is None else sizes["layout"])


class VorbisGenres(OneVersionTags):
    """Genre handler for Vorbis comments, wherever ``holder`` says the container keeps them. ``name`` is what
    the journal records, so each container's handler has its own."""

    def __init__(self, name: str, holder: CommentHolder) -> None:
        self.name, self.holder = name, holder

    def read_genres(self, path: Path) -> list[str]:
        with open(path, "rb") as handle:
            return [genre for genre in vorbis_comment.genres(self.holder.comments(handle)) if genre]

    def snapshot(self, path: Path) -> dict[str, Any]:
        """The raw GENRE entries and their positions, and the sizes around them (FLAC: the comment and padding
        blocks; Ogg: the packet and its page layout), which undo needs to put the file back byte for byte."""
        with open(path, "rb") as handle:
            return {"entries": vorbis_comment.genre_entries(self.holder.comments(handle)), **self.holder.sizes(handle)}

    def matches(self, path: Path, snapshot: dict[str, Any]) -> bool:
        return self.snapshot(path) == snapshot

    def kept(self, path: Path) -> dict[str, str]:
        """Digests of the other comments, the other metadata blocks or header packets, and the audio."""
        with open(path, "rb") as handle:
            return self.holder.kept(handle, path)

    def write(self, path: Path, genres: list[str]) -> None:
        with open(path, "r+b") as handle:
            self.holder.put(handle, lambda comments: vorbis_comment.with_genres(comments, genres), None)

    def restore(self, path: Path, snapshot: dict[str, Any]) -> None:
        """Put the snapshot's GENRE entries back where they were, and the sizes around them as they were."""
        with open(path, "r+b") as handle:
            self.holder.put(handle, lambda comments: vorbis_comment.with_entries_restored(comments, snapshot), snapshot)


FLAC_VORBIS = VorbisGenres("vorbis-flac", FlacBlock())
OGG_VORBIS = VorbisGenres("vorbis-ogg", OggPacket())
