"""The installed `tagger` of the running venv, run as a user runs it: its output echoed, a failure ending the
check with the command's exit status. Shared by the checks in this folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def tagger(*arguments: str) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run([str(Path(sys.executable).with_name("tagger")), *arguments], capture_output=True,
                               text=True, check=False)
    print(f"$ tagger {' '.join(arguments)}\n{completed.stdout}{completed.stderr}")
    if completed.returncode != 0:
        sys.exit(f"`tagger {arguments[0]}` exited with {completed.returncode}")
    return completed
