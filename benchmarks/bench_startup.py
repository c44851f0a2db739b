"""Start-up: CPU seconds (user + system, of the child process) of `tagger --help` and `tagger scan --help`,
this checkout against another one and against a bare interpreter, median of repeated runs in one session.
CPU time, not wall time, so a busy machine changes the figures less (issue 32: at most 0.10 s).

Usage: python benchmarks/bench_startup.py [--baseline CHECKOUT] [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import machine, record, table, tagger_command


def cpu_seconds(command: list[str], where: dict[str, object]) -> float:
    """CPU seconds one run of ``command`` cost its process (and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, capture_output=True, check=True, **where)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, help="a checkout to compare with (e.g. a git worktree of main)")
    parser.add_argument("--runs", type=int, default=15)
    arguments = parser.parse_args()
    bare = median([cpu_seconds([sys.executable, "-c", "pass"], {}) for _ in range(arguments.runs)])
    rows = [["python -c pass", "-", f"{bare:.3f}", "-"]]
    checkouts = [("this checkout", None)] + ([("baseline", arguments.baseline)] if arguments.baseline else [])
    for words in (["--help"], ["scan", "--help"]):
        first = None
        for name, source in checkouts:
            command, where = tagger_command(source, dict(os.environ))
            seconds = median([cpu_seconds([*command, *words], where) for _ in range(arguments.runs)])
            first = first or seconds
            rows.append([f"tagger {' '.join(words)}", name, f"{seconds:.3f}", f"{seconds / first:.2f}"])
    body = (f"Median CPU seconds of {arguments.runs} runs on {machine()}; the ratio is to this checkout.\n\n"
            + table(["command", "tagger", "CPU s", "ratio to this checkout"], rows))
    print(body)
    record("Start-up: tagger --help (issue 32)", body)


if __name__ == "__main__":
    main()
