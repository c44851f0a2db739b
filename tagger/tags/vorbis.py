"""FLAC, Ogg Vorbis, Ogg Opus and Ogg FLAC: one ``GENRE`` Vorbis comment per genre, every other byte kept.

The comments are edited raw (``vorbis_comment``): a comment that is not valid UTF-8 survives a write and
an undo byte for byte. Where they live depends on the container, which is decided by content: a FLAC
metadata block (``flac_meta``) or an Ogg header packet (``ogg_comment``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tagger import sniff
from tagger.tags import flac_meta, ogg_comment, vorbis_comment
from tagger.tags.base import OneVersionTags, TagError, digest, stream_digest
from tagger.tags.vorbis_comment import Comments


def _is_flac(path: Path) -> bool:
    container = sniff.sniff(path)
    if container not in (sniff.FLAC, sniff.OGG):
        raise TagError(f"not a FLAC or Ogg file but {container or 'no format we know'}")
    return container == sniff.FLAC


def _flac_comments(metadata: flac_meta.Metadata) -> Comments:
    index = metadata.index(flac_meta.VORBIS_COMMENT)
    return vorbis_comment.new_comments(b"") if index is None else vorbis_comment.parse(metadata.blocks[index][1], 0)


def _flac_padding(metadata: flac_meta.Metadata) -> int | None:
    index = metadata.index(flac_meta.PADDING)
    return None if index is None else len(metadata.blocks[index][1])


class VorbisGenres(OneVersionTags):
    """Genre handler for FLAC and Ogg files."""

    name = "vorbis"

    def read_genres(self, path: Path) -> list[str]:
        return [genre for genre in vorbis_comment.genres(self._comments(path)) if genre]

    def _comments(self, path: Path) -> Comments:
        with open(path, "rb") as handle:
            if _is_flac(path):
                return _flac_comments(flac_meta.read_metadata(handle))
            return ogg_comment.read(handle).comments

    def snapshot(self, path: Path) -> dict[str, Any]:
        """The raw GENRE entries and their positions, and the sizes around them (FLAC: the comment and padding
        blocks; Ogg: the packet and its page layout), which undo needs to put the file back byte for byte."""
        with open(path, "rb") as handle:
            if _is_flac(path):
                metadata = flac_meta.read_metadata(handle)
                index = metadata.index(flac_meta.VORBIS_COMMENT)
                return {"entries": vorbis_comment.genre_entries(_flac_comments(metadata)),
                        "block": None if index is None else len(metadata.blocks[index][1]),
                        "padding": _flac_padding(metadata)}
            packet = ogg_comment.read(handle)
            return {"entries": vorbis_comment.genre_entries(packet.comments),
                    "packet": packet.comments.size, "layout": ogg_comment.layout(packet.pages)}

    def matches(self, path: Path, snapshot: dict[str, Any]) -> bool:
        return self.snapshot(path) == snapshot

    def kept(self, path: Path) -> dict[str, str]:
        """Digests of the other comments, the other metadata blocks or header packets, and the audio."""
        with open(path, "rb") as handle:
            if _is_flac(path):
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
            packet = ogg_comment.read(handle)
        parts = vorbis_comment.kept(packet.comments)
        parts.update((f"header packet #{index + 2}", digest(data)) for index, data in enumerate(packet.others))
        parts["audio"] = sniff.audio_fingerprint(path)
        return parts

    def write(self, path: Path, genres: list[str]) -> None:
        with open(path, "r+b") as handle:
            if _is_flac(path):
                metadata = flac_meta.read_metadata(handle)
                comments = vorbis_comment.with_genres(_flac_comments(metadata), genres)
                blocks = flac_meta.with_block(metadata, flac_meta.VORBIS_COMMENT, vorbis_comment.render(comments), None)
                flac_meta.write_blocks(handle, metadata, blocks)
                return
            packet = ogg_comment.read(handle)
            comments = vorbis_comment.with_genres(packet.comments, genres)
            ogg_comment.write(handle, packet, vorbis_comment.fitted(comments, packet.comments.size))

    def restore(self, path: Path, snapshot: dict[str, Any]) -> None:
        """Put the snapshot's GENRE entries back where they were, and the sizes around them as they were."""
        with open(path, "r+b") as handle:
            if _is_flac(path):
                metadata = flac_meta.read_metadata(handle)
                comments = vorbis_comment.with_entries_restored(_flac_comments(metadata), snapshot)
                had_block = snapshot["block"] is not None
                data = vorbis_comment.render(comments) if had_block or comments.entries else None
                blocks = flac_meta.with_block(metadata, flac_meta.VORBIS_COMMENT, data, snapshot["padding"])
                flac_meta.write_blocks(handle, metadata, blocks)
                return
            packet = ogg_comment.read(handle)
            comments = vorbis_comment.with_entries_restored(packet.comments, snapshot)
            ogg_comment.write(handle, packet, vorbis_comment.fitted(comments, snapshot["packet"]), snapshot["layout"])


VORBIS = VorbisGenres()
