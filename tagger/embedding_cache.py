"""Cached embeddings: `tagger learn` embeds each file once, and a second run only the files that are new.

Kept like a scan's results (``tagger.result_cache``: by path, size and mtime, else by the audio's
fingerprint) in their own table of the state database, so that they never displace a file's scores. The
stored value is each window's embedding as float16 bytes (400 bytes a window for a width of 200), under an
id that names the model and the window count: other windows lie elsewhere in the track.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tagger.result_cache import CachedByContent, FileKey, identity_or_none

if TYPE_CHECKING:  # imported where embeddings are used: `tagger undo`, which opens the state too, needs none
    import numpy as np

# The value's column is named as the results table's, so that one lookup serves both.
SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, model_id TEXT NOT NULL,
    scores BLOB NOT NULL, updated REAL NOT NULL, content_identity TEXT, PRIMARY KEY (path, model_id)
);
CREATE INDEX IF NOT EXISTS embeddings_by_identity ON embeddings(content_identity, model_id);
"""


def _entry(model_id: str, windows: int) -> str:
    return f"{model_id}/{windows}"


class EmbeddingCache(CachedByContent):
    """The ``embeddings`` table."""

    table = "embeddings"

    def cached_embedding(self, key: FileKey, model_id: str, windows: int) -> np.ndarray | None:
        """This version of this file's embedding of ``windows`` windows by ``model_id``: [windows, width]."""
        import numpy as np

        found = self._cached(key, _entry(model_id, windows))
        if not isinstance(found, bytes):  # absent (or a value no tagger wrote)
            return None
        return np.frombuffer(found, np.float16).reshape(windows, -1).astype(np.float32)

    def store_embedding(self, key: FileKey, model_id: str, embedding: np.ndarray) -> np.ndarray:
        """Keep the embedding, and give it back as a later run will find it (float16 precision), so that
        what is learned never depends on whether the cache had it."""
        import numpy as np

        stored = np.asarray(embedding, np.float16)
        self._insert(key, _entry(model_id, len(embedding)), stored.tobytes(), identity_or_none(key))
        return stored.astype(np.float32)
