"""WMA (ASF): genres in the ``WM/Genre`` attribute, one value per genre.

The extended content description is edited raw (``asf_raw``): every other descriptor and object keeps its
bytes and its place, a padding object absorbs the change in size, and undo puts the genre descriptors back
where they were. Where the file has no extended description yet, or keeps the genre in the Metadata
objects, mutagen saves the tag instead.
"""

from __future__ import annotations

from mutagen.asf import ASF

from tagger.tags import asf_raw
from tagger.tags.listfield import RawEditor, RawListGenres

EDITOR = RawEditor(
    read=asf_raw.read,
    items=lambda handle, layout: list(layout.descriptors),
    genre_indices=lambda layout: layout.genre_indices(),
    size=lambda layout: layout.header_size,
    name=asf_raw.name_of,
    genre_items=asf_raw.genre_descriptors,
    edit=asf_raw.edit,
    whole=asf_raw.header_span,
)
ASF_TAGS = RawListGenres("asf", asf_raw.GENRE_NAME, ASF, EDITOR)
