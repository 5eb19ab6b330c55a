#!/usr/bin/env bash
# Benchmark of `boxwright build --all` on the seed 000 example project (examples/seed000:
# zlib, pcre2, OpenSSL, musl's crypt, nginx, dnsmasq from Debian's orig tarballs).
#
# Builds boxwright in release mode, fetches the orig tarballs once (scripts/debian-sources.sh),
# then in a fresh copy of the project:
#   - cold: `build --all -j 2` with empty outputs and caches (the tarballs pre-seeded in .tmp/);
#   - warm: `build --all -j 2` again with nothing changed (best of three): every target must be
#     up to date. Goal: under 1 s.
#   - one change: zlib's recipe edited, so zlib and nginx are rebuilt and nothing else.
# Prints the three times. There is no peer tool here: the seed's own pipeline rebuilds every
# target in docker buildx each time.
#
# Usage: bench/build.sh [SOURCES_DIR]   (default: a directory under /tmp, kept between runs)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
runs=3
sources=${1:-${TMPDIR:-/tmp}/boxwright-debian-sources}

require_tools bwrap:bubblewrap musl-gcc:musl-tools make perl pkg-config apt-get:apt

build_boxwright
bash "$root/scripts/debian-sources.sh" "$sources" >&2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/boxwright-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
project=$tmp/seed000
cp -a "$root/examples/seed000" "$project"
rm -rf "$project/.tmp" "$project/.cache" "$project/.out"
mkdir -p "$project/.tmp"
cp "$sources"/*.orig.tar.* "$project/.tmp/"
export SOURCE_DATE_EPOCH=1700000000

build_all() { "$bin" -q --project "$project" build --all -j 2 >/dev/null; }

echo "== cold build --all (best of 1)" >&2
cold=$(runs=1 best_time build_all)
echo "== warm build --all, nothing changed" >&2
warm=$(best_time build_all)
echo "# touched" >>"$project/zlib/build.sh"
echo "== zlib's recipe changed" >&2
changed=$(runs=1 best_time build_all)
rebuilt=$("$bin" --project "$project" --json build --all | grep -c '"status": "built"' || true)

goal=$(awk -v w="$warm" 'BEGIN { print (w < 1.0) ? "met" : "not met" }')
echo
echo "| build --all (seed 000, 6 targets) | seconds |"
echo "|---|---|"
echo "| cold | $cold |"
echo "| warm, nothing changed (goal < 1 s: $goal) | $warm |"
echo "| zlib recipe changed (zlib and nginx rebuilt) | $changed |"
echo "(a further run rebuilt $rebuilt targets)"
result "build --all, warm (seed 000)" "$warm s" "goal" "1 s" "$(ratio 1 "$warm")" ">= 1"
result "build --all, cold (seed 000)" "$cold s" "-" "-" "-" "-"
