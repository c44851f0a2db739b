"""WMA (ASF): genres in the ``WM/Genre`` attribute, one value per genre."""

from __future__ import annotations

from mutagen.asf import ASF

from tagger.tags.listfield import ListFieldGenres

ASF_TAGS = ListFieldGenres("asf", "WM/Genre", ASF, has_padding=True)
