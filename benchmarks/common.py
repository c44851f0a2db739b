"""Shared pieces of the benchmarks: machine description, tables, and the results file."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {system}"


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table (also readable in a terminal)."""
    cells = [[str(cell) for cell in row] for row in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def record(section: str, body: str) -> None:
    """Replace (or add) ``## section`` in RESULTS.md, stamped with the date and the machine."""
    stamp = f"_{datetime.date.today().isoformat()} on {machine()}_"
    block = f"## {section}\n\n{stamp}\n\n{body.strip()}\n"
    header = "# Benchmark results\n\nWritten by the scripts in `benchmarks/`.\n"
    text = RESULTS.read_text() if RESULTS.exists() else header
    parts = text.split("\n## ")
    kept = [parts[0].rstrip() + "\n"] + [f"## {p.rstrip()}\n" for p in parts[1:] if not p.startswith(section + "\n")]
    RESULTS.write_text("\n".join([*kept, block]))


def median_seconds(action: Callable[[], object], repeats: int, warmups: int = 1) -> float:
    """Median wall seconds of ``repeats`` calls of ``action``, after ``warmups`` untimed ones (page cache,
    codec and session initialisation)."""
    for _ in range(warmups):
        action()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def tagger_command(source: Path | None, environment: dict[str, str]) -> tuple[list[str], dict[str, object]]:
    """The command line, and the keywords for ``subprocess.run`` (environment, folder), that run ``python -m
    tagger`` from ``source`` (another checkout, for a "before" measured in the same run), or from this
    installation where None. An editable install puts its own finder before PYTHONPATH, and ``-m`` puts the
    current folder first, so another checkout's tagger runs from that checkout's folder without the site
    machinery (``-S``, which worker processes inherit), with the installed packages' folder on its path.
    Bytecode is written (PYTHONDONTWRITEBYTECODE dropped) as an installed package has it: otherwise every run
    compiles the checkout's modules again, a cost no user pays."""
    import sys
    import sysconfig

    environment = {name: value for name, value in environment.items() if name != "PYTHONDONTWRITEBYTECODE"}
    if source is None:
        return [sys.executable, "-m", "tagger"], {"env": environment}
    path = os.pathsep.join([str(source), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    return [sys.executable, "-S", "-m", "tagger"], {"env": {**environment, "PYTHONPATH": path}, "cwd": source}
