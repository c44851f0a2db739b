"""The comment header packet of an Ogg Vorbis, Opus or FLAC stream, raw, on mutagen's Ogg page layer.

The packet keeps its size where its padding allows, so its pages keep their layout and nothing after them
moves. The page layout is recorded in the journal, so that undo can rebuild the pages exactly as they were
even after a write that had to grow the packet (and renumber every later page).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO

from mutagen.ogg import OggPage
from mutagen.ogg import error as ogg_error

from tagger.tags import vorbis_comment
from tagger.tags.base import TagError
from tagger.tags.vorbis_comment import Comments

VORBIS_IDENT, OPUS_IDENT, FLAC_IDENT = b"\x01vorbis", b"OpusHead", b"\x7fFLAC"
VORBIS_COMMENT, OPUS_COMMENT = b"\x03vorbis", b"OpusTags"
FLAC_COMMENT_BLOCK = 4


@dataclass
class CommentPacket:
    """The pages that hold a stream's comment packet, that packet split into its prefix and comments, and
    the other packets those pages also carry (whole: the pages run to the end of the last one begun)."""

    pages: list[OggPage]
    prefix: bytes
    comments: Comments
    others: list[bytes]

    def packet(self, comments: Comments) -> bytes:
        body = vorbis_comment.render(comments)
        if self.prefix[:1] in (bytes([FLAC_COMMENT_BLOCK]), bytes([FLAC_COMMENT_BLOCK | 0x80])):
            return self.prefix[:1] + len(body).to_bytes(3, "big") + body  # Ogg FLAC: a metadata block header
        return self.prefix + body


def _next_page(handle: BinaryIO, serial: int | None) -> OggPage:
    """The next page of the stream ``serial`` (of any stream where None), refused where it would not be
    written back as it is (a checksum that does not match: rewriting it would silently repair the page)."""
    while True:
        start = handle.tell()
        page = OggPage(handle)
        end = handle.tell()
        handle.seek(start)
        if handle.read(end - start) != page.write():
            raise TagError("an Ogg header page is damaged (its checksum does not match); it is left as it is")
        if serial is None or page.serial == serial:
            return page


def _headers_after_comments(ident: bytes) -> int:
    """How many header packets follow the comment packet: Vorbis's setup header; none in Opus; in Ogg FLAC
    the other metadata blocks, which its identification header counts (0 where it does not know)."""
    if ident.startswith(VORBIS_IDENT):
        return 1
    if ident.startswith(FLAC_IDENT) and len(ident) >= 9:
        return max(int.from_bytes(ident[7:9], "big") - 1, 0)
    return 0


def read(handle: BinaryIO) -> CommentPacket:
    """The comment packet of the first logical stream (the second packet, after the identification header),
    with the pages that carry it and the header packets after it, so that a page layout that changes never
    leaves a header packet half in and half out."""
    try:
        handle.seek(0)
        first = _next_page(handle, None)
        ident = first.packets[0] if first.packets else b""
        wanted = 1 + _headers_after_comments(ident)
        pages = [_next_page(handle, first.serial)]
        while True:
            packets = OggPage.to_packets(pages, strict=False)
            if len(packets) - (not pages[-1].complete) >= wanted:
                break
            pages.append(_next_page(handle, first.serial))
    except (ogg_error, EOFError, ValueError) as error:
        raise TagError(f"unreadable Ogg stream: {error}") from error
    packet = packets[0]
    if ident.startswith(VORBIS_IDENT) and packet.startswith(VORBIS_COMMENT):
        prefix, fixed = VORBIS_COMMENT, 1  # the framing bit
    elif ident.startswith(OPUS_IDENT) and packet.startswith(OPUS_COMMENT):
        prefix, fixed = OPUS_COMMENT, 0
    elif ident.startswith(FLAC_IDENT) and packet[:1] and packet[0] & 0x7F == FLAC_COMMENT_BLOCK:
        prefix, fixed = packet[:4], 0
    else:
        raise TagError("an Ogg stream without Vorbis comments we can edit (not Vorbis, Opus or FLAC)")
    return CommentPacket(pages, prefix, vorbis_comment.parse(packet[len(prefix):], fixed), packets[1:])


def layout(pages: list[OggPage]) -> list[list[Any]]:
    """How the packets were laid out on the pages (sequence, granule, flags, packet sizes), for the journal."""
    return [[page.sequence, page.position, page.complete, page.continued, [len(p) for p in page.packets]]
            for page in pages]


def _template(recorded: list[list[Any]]) -> list[OggPage]:
    pages = []
    for sequence, position, complete, continued, sizes in recorded:
        page = OggPage()
        page.sequence, page.position, page.complete, page.continued = sequence, position, complete, continued
        page.packets = [b"\x00" * size for size in sizes]
        pages.append(page)
    return pages


def write(handle: BinaryIO, current: CommentPacket, comments: Comments,
          recorded: list[list[Any]] | None = None) -> None:
    """Replace the comment packet; the pages keep their layout (``recorded``, else the current one) where
    the packets' sizes allow, and mutagen renumbers the later pages where their number changes."""
    packets = [current.packet(comments), *current.others]
    template = _template(recorded) if recorded else current.pages
    new_pages = OggPage._from_packets_try_preserve(packets, template)
    OggPage.replace(handle, current.pages, new_pages)
