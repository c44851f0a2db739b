"""M4A/MP4: genres in the iTunes ``©gen`` atom, one value per genre.

The item list is edited raw (``mp4_ilst``): every other item keeps its bytes and its place, the padding
after the list absorbs the change in size (else the chunk offsets follow the audio), and undo puts the
genre atoms back where they were. Only where the file has no item list yet, mutagen saves the tag
instead; it may re-order the items, and its undo restores the values and the size. A fragmented file is
never saved by mutagen, and every write is checked against every byte of media the sample tables point at.
"""

from __future__ import annotations

from mutagen.mp4 import MP4

from tagger.tags import mp4_ilst
from tagger.tags.listfield import RawEditor, RawListGenres

EDITOR = RawEditor(
    read=mp4_ilst.read,
    items=lambda handle, layout: [mp4_ilst.item_bytes(handle, item) for item in layout.items],
    genre_indices=lambda layout: [index for index, item in enumerate(layout.items)
                                  if item.chunk_id in mp4_ilst.GENRE_ITEMS],
    size=lambda layout: layout.moov_size,
    name=lambda item: item[4:8].decode("latin-1"),
    genre_items=lambda genres: [mp4_ilst.genre_atom(genres)],
    edit=mp4_ilst.edit,
    whole=mp4_ilst.moov_span,
    unsaveable=mp4_ilst.unsaveable,
    media=mp4_ilst.media_digest,
)
MP4_TAGS = RawListGenres("mp4", "\xa9gen", MP4, EDITOR)
