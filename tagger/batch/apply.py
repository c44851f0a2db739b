"""`tagger apply`: the genres of a `tagger batch` table written into local files by the scan itself.

The rows stand in for listening: an ``ApplyScanner`` is the scan's Scanner whose analyses are the table's
scores, so the plan from the tags, the mode, the vocabulary, the journal, the lock, the refusals and
`tagger undo` are exactly `tagger scan --write-tags`'s. A file whose size or audio fingerprint is not what
was analysed gets no genres heard in other audio: it is skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tagger.analysis import Analysis
from tagger.model import GenreModel
from tagger.remote import is_local, local_path
from tagger.scan import Scanner
from tagger.scan_options import ScanOptions
from tagger.sniff import audio_fingerprint
from tagger.state import StateStore

from .results import ResultsError, read_rows, score_column

CHANGED = "the file changed since `tagger batch` analysed it; left as it was: analyse it again"


def rows_by_path(results: Path, model_id: str, labels: list[str]) -> dict[str, dict]:
    """The table's rows of local files, by path; rows of another model are refused (their scores mean
    other genres, or the same genres by another network)."""
    rows: dict[str, dict] = {}
    for row in read_rows(results):
        if row["model_id"] != model_id:
            raise ResultsError(f"{results} holds results of model {row['model_id']}, not of {model_id}: give "
                               "the model that made them with --model")
        if is_local(row["uri"]):
            rows[str(local_path(row["uri"]))] = row
    if not rows:
        raise ResultsError(f"{results} holds no rows of local files")
    missing = [label for label in labels if score_column(label) not in next(iter(rows.values()))]
    if missing:
        raise ResultsError(f"{results} has no scores for {', '.join(missing)}")
    return rows


class ApplyScanner(Scanner):
    """The scan, hearing each file through its row of the table."""

    HEARD = "read from the table"

    def __init__(self, rows: dict[str, dict], model: GenreModel, store: StateStore, options: ScanOptions,
                 run_id: int) -> None:
        super().__init__(model, store, options, run_id)
        self.rows = rows

    def _analyses(self, paths: list[str]) -> Iterator[Analysis]:
        for path in paths:
            yield self._analysis(path)

    def _analysis(self, path: str) -> Analysis:
        row = self.rows[path]
        if row["status"] == "error":
            return Analysis(path, error=f"`tagger batch` could not analyse it: {row['error']}")
        if row["status"] == "skipped":
            return Analysis(path, skip_reason=row["reason"])
        try:
            unchanged = (Path(path).stat().st_size == row["size"]
                         and audio_fingerprint(Path(path)) == row["fingerprint"])
        except OSError as error:
            return Analysis(path, error=f"cannot read file: {error.strerror or error}")
        if not unchanged:
            return Analysis(path, skip_reason=CHANGED)
        return Analysis(path, scores=[row[score_column(label)] for label in self.info.labels])
