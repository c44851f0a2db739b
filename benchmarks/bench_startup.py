"""Start-up: CPU seconds (user + system, of the child process) of `tagger --help` and `tagger scan --help`,
this checkout against another one and against a bare interpreter, median of repeated runs in one session.
CPU time, not wall time, so a busy machine changes the figures less (issue 32: at most 0.10 s). Then the CPU
seconds every process of `tagger scan --jobs 2` (the main one and its workers) has spent when the scan of two
four-minute MP3s, with a fresh state, prints its first result (issue 32: within 1 s).

Usage: python benchmarks/bench_startup.py [--baseline CHECKOUT] [--runs 15] [--files DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_scan import make_library
from benchmarks.common import machine, record, table, tagger_command

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(command: list[str], where: dict[str, object]) -> float:
    """CPU seconds one run of ``command`` cost its process (and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, capture_output=True, check=True, **where)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of process ``root`` and every living descendant, and of the children they have reaped."""
    parents, spent = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # it ended meanwhile
                continue
            parents[int(entry.name)] = int(fields[1])
            spent[int(entry.name)] = sum(int(value) for value in fields[11:15]) / TICKS  # utime stime cutime cstime
    tree, grown = {root}, True
    while grown:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree, grown = tree | children, bool(children)
    return sum(spent.get(pid, 0.0) for pid in tree)


def cpu_at_first_result(command: list[str], where: dict, files: Path) -> float:
    """CPU seconds the whole scan of ``files`` has spent when its first per-file line appears."""
    with tempfile.TemporaryDirectory() as state:
        environment = {**where.get("env", os.environ), "TAGGER_STATE_DIR": state}
        with subprocess.Popen([*command, "scan", "--jobs", "2", "-v", str(files)], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, env=environment, cwd=where.get("cwd")) as scan:
            assert scan.stdout is not None
            scan.stdout.readline()
            seconds = tree_cpu_seconds(scan.pid)
            scan.stdout.read()
    return seconds


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, help="a checkout to compare with (e.g. a git worktree of main)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--files", type=Path, default=Path(tempfile.gettempdir()) / "genre-tagger-bench",
                        help="where bench_scan.py's four-minute MP3s are (the first two are made if absent)")
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
    with tempfile.TemporaryDirectory() as folder:
        two = Path(folder)
        for track in make_library(arguments.files, 2):
            (two / track.name).symlink_to(track)
        first = None
        for name, source in checkouts:
            command, where = tagger_command(source, dict(os.environ))
            seconds = median([cpu_at_first_result(command, where, two) for _ in range(max(3, arguments.runs // 3))])
            first = first or seconds
            rows.append(["first result of scan --jobs 2 (every process)", name, f"{seconds:.3f}",
                         f"{seconds / first:.2f}"])
    body = (f"Median CPU seconds of {arguments.runs} runs on {machine()}; the ratio is to this checkout.\n\n"
            + table(["command", "tagger", "CPU s", "ratio to this checkout"], rows))
    print(body)
    record("Start-up: tagger --help (issue 32)", body)


if __name__ == "__main__":
    main()
