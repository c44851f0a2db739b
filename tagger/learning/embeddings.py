"""The backbone's embedding of each file's windows, computed once: in worker processes (a decoder that
crashes costs its file, never the run), kept in the state database as each file is done, so that a run cut
short by Ctrl-C keeps what it finished and a second run embeds only the files that are new."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from tagger.embedding_cache import EmbeddingCache
from tagger.model import GenreModel
from tagger.progress import tracked
from tagger.result_cache import FileKey
from tagger.workers import analyze_in_processes, embed_in_worker


def embed_files(paths: list[Path], model: GenreModel, windows: int, jobs: int, cache: EmbeddingCache,
                on_error: Callable[[Path, str], None]) -> tuple[dict[Path, np.ndarray], int]:
    """Each readable file's embedding [windows, width] by ``model``, and how many were found in the cache;
    ``on_error(path, reason)`` hears of each file that gives none (undecodable, silent, unreadable)."""
    found: dict[Path, np.ndarray] = {}
    keys: dict[str, FileKey] = {}
    for path in paths:
        try:
            keys[str(path)] = key = FileKey.of(path)
        except OSError as error:
            on_error(path, f"cannot read file: {error.strerror or error}")
            continue
        cached = cache.cached_embedding(key, model.info.model_id, windows)
        if cached is not None:
            found[path] = cached
    from_cache = len(found)
    missing = [name for name in keys if Path(name) not in found]
    analyses = analyze_in_processes(missing, jobs, str(model.path), windows, task=embed_in_worker)
    for analysis in tracked(analyses, len(missing), "embedding", "track"):
        if analysis.embedding is None:
            on_error(Path(analysis.path), analysis.error or analysis.skip_reason)
            continue
        found[Path(analysis.path)] = cache.store_embedding(keys[analysis.path], model.info.model_id,
                                                           analysis.embedding)
    return found, from_cache
