"""The README's first command, proven: in a venv holding only `pip install .`, the tagger runs its main
job on the shipped default model, and nothing heavy is installed or imported.

Run with that venv's Python: python .ci/light_check.py
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile

HEAVY = ("torch", "librosa", "sklearn", "scipy", "onnx", "matplotlib")
RATE = 22_050


def main() -> None:
    installed = [name for name in HEAVY if importlib.util.find_spec(name) is not None]
    if installed:
        sys.exit(f"the light install pulled in {', '.join(installed)}")
    tagger = Path(sys.executable).with_name("tagger")
    with tempfile.TemporaryDirectory() as folder:
        library = Path(folder) / "library"
        library.mkdir()
        t = np.arange(10 * RATE) / RATE
        song = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t))).astype(np.float32)
        soundfile.write(library / "song.mp3", song, RATE, format="MP3")
        state = Path(folder) / "state"
        outputs = {}
        for command in (["scan", str(library), "--state-dir", str(state)], ["predict", str(library / "song.mp3")],
                        ["info"]):
            completed = subprocess.run([str(tagger), *command], capture_output=True, text=True, check=False)
            outputs[command[0]] = completed.stdout + completed.stderr
            print(f"$ tagger {' '.join(command)}\n{outputs[command[0]]}")
            if completed.returncode != 0:
                sys.exit(f"`tagger {command[0]}` exited with {completed.returncode}")
        trainer = subprocess.run([str(tagger.with_name("trainer")), "train", "--data", str(library), "--out",
                                  str(Path(folder) / "run")], capture_output=True, text=True, check=False)
        print(f"$ trainer train ...\n{trainer.stderr}")
        if trainer.returncode != 1 or "Traceback" in trainer.stderr or "training install" not in trainer.stderr:
            sys.exit("`trainer train` without the training install did not say in one line what to install")
    if "would-tag 1" not in outputs["scan"]:
        sys.exit("the dry run did not propose a genre for the generated song")
    print("light install: OK")


if __name__ == "__main__":
    main()
