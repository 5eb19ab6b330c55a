#!/usr/bin/env bash
# Benchmark of `boxwright sbom` on an OCI image of about 300 MB of real files (the tree of
# bench/image.sh), against syft when it is installed, else against hashing the same files
# with coreutils (`find -type f | xargs sha256sum`).
#
# boxwright reads the image as it is published: it checks every layer's digest, gunzips the
# layer once and computes SHA-256 and SHA-1 of every regular file on the way (SPDX 2.3
# needs both), then writes the document. The coreutils line hashes the files already
# unpacked on disk, SHA-256 only: a floor, not a competitor. syft (`syft scan
# oci-dir:LAYOUT`) catalogues packages as well as files; it is not a Debian package (and the
# PyPI `syft` is an unrelated project), so here it runs only when it is on PATH.
#
# Prints the best wall-clock time of three runs and the peak memory (GNU time) of each, and
# the ratios.
#
# Usage: bench/sbom.sh           BENCH_MB=N changes the amount of data (default 300);
#                                BOXWRIGHT_BIN=PATH uses that binary instead of building
#                                boxwright in release mode.
# Needs: time (Debian package of the same name).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
target_mb=${BENCH_MB:-300}
runs=3

require_tools /usr/bin/time:time

build_boxwright

tmp=$(mktemp -d "${TMPDIR:-/tmp}/boxwright-sbom-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- test data: the image bench tree, built into an OCI layout -------------------------------

image_bench_project "$tmp" "$target_mb"
tree=$tmp/.out/bench/tree
used=$(du -sm "$tree" | cut -f1)
files=$(find "$tree" -type f | wc -l)
export SOURCE_DATE_EPOCH=0
layout=$tmp/image
"$bin" --project "$tmp" -q image build bench --format oci -o "$layout" >/dev/null
layer_bytes=$(find "$layout/blobs" -type f -printf '%s\n' | sort -n | tail -1)

# --- the contenders --------------------------------------------------------------------------

out=$tmp/results
mkdir -p "$out"
run_spdx() { "$bin" --project "$tmp" -q sbom "$layout" --format spdx-json -o "$out/bw.spdx.json"; }
run_cyclonedx() {
  "$bin" --project "$tmp" -q sbom "$layout" --format cyclonedx-json -o "$out/bw.cdx.json"
}
run_sha256sum() { (cd "$tree" && find . -type f -print0 | xargs -0 sha256sum >"$out/sums"); }
have_syft=false
if command -v syft >/dev/null; then
  have_syft=true
fi
run_syft() { syft scan "oci-dir:$layout" -q -o "spdx-json=$out/syft.spdx.json"; }

echo "== warming the page cache" >&2
cat "$layout"/blobs/sha256/* >/dev/null
tar -C "$tree" -cf - . >/dev/null

echo "== timing (best of $runs)" >&2
t_spdx=$(best_time run_spdx)
t_cyclonedx=$(best_time run_cyclonedx)
t_sha256sum=$(best_time run_sha256sum)
t_syft=-
if $have_syft; then
  t_syft=$(best_time run_syft)
fi

# --- peak memory -----------------------------------------------------------------------------

# Prints the peak resident set size, in MB, of one run of "$@".
peak_mb() {
  local log=$tmp/time.log
  /usr/bin/time -v -o "$log" "$@" >/dev/null
  awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$log"
}
m_spdx=$(peak_mb "$bin" --project "$tmp" -q sbom "$layout" --format spdx-json -o "$out/bw.spdx.json")
m_cyclonedx=$(peak_mb "$bin" --project "$tmp" -q sbom "$layout" --format cyclonedx-json \
  -o "$out/bw.cdx.json")
m_sha256sum=$(peak_mb bash -c "cd '$tree' && find . -type f -print0 | xargs -0 sha256sum")
m_syft=-
if $have_syft; then
  m_syft=$(peak_mb syft scan "oci-dir:$layout" -q -o "spdx-json=$out/syft.spdx.json")
fi

# --- sanity: boxwright's digests are coreutils' ----------------------------------------------

awk '{ sub(/^\.\//, "", $2); print $1 "  " $2 }' "$out/sums" | sort >"$out/sums.sorted"
python3 - "$out/bw.spdx.json" <<'EOF' | sort >"$out/bw.sorted"
import json, sys
for f in json.load(open(sys.argv[1]))["files"]:
    sha256 = next(c["checksumValue"] for c in f["checksums"] if c["algorithm"] == "SHA256")
    print(f"{sha256}  {f['fileName'][2:]}")
EOF
# The image has the tree below usr/ as the overlay put it; compare digests only.
if ! diff <(cut -d' ' -f1 "$out/sums.sorted" | sort) <(cut -d' ' -f1 "$out/bw.sorted" | sort) >/dev/null; then
  echo "error: boxwright's file digests differ from sha256sum's" >&2
  exit 1
fi
documented=$(wc -l <"$out/bw.sorted")

echo
echo "input: ${used} MB on disk, ${files} files (${documented} in the SBOM), gzip layer ${layer_bytes} bytes, $(nproc) cores"
printf '%-58s %9s %9s\n' "" "best (s)" "peak MB"
printf '%-58s %9s %9s\n' "boxwright sbom LAYOUT --format spdx-json (SHA-256 + SHA-1)" "$t_spdx" "$m_spdx"
printf '%-58s %9s %9s\n' "boxwright sbom LAYOUT --format cyclonedx-json" "$t_cyclonedx" "$m_cyclonedx"
printf '%-58s %9s %9s\n' "find -type f | xargs sha256sum (unpacked tree)" "$t_sha256sum" "$m_sha256sum"
if $have_syft; then
  printf '%-58s %9s %9s\n' "syft scan oci-dir:LAYOUT -o spdx-json" "$t_syft" "$m_syft"
  echo "syft_time/boxwright_spdx_time:      $(ratio "$t_syft" "$t_spdx")"
else
  echo "syft: not installed (no Debian package; the PyPI 'syft' is PySyft), not compared"
fi
echo "sha256sum_time/boxwright_spdx_time: $(ratio "$t_sha256sum" "$t_spdx")"
if $have_syft; then
  result "sbom, SPDX of a 300 MB image" "$t_spdx s" "syft scan" "$t_syft s" \
    "$(ratio "$t_syft" "$t_spdx")" "-"
fi
result "sbom, SPDX of a 300 MB image" "$t_spdx s" "sha256sum (floor)" "$t_sha256sum s" \
  "$(ratio "$t_sha256sum" "$t_spdx")" "-"
echo "document sizes: spdx $(wc -c <"$out/bw.spdx.json") bytes, cyclonedx $(wc -c <"$out/bw.cdx.json") bytes"
