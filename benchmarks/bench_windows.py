"""Windows per track: cross-validated accuracy against measured scan speed, in one table (issue 28).

For each number of windows a scan hears per track: the pooled top-1 of a `trainer compare --folds K`
configuration's fold models on their test tracks at that many windows (placed as the tagger places them,
``trainer.train.window_count_sweep``; gtzan-part's clips are 30 s, so counts past their ten windows are not
measured), and the speed of `tagger scan --windows N --jobs 2` (a dry run, nothing cached) over generated
four-minute MP3s (benchmarks/bench_scan.py's library), against the same scan at the model's own count.

  python benchmarks/bench_windows.py --cv runs/cv/musicnn-frozen-linear-seed0 [--tracks 60] [--counts 1,2,3,5,8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_scan import SECONDS, make_library, timed_scan
from benchmarks.common import record, table
from tagger.model import GenreModel

JOBS = 2
TARGET = 12.0  # tracks/s with --jobs 2 on four-minute MP3s (issue 28)


def section(model_file: str) -> str:
    """This benchmark's section of benchmarks/RESULTS.md for a model file."""
    return f"Windows per track, {model_file}"


def pooled_top1(cross_validation: Path | None) -> dict[int, float]:
    """Pooled top-1 by windows per track over the unit's folds; nothing without a unit."""
    if cross_validation is None:
        return {}
    from trainer.compare import fold_runs
    from trainer.refit import pooled_window_sweep
    from trainer.run_dir import METRICS, read_json

    return pooled_window_sweep([read_json(run / METRICS) for run in fold_runs(cross_validation)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cv", type=Path, default=None, help="the cross-validation the model was refit from")
    parser.add_argument("--tracks", type=int, default=60)
    parser.add_argument("--counts", default="1,2,3,5,8")
    parser.add_argument("--files", type=Path, default=Path(tempfile.gettempdir()) / "genre-tagger-bench")
    parser.add_argument("--model", type=Path, default=None)
    arguments = parser.parse_args()
    model = GenreModel(arguments.model)
    paths = make_library(arguments.files, arguments.tracks)
    accuracy = pooled_top1(arguments.cv)
    own = model.info.inference_windows
    speeds = {count: len(paths) / timed_scan(arguments.files, model.path, JOBS, ("--windows", str(count)))
              for count in sorted({own, *map(int, arguments.counts.split(","))})}
    rows = [[f"{count} (the model's own)" if count == own else str(count),
             f"{accuracy[count]:.3f}" if count in accuracy else "not measured", f"{speed:.1f}",
             f"{speed / speeds[own]:.2f}", "yes" if speed >= TARGET else "no"] for count, speed in speeds.items()]
    source = (f"pooled over the folds of `{arguments.cv}`" if arguments.cv else "no cross-validation given")
    body = (f"Model `{model.path.name}`; top-1 {source}; speed of `tagger scan --jobs {JOBS} --windows N` (dry run, "
            f"nothing cached) over {len(paths)} generated {SECONDS // 60}-minute MP3s.\n\n"
            + table(["windows per track", "pooled CV top-1", "scan tracks/s", f"vs {own} windows",
                     f">= {TARGET:g} tracks/s"], rows))
    print(body)
    record(section(model.path.name), body)


if __name__ == "__main__":
    main()
