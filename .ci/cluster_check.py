"""`tagger batch` and `tagger apply` with the light install and its `cluster` extra alone (no torch), as the
README says: a folder analysed on a local Ray instance, a second identical run that resumes and does nothing
new, the results applied with --write-tags, and `tagger undo` giving every file back byte for byte.

Run with that venv's Python, after `pip install '.[cluster]'`: python .ci/cluster_check.py
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as parquet
import soundfile
from tagger_run import tagger  # beside this script

RATE = 22_050


def digests(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


def main() -> None:
    if importlib.util.find_spec("torch") is not None:
        sys.exit("the cluster extra pulled in torch")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        music = root / "music"
        music.mkdir()
        rng = np.random.default_rng(0)
        t = np.arange(20 * RATE) / RATE
        for index, suffix in enumerate((".mp3", ".flac", ".ogg")):
            song = 0.3 * np.sin(2 * np.pi * (110 + 60 * index) * t) + 0.05 * rng.standard_normal(len(t))
            soundfile.write(music / f"song{index}{suffix}", song.astype(np.float32), RATE)
        before = digests(music)
        results, state = str(root / "results.parquet"), str(root / "state")
        tagger("batch", str(music), "--out", results)
        rows = parquet.read_table(results).to_pylist()
        if len(rows) != 3 or any(row["status"] not in ("tagged", "uncertain") for row in rows):
            sys.exit(f"expected 3 analysed rows, got {rows}")
        again = tagger("batch", str(music), "--out", results).stderr
        if "in " + results + " already" not in again or len(parquet.read_table(results)) != 3:
            sys.exit("the second identical run did not resume")
        written = tagger("apply", results, "--write-tags", "--min-confidence", "0", "--state-dir", state).stderr
        if "tagged 3" not in written or digests(music) == before:
            sys.exit("tagger apply --write-tags did not tag the three files")
        tagger("undo", "--state-dir", state)
        if digests(music) != before:
            sys.exit("tagger undo did not give the files back byte for byte")
    print("cluster check: batch, resume, apply --write-tags and undo work with the light install")


if __name__ == "__main__":
    main()
