#!/usr/bin/env bash
# Side-by-side scanner figures on a real repository (docs/benchmarks.md, "Secret scanning").
#
#   scripts/bench-scan.sh REPO [KINGFISHER_BINARY]
#
# REPO is a git repository (bare or not), e.g. a clone of rust-lang/cargo. Builds Castellan in
# release mode, then measures with /usr/bin/time -v: the full history (fresh data directory,
# so no cache), an unchanged re-scan (cache), the HEAD working tree, and a one-file pre-commit
# scan; and, when given, Kingfisher on the same history and tree (offline: -n --no-update-check).
set -euo pipefail
repo=${1:?usage: bench-scan.sh REPO [KINGFISHER]}
kf=${2:-}
cd "$(dirname "$0")/.."
cargo build --release -p castellan --quiet
bin=$PWD/target/release/castellan
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git --git-dir="$(git -C "$repo" rev-parse --absolute-git-dir)" archive HEAD | tar -x -C "$work" --one-top-level=tree
printf 'GITHUB_TOKEN=ghp_Vb7Nm2Qw9Er4Ty6Ui1Op3As5Df8Gh0Jk2Lz4\n' > "$work/one.env"

measure() { # label, command…
  local label=$1; shift
  /usr/bin/time -v "$@" > /dev/null 2> "$work/time.txt" || true
  awk -v l="$label" -F': ' '
    /Elapsed/ {w=$2} /User time/ {u=$2} /System time/ {s=$2} /Maximum resident/ {r=$2}
    END {printf "%-28s wall %-9s cpu %6.2f s  rss %5.0f MB\n", l, w, u+s, r/1024}' "$work/time.txt"
}
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
measure "castellan history"        "$bin" --data-dir "$work/dd" scan "$repo" --git --no-store --format json --out "$work/h.json"
measure "castellan history (again)" "$bin" --data-dir "$work/dd" scan "$repo" --git --no-store --format json --out "$work/h2.json"
measure "castellan tree"           "$bin" --data-dir "$work/dd" scan "$work/tree" --no-store --format json --out "$work/t.json"
measure "castellan one file"       "$bin" --data-dir "$work/dd" scan "$work/one.env" --no-store --format json --out "$work/o.json"
if [ -n "$kf" ]; then
  measure "kingfisher history" "$kf" scan "$repo" -n --no-update-check -f json -o "$work/kf.json"
  measure "kingfisher tree"    "$kf" scan "$work/tree" -n --no-update-check -f json -o "$work/kft.json"
  measure "kingfisher one file" "$kf" scan "$work/one.env" -n --no-update-check -f json -o "$work/kfo.json"
fi
python3 - "$work" <<'PY'
import json, sys, os
w = sys.argv[1]
h = json.load(open(os.path.join(w, "h.json")))
g = h["roots"][0].get("git") or {}
print(f"castellan history: {g.get('commits')} commits, {g.get('blobs_scanned')} blobs, "
      f"{g.get('bytes_scanned', 0)/1e6:.0f} MB, {len(h['sightings'])} sightings")
h2 = json.load(open(os.path.join(w, "h2.json")))
print(f"castellan re-scan: {h2['roots'][0]['git']['blobs_scanned']} blobs read, {len(h2['sightings'])} sightings")
PY
