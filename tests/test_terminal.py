"""What a person sees at a terminal: the progress bar, per-file lines in path order, and Ctrl-C's summary.

The scan runs in a pseudo-terminal (``pty.fork``), so it sees a real terminal on every stream and Ctrl-C is
the byte the terminal turns into SIGINT for its foreground process. Nothing waits on a clock: the scan says
when it is mid-analysis, and only then is Ctrl-C typed.
"""

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from tagger.progress import InPathOrder
from tests.conftest import tone, write_audio

termios = pytest.importorskip("termios")

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a POSIX pseudo-terminal")

FILES = 6
MARK = "@@ analysing file {} @@"
# Analysis takes a visible while (so the bar redraws between files); at file ``stop_at`` the scan says so and
# waits for Ctrl-C. SIGINT is made the default even if the test runner's shell ignores it.
SCAN_IN_TERMINAL = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
import tagger.workers
stop_at, real_analyses, calls = int(sys.argv[1]), tagger.workers.analyze_in_processes, [0]
def analyses(*arguments):
    for analysis in real_analyses(*arguments):
        calls[0] += 1
        time.sleep(0.15)
        if calls[0] == stop_at:
            print(MARK.format(stop_at), file=sys.stderr, flush=True)
            time.sleep(120)
        yield analysis
tagger.workers.analyze_in_processes = analyses
from tagger.cli import main
sys.argv = ["tagger", *sys.argv[2:]]
main()
""".replace("MARK", repr(MARK))


@pytest.fixture
def library(tmp_path):
    for index in range(FILES):
        write_audio(tmp_path / "lib" / f"song{index}.mp3", tone(3, seed=index))
    return tmp_path / "lib"


def in_terminal(arguments: list[str], interrupt_on: str | None = None, size: tuple[int, int] = (100, 30),
                timeout: float = 120) -> tuple[str, int]:
    """Run Python with ``arguments`` in a pseudo-terminal of ``size`` (columns, lines); type Ctrl-C once
    ``interrupt_on`` is printed. Returns everything the terminal showed and the exit code."""
    pid, terminal = os.forkpty()
    if pid == 0:  # the child: its standard streams are the terminal
        os.execv(sys.executable, [sys.executable, *arguments])
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    shown, typed = b"", False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if interrupt_on and not typed and interrupt_on.encode() in shown:
            os.write(terminal, b"\x03")
            typed = True
        ready, _, _ = select.select([terminal], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail(f"no end within {timeout} s; the terminal showed:\n{shown.decode(errors='replace')}")
    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    return shown.decode(errors="replace"), os.waitstatus_to_exitcode(status)


def scan_arguments(library, tiny_model, tmp_path, stop_at: int = 0) -> list[str]:
    return ["-c", SCAN_IN_TERMINAL, str(stop_at), "scan", str(library), "--write-tags", "--jobs", "1",
            "--model", str(tiny_model), "--state-dir", str(tmp_path / "state")]


def test_a_terminal_gets_a_progress_bar_and_per_file_lines_in_path_order(library, tiny_model, tmp_path):
    shown, code = in_terminal(scan_arguments(library, tiny_model, tmp_path))
    assert code == 0, shown
    # tqdm's bar: percentage, count of total, elapsed<remaining, rate
    bar = re.findall(r"(\d+)%\|[^|]*\| (\d+)/6 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+(?:s/file|file/s)\]", shown)
    assert bar and any(0 < int(count) < FILES for _, count in bar), shown
    tagged = re.findall(r"tagged: \S*song(\d)\.mp3", shown)
    assert tagged == [str(index) for index in range(FILES)]
    assert "tagged 6" in shown and "undo with `tagger undo 1`" in shown


def test_a_terminal_that_reports_no_size_still_gets_the_bar(library, tiny_model, tmp_path):
    shown, code = in_terminal(scan_arguments(library, tiny_model, tmp_path), size=(0, 0))
    assert code == 0, shown
    assert re.search(r"\d+%\|[^|]*\| \d+/6 \[", shown), shown


def test_quiet_shows_no_bar_and_no_per_file_lines_only_the_summary(library, tiny_model, tmp_path):
    shown, code = in_terminal([*scan_arguments(library, tiny_model, tmp_path), "--quiet"])
    assert code == 0, shown
    assert "%|" not in shown and "tagged: " not in shown
    assert "tagged 6" in shown


def test_ctrl_c_at_a_terminal_stops_the_scan_and_still_prints_the_summary_and_undo(library, tiny_model, tmp_path):
    shown, code = in_terminal(scan_arguments(library, tiny_model, tmp_path, stop_at=4),
                              interrupt_on=MARK.format(4))
    assert code == 130, shown
    assert "Traceback" not in shown
    assert "tagged 3," in shown and f"interrupted: {FILES - 3} file(s) not handled" in shown
    assert "run 1: undo with `tagger undo 1`" in shown


def test_results_are_shown_in_path_order_whatever_order_they_settle_in():
    shown: list[str] = []
    order = InPathOrder(["a", "b", "c", "d"], lambda result: shown.append(result.path))
    for path in ("c", "a", "d"):
        order.add(SimpleNamespace(path=path))
    assert shown == ["a"]  # b is still being analysed: c and d wait for it
    order.add(SimpleNamespace(path="b"))
    assert shown == ["a", "b", "c", "d"]


def test_a_scan_stopped_early_still_shows_what_it_settled_in_path_order():
    shown: list[str] = []
    order = InPathOrder(["a", "b", "c", "d"], lambda result: shown.append(result.path))
    for path in ("d", "b", "elsewhere"):
        order.add(SimpleNamespace(path=path))
    assert shown == ["elsewhere"]
    order.flush()
    assert shown == ["elsewhere", "b", "d"]


def test_a_long_loop_of_the_trainer_shows_a_bar_with_its_rate_and_time_left():
    """What the trainer wraps its decoding, feature and batch loops in: a bar at a terminal, nothing in a pipe."""
    loop = ("import time\nfrom tagger.progress import tracked\n"
            "for _ in tracked(range(5), 5, 'epoch 3 train', 'batch'):\n    time.sleep(0.1)\nprint('done')\n")
    shown, code = in_terminal(["-c", loop])
    assert code == 0 and "done" in shown, shown
    assert re.search(r"epoch 3 train: +\d+%\|[^|]*\| \d/5 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+(?:s/batch|batch/s)\]",
                     shown), shown
    piped = subprocess.run([sys.executable, "-c", loop], capture_output=True, text=True, check=True)
    assert piped.stderr == "" and piped.stdout == "done\n"
