"""Lay out a development set of freely licensed music OUTSIDE GTZAN's ten genres, from Debian's archive,
to check that the tagger abstains on music it was not trained for (issue 28). It is for measuring
abstention only: never for training the ten genres, and never committed (the audio stays in --out).

  python scripts/fetch_ood_set.py --out ~/ood-music

Needs `apt-get download` and `dpkg-deb` (Debian or Ubuntu) and about 700 MB of downloads. Each package's
music goes to OUT/<style>/<package>/ with its copyright file, and OUT/manifest.csv lists every file with
its style and the genres that would be a fair tag for it. The styles are the soundtracks' as a whole
(one per package, from what the games' projects publish), not per-track listening: Wesnoth's score is
orchestral (classical is a fair tag), SuperTux's music chiptune-like game music, FreedroidRPG's and
Warzone 2100's electronic. None of GTZAN's ten is fair for the last three; the broad genre Electronic
(export/broad_genres.py) is, chiptune being electronic music made on (or in the manner of) sound chips.
Abstaining is never counted wrong.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

MUSIC_SUFFIXES = (".ogg", ".opus", ".mp3", ".flac")
MANIFEST = "manifest.csv"


@dataclass(frozen=True)
class Source:
    package: str
    style: str
    fair_genres: tuple[str, ...]  # genres a person would accept for this music
    music: str  # the folder inside the package that holds its music


SOURCES = (
    Source("wesnoth-1.16-music", "orchestral", ("classical",), "usr/share/games/wesnoth/1.16/data/core/music"),
    Source("supertux-data", "chiptune", ("electronic",), "usr/share/games/supertux2/music"),
    Source("freedroidrpg-data", "electronic", ("electronic",), "usr/share/freedroidrpg/data/sound/music"),
    Source("warzone2100-music", "electronic", ("electronic",), "usr/share/games/warzone2100/music"),
)


def unpack(source: Source, scratch: Path) -> Path:
    """The package downloaded and unpacked in ``scratch``; its root folder."""
    subprocess.run(["apt-get", "download", source.package], cwd=scratch, check=True, capture_output=True)
    (deb,) = scratch.glob(f"{source.package}_*.deb")
    root = scratch / source.package
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    deb.unlink()
    return root


def lay_out(source: Source, root: Path, out: Path) -> list[dict[str, str]]:
    """Copy the package's music and copyright file under OUT/<style>/<package>/; the manifest's rows."""
    target = out / source.style / source.package
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "usr/share/doc" / source.package / "copyright", target / "copyright")
    rows = []
    for path in sorted((root / source.music).rglob("*")):
        if path.suffix.lower() in MUSIC_SUFFIXES:
            copied = target / "-".join(path.relative_to(root / source.music).parts)
            shutil.copy(path, copied)
            rows.append({"path": str(copied.relative_to(out)), "style": source.style, "package": source.package,
                         "fair_genres": ";".join(source.fair_genres)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    arguments = parser.parse_args()
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        sys.exit("needs apt-get and dpkg-deb (Debian or Ubuntu)")
    rows = []
    for source in SOURCES:
        with tempfile.TemporaryDirectory() as scratch:
            print(f"{source.package}: downloading", file=sys.stderr, flush=True)
            rows += lay_out(source, unpack(source, Path(scratch)), arguments.out)
    with (arguments.out / MANIFEST).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["path", "style", "package", "fair_genres"])
        writer.writeheader()
        writer.writerows(rows)
    counts = Counter(row["style"] for row in rows)
    print(f"{len(rows)} files in {arguments.out}: "
          + ", ".join(f"{style} {count}" for style, count in sorted(counts.items())))


if __name__ == "__main__":
    main()
