"""A worker process that dies on one file costs that file only, not the scan."""

import os

from tagger.analysis import Analysis
from tagger.workers import CRASHED, analyze_in_processes


def crash_on_marked_files(path: str) -> Analysis:
    """Stands in for a decoder that segfaults on a hostile file."""
    if "crash" in path:
        os._exit(1)
    return Analysis(path, scores=[1.0])


def test_the_crashing_file_is_an_error_and_every_other_file_is_analysed(tiny_model):
    paths = [f"song{i}.mp3" for i in range(10)]
    paths[3] = "crash-me.mp3"
    results = list(analyze_in_processes(paths, 2, str(tiny_model), 1, task=crash_on_marked_files))
    assert sorted(r.path for r in results) == sorted(paths)
    by_path = {r.path: r for r in results}
    assert by_path["crash-me.mp3"].error == CRASHED
    assert all(by_path[p].scores == [1.0] for p in paths if p != "crash-me.mp3")
