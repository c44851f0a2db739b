"""`tagger learn` with the light install and its `learn` extra alone (no torch): a generated library of two
made-up genres is learned, and a dry run with the learned model proposes the right genre for new files.

Run with that venv's Python, after `pip install '.[learn]'`: python .ci/learn_check.py
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile
from mutagen.flac import FLAC
from tagger_run import tagger  # beside this script

RATE = 22_050


def song(kind: str, seed: int) -> np.ndarray:
    """A low drone, or noise bursts on a beat: two genres anyone could tell apart."""
    rng = np.random.default_rng(seed)
    t = np.arange(8 * RATE) / RATE
    if kind == "Drone":
        return (0.4 * np.sin(2 * np.pi * rng.uniform(90, 160) * t)).astype(np.float32)
    beat = (np.arange(len(t)) % int(RATE / rng.uniform(3, 5))) < RATE // 40
    return (0.5 * rng.standard_normal(len(t)) * beat).astype(np.float32)


def main() -> None:
    if importlib.util.find_spec("torch") is not None:
        sys.exit("the learn extra pulled in torch")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for kind in ("Drone", "Clatter"):
            for index in range(8):
                path = root / "library" / f"{kind}{index}.flac"
                path.parent.mkdir(exist_ok=True)
                soundfile.write(path, song(kind, index), RATE)
                tags = FLAC(path)
                tags["genre"], tags["album"] = kind, f"{kind} {index // 2}"
                tags.save()
            soundfile.write(root / f"new-{kind}.flac", song(kind, 99), RATE)
        state = str(root / "state")
        tagger("learn", str(root / "library"), "--out", str(root / "mine.onnx"), "--state-dir", state)
        tagger("info", "--model", str(root / "mine.onnx"))
        predicted = json.loads(tagger("predict", "--json", "--min-confidence", "0", "--model", str(root / "mine.onnx"),
                                      str(root / "new-Drone.flac"), str(root / "new-Clatter.flac")).stdout)
    if [record["chosen"] for record in predicted] != [["Drone"], ["Clatter"]]:
        sys.exit("the learned model did not tell the two genres apart")
    print("learn with the light install: OK")


if __name__ == "__main__":
    main()
