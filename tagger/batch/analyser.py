"""One Ray actor's work: hold one onnxruntime session, and turn a batch of URIs into result rows by the
tagger's own pipeline (byte ranges of the windows, the format registry's decoders, the model, the
decision rule). A file that cannot be read or decoded becomes a row with its error, never a failed task."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from tagger.analysis import analyze
from tagger.decision import DecisionRule
from tagger.model import GenreModel
from tagger.outcome import Status
from tagger.remote import open_uri
from tagger.scan_options import ScanOptions
from tagger.sniff import audio_fingerprint

from .results import error_row, score_column


class TrackAnalyser:
    """The callable class of ``map_batches``: built once per actor, called per batch."""

    def __init__(self, model_bytes: bytes, options: ScanOptions) -> None:
        """``options``: the scan's, of which the decision rule and the windows apply."""
        handle, path = tempfile.mkstemp(suffix=".onnx")
        with os.fdopen(handle, "wb") as file:
            file.write(model_bytes)
        self.model = GenreModel(Path(path), threads=1)
        os.unlink(path)
        info = self.model.info
        self.windows = info.windows_per_track(options.windows)
        self.rule = DecisionRule.for_model(info, options.threshold, options.min_confidence, options.top_k,
                                           options.vocabulary)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        rows = [self.row(str(uri), None if size < 0 else int(size)) for uri, size in zip(batch["uri"], batch["size"],
                                                                                          strict=True)]
        return {key: [row[key] for row in rows] for key in rows[0]} if rows else {}

    def row(self, uri: str, size: int | None) -> dict:
        """The result row of one track."""
        labels = self.model.info.labels
        row = error_row(uri, size, self.model.info.model_id, labels)
        source = open_uri(uri, size)
        try:
            row["size"] = source.stat().st_size
            row["fingerprint"] = audio_fingerprint(source)
        except OSError as error:
            row["error"] = f"cannot read file: {error.strerror or error}"
            return row
        analysis = analyze(uri, self.model, self.windows, source)
        row["bytes_read"] = getattr(source, "bytes_read", 0)
        if analysis.scores is None:
            row["status"] = Status.SKIPPED.value if analysis.skip_reason else Status.ERROR.value
            row["reason"], row["error"] = analysis.skip_reason, analysis.error
            return row
        decision = self.rule.decide(analysis.scores)
        row.update({score_column(label): score for label, score in zip(labels, analysis.scores, strict=True)})
        row["genres"] = decision.genres
        row["status"] = (Status.UNCERTAIN if decision.uncertain else Status.TAGGED).value
        row["reason"] = decision.uncertain
        return row
