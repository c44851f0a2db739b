"""M4A/MP4: genres in the iTunes ``©gen`` atom, one value per genre."""

from __future__ import annotations

from mutagen.mp4 import MP4

from tagger.tags.listfield import ListFieldGenres

MP4_TAGS = ListFieldGenres("mp4", "\xa9gen", MP4)
