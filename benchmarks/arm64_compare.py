"""Second half of arm64_emulated.sh: run the tagger on x86-64 and inside the arm64 root, compare.

Probabilities must agree within 1e-4 and the top genre must match; the tagged files must be
byte-identical. Prints a table and records it in RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import record, table
from tagger.model import DEFAULT_MODEL_PATH

TOLERANCE = 1e-4


def run(command: list[str]) -> tuple[str, float]:
    started = time.perf_counter()
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    return completed.stdout, time.perf_counter() - started


def predict(prefix: list[str], tagger: str, model: str, files: list[str]) -> tuple[dict, float]:
    output, seconds = run([*prefix, tagger, "predict", "--json", "--model", model, *files])
    return {Path(r["path"]).name: r["scores"] for r in json.loads(output)}, seconds


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.mp3"))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--x86-files", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    arguments = parser.parse_args()
    root = arguments.root
    models = {"float32": DEFAULT_MODEL_PATH}
    int8 = DEFAULT_MODEL_PATH.with_name("default.int8.onnx")
    if int8.is_file():
        models["int8"] = int8
    (root / "models").mkdir(exist_ok=True)
    files = sorted(p.name for p in arguments.x86_files.glob("*.mp3"))
    x86_tagger = str(Path(sys.executable).with_name("tagger"))
    arm = ["chroot", str(root)]
    rows, results = [], {}
    for name, model in models.items():
        shutil.copyfile(model, root / "models" / model.name)
        x86, x86_seconds = predict([], x86_tagger, str(model), [str(arguments.x86_files / f) for f in files])
        arm64, arm_seconds = predict(arm, "/opt/tagger/bin/tagger", f"/models/{model.name}",
                                     [f"/files/{f}" for f in files])
        worst = max(abs(x86[f][g] - arm64[f][g]) for f in files for g in x86[f])
        same_top = sum(max(x86[f], key=x86[f].get) == max(arm64[f], key=arm64[f].get) for f in files)
        results[name] = arm64
        within = "yes" if worst <= TOLERANCE else "NO"
        rows.append([name, len(files), f"{same_top}/{len(files)}", f"{worst:.1e}", within,
                     f"{x86_seconds / len(files):.2f}", f"{arm_seconds / len(files):.2f}"])

    # Tags: scan --write-tags on both sides, then compare the files byte for byte.
    for state in (arguments.work / "x86-state", root / "state"):
        shutil.rmtree(state, ignore_errors=True)
    run([x86_tagger, "scan", str(arguments.x86_files), "--write-tags", "--jobs", "1",
         "--state-dir", str(arguments.work / "x86-state")])
    _, arm_scan = run([*arm, "/opt/tagger/bin/tagger", "scan", "/files", "--write-tags", "--jobs", "1",
                       "--state-dir", "/state"])
    identical = digests(arguments.x86_files) == digests(root / "files")

    agreement = ""
    if "int8" in results:
        f32, q8 = results["float32"], results["int8"]
        top = sum(max(f32[f], key=f32[f].get) == max(q8[f], key=q8[f].get) for f in files)
        worst = max(abs(f32[f][g] - q8[f][g]) for f in files for g in f32[f])
        agreement = (f"\n\nINT8 against float32 on arm64: top genre agrees on {top}/{len(files)} tracks; "
                     f"largest probability difference {worst:.3f}.")
    instructions = instruction_count(arm, files)
    body = (
        "Tagger on arm64 (Debian bookworm, qemu-aarch64 user-mode emulation on this x86-64 machine) against "
        "x86-64 on the same MP3s. **Emulated time is not a Raspberry Pi's time**: qemu translates every "
        "instruction, so it only shows that the runtime works, not how fast a board is.\n\n"
        + table(["model", "tracks", "same top genre", "max abs probability diff", f"within {TOLERANCE:g}",
                 "x86-64 s/track (predict)", "arm64 emulated s/track (predict)"], rows)
        + ("\n\nThe INT8 model is not bit-for-bit portable: onnxruntime's quantized kernels differ between x86-64 "
           "and arm64 (the float32 graph gives the same numbers on both). Its top genre is what to compare."
           if any(row[0] == "int8" and row[4] != "yes" for row in rows) else "")
        + f"\n\n`tagger scan --write-tags` on both: tagged files byte-identical: {'yes' if identical else 'NO'} "
        f"(arm64 emulated scan: {arm_scan / len(files):.2f} s/track)." + agreement + "\n\n" + instructions
    )
    print(body)
    record("arm64 (emulated)", body)
    if not identical or any(row[4] != "yes" for row in rows if row[0] == "float32"):
        sys.exit(1)


def instruction_count(arm: list[str], files: list[str]) -> str:
    """Host instructions of an emulated predict, where `perf` can count them; otherwise say so."""
    if shutil.which("perf") is None:
        return "Instruction count: not measured (`perf` is not installed here)."
    completed = subprocess.run(["perf", "stat", "-x,", "-e", "instructions", *arm, "/opt/tagger/bin/tagger",
                                "predict", f"/files/{files[0]}"], check=False, capture_output=True, text=True)
    for line in completed.stderr.splitlines():
        if line.endswith(",instructions") or ",instructions," in line:
            value = line.split(",")[0]
            if value.isdigit():
                return f"Host (x86-64) instructions for one emulated `tagger predict` of one track: {int(value):,}."
    return "Instruction count: `perf stat` could not count instructions on this machine."


if __name__ == "__main__":
    main()
