#!/usr/bin/env bash
# Runs the tagger on 64-bit ARM (Raspberry Pi class) under qemu user-mode emulation and compares it
# with x86-64 on the same files. Needs root (debootstrap, binfmt_misc) and Debian's package mirror
# (debootstrap's default).
# Not part of the test suite: it takes several minutes.
#
#   sudo benchmarks/arm64_emulated.sh [AUDIO_DIR] [WORK_DIR]
#
# AUDIO_DIR: MP3s to analyse (default: the first clips of ../shared/data/gtzan-part); WORK_DIR holds the
# arm64 root file system (default /var/tmp/genre-tagger-arm64, reused on later runs).
# Emulated time is NOT a Raspberry Pi's time: qemu translates every instruction on a different CPU.
set -euo pipefail
project=$(cd "$(dirname "$0")/.." && pwd)
audio_dir=${1:-$project/../shared/data/gtzan-part}
work=${2:-/var/tmp/genre-tagger-arm64}
root=$work/root
python=${PYTHON:-python3}

need() { command -v "$1" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; }; }
need debootstrap debootstrap
need qemu-aarch64-static qemu-user-static

if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  grep -v '^#' /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register
fi

if [ ! -x "$root/usr/bin/python3" ]; then
  echo "== debootstrap arm64 Debian (bookworm, minbase + python3) into $root"
  mkdir -p "$work"
  debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" >"$work/debootstrap.log"  # debootstrap's default mirror
fi

echo "== the tagger's wheel and its light dependencies (aarch64 wheels from the package index)"
rm -rf "$root/opt/wheels" && mkdir -p "$root/opt/wheels"
"$python" -m pip wheel -q --no-deps "$project" -w "$root/opt/wheels"
py_version=$(chroot "$root" python3 -c 'import sys; print(f"{sys.version_info[0]}{sys.version_info[1]}")')
"$python" -m pip download -q --only-binary=:all: --python-version "$py_version" --implementation cp \
  --platform manylinux_2_28_aarch64 --platform manylinux_2_27_aarch64 --platform manylinux_2_17_aarch64 \
  --platform manylinux2014_aarch64 -d "$root/opt/wheels" "$root"/opt/wheels/genre_tagger-*.whl  # its dependencies
if [ ! -x "$root/opt/tagger/bin/tagger" ]; then
  chroot "$root" python3 -m venv /opt/tagger
fi
chroot "$root" /opt/tagger/bin/pip install -q --no-index --find-links /opt/wheels --force-reinstall genre-tagger
echo "installed size of the tagger's environment on arm64: $(du -sh "$root/opt/tagger" | cut -f1) (no torch)"

echo "== the same files on both architectures"
rm -rf "$work/files" && mkdir -p "$work/files"
# One track of each genre (GTZAN names: genre.number.mp3), writable: the shared data is read-only.
find "$audio_dir" -name '*.mp3' | sort | awk -F/ '{ g = $NF; sub(/\..*/, "", g); if (!(g in seen)) { seen[g] = 1; print } }' \
  | head -n "${TRACKS:-6}" | while read -r f; do cp "$f" "$work/files/"; done
chmod -R u+w "$work/files"
rm -rf "$root/files" && cp -r "$work/files" "$root/files"
mkdir -p "$work/x86" && rm -rf "$work/x86/files" && cp -r "$work/files" "$work/x86/files"

"$python" "$project/benchmarks/arm64_compare.py" --root "$root" --x86-files "$work/x86/files" --work "$work"
