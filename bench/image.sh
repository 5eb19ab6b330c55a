#!/usr/bin/env bash
# Benchmark of `boxwright image build --format oci` against other ways of turning a directory
# tree into a compressed, hashed image layer:
#
#   - boxwright, gzip (default level) and zstd;
#   - umoci insert into a fresh layout (gzip);
#   - buildah from scratch + copy + commit into an OCI layout (vfs storage, gzip);
#   - the bare pipelines `tar | pigz -6 | sha256sum` and `tar | zstd -3 -T0 | sha256sum`.
#
# Builds boxwright in release mode, copies about 300 MB of real files from /usr/lib and
# /usr/share into a throw-away project whose one target uses that tree as its image's rootfs
# overlay, then runs the contenders side by side: each round runs every one of them once, in
# turn, so that a load on the machine falls on all of them alike; the best of three rounds
# counts. Also prints the compressed layer sizes and boxwright's peak memory (GNU time), and
# checks the layers with gzip -t and zstd -t.
#
# Usage: bench/image.sh   BENCH_MB=N changes the amount of data (default 300);
#                         BENCH_LEVELS=1 also times every gzip level (1-9), best of 3;
#                         BOXWRIGHT_BIN=PATH uses that binary instead of building one.
# Needs: umoci buildah pigz zstd time (Debian packages of the same names).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
target_mb=${BENCH_MB:-300}
runs=3

install_missing pigz
require_tools umoci buildah pigz zstd /usr/bin/time:time

build_boxwright

tmp=$(mktemp -d "${TMPDIR:-/tmp}/boxwright-image-bench.XXXXXX")
cleanup() {
  # buildah's vfs storage may hold read-only directories.
  chmod -R u+rwX "$tmp" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- test data: whole directories, alternating between /usr/lib and /usr/share ---------------

image_bench_project "$tmp" "$target_mb"
tree=$tmp/.out/bench/tree
used=$(du -sm "$tree" | cut -f1)
entries=$(find "$tree" | wc -l)

# --- the contenders --------------------------------------------------------------------------

export SOURCE_DATE_EPOCH=0
out=$tmp/results
mkdir -p "$out"

run_boxwright_gzip() {
  "$bin" --project "$tmp" -q image build bench --format oci -o "$out/bw-gzip" >/dev/null
}
run_boxwright_zstd() {
  "$bin" --project "$tmp" -q image build bench --format oci --compression zstd \
    -o "$out/bw-zstd" >/dev/null
}
reset_umoci() { rm -rf "$out/umoci"; }
run_umoci() {
  umoci init --layout "$out/umoci"
  umoci new --image "$out/umoci:bench"
  umoci insert --image "$out/umoci:bench" "$tree" / >/dev/null
}
buildah_store=(--storage-driver vfs --root "$tmp/buildah/root" --runroot "$tmp/buildah/run")
reset_buildah() {
  chmod -R u+rwX "$tmp/buildah" 2>/dev/null || true
  rm -rf "$tmp/buildah" "$out/buildah"
}
run_buildah() {
  local container
  container=$(buildah "${buildah_store[@]}" from scratch)
  buildah "${buildah_store[@]}" copy "$container" "$tree" / >/dev/null
  buildah "${buildah_store[@]}" commit --quiet --format oci --disable-compression=false \
    "$container" "oci:$out/buildah:bench" >/dev/null
}
run_pigz() { tar -C "$tree" -cf - . | pigz -6 | sha256sum >/dev/null; }
run_zstd() { tar -C "$tree" -cf - . | zstd -q -3 -T0 | sha256sum >/dev/null; }


echo "== warming the page cache" >&2
tar -C "$tree" -cf - . >/dev/null

# Runs every contender once per round, in turn, and keeps each one's best time in
# best[NAME]; contender NAME is the function run_NAME.
declare -A best
contenders=(boxwright_gzip umoci boxwright_zstd buildah pigz zstd)
echo "== timing (best of $runs rounds, contenders side by side)" >&2
for ((r = 1; r <= runs; r++)); do
  for name in "${contenders[@]}"; do
    if declare -F "reset_${name#run_}" >/dev/null; then "reset_${name#run_}"; fi
    start=$(date +%s.%N)
    "run_$name"
    end=$(date +%s.%N)
    t=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
    echo "  round $r: $name ${t} s" >&2
    if [ -z "${best[$name]:-}" ] || awk -v t="$t" -v b="${best[$name]}" 'BEGIN { exit !(t < b) }'; then
      best[$name]=$t
    fi
  done
done
t_bw_gzip=${best[boxwright_gzip]}
t_bw_zstd=${best[boxwright_zstd]}
t_umoci=${best[umoci]}
t_buildah=${best[buildah]}
t_pigz=${best[pigz]}
t_zstd=${best[zstd]}

# --- peak memory -----------------------------------------------------------------------------

# Prints the peak resident set size, in MB, of one run of "$@".
peak_mb() {
  local log=$tmp/time.log
  /usr/bin/time -v -o "$log" "$@" >/dev/null
  awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$log"
}
m_bw_gzip=$(peak_mb "$bin" --project "$tmp" -q image build bench --format oci -o "$out/bw-gzip")
m_bw_zstd=$(peak_mb "$bin" --project "$tmp" -q image build bench --format oci \
  --compression zstd -o "$out/bw-zstd")

# --- sizes and sanity checks -----------------------------------------------------------------

# The largest blob of a layout: its (only) layer.
layer_of() { find "$1/blobs" -type f -printf '%s %p\n' | sort -n | tail -1; }
layer_size() { layer_of "$1" | cut -d' ' -f1; }
gzip -t "$(layer_of "$out/bw-gzip" | cut -d' ' -f2)"
zstd -q -t "$(layer_of "$out/bw-zstd" | cut -d' ' -f2)"
s_bw_gzip=$(layer_size "$out/bw-gzip")
s_bw_zstd=$(layer_size "$out/bw-zstd")
s_umoci=$(layer_size "$out/umoci")
s_buildah=$(layer_size "$out/buildah")
s_pigz=$(tar -C "$tree" -cf - . | pigz -6 | wc -c)
s_zstd=$(tar -C "$tree" -cf - . | zstd -q -3 -T0 | wc -c)
s_tar=$(tar -C "$tree" -cf - . | wc -c)


echo
echo "input: ${used} MB on disk, ${entries} entries, uncompressed tar ${s_tar} bytes, $(nproc) cores"
printf '%-46s %9s %14s %9s\n' "" "best (s)" "layer bytes" "peak MB"
printf '%-46s %9s %14s %9s\n' "boxwright image build --format oci (gzip)" "$t_bw_gzip" "$s_bw_gzip" "$m_bw_gzip"
printf '%-46s %9s %14s %9s\n' "boxwright image build --compression zstd" "$t_bw_zstd" "$s_bw_zstd" "$m_bw_zstd"
printf '%-46s %9s %14s %9s\n' "umoci init + new + insert (gzip)" "$t_umoci" "$s_umoci" "-"
printf '%-46s %9s %14s %9s\n' "buildah from + copy + commit (vfs, gzip)" "$t_buildah" "$s_buildah" "-"
printf '%-46s %9s %14s %9s\n' "tar | pigz -6 | sha256sum" "$t_pigz" "$s_pigz" "-"
printf '%-46s %9s %14s %9s\n' "tar | zstd -3 -T0 | sha256sum" "$t_zstd" "$s_zstd" "-"
echo "umoci_time/boxwright_gzip_time:   $(ratio "$t_umoci" "$t_bw_gzip")"
echo "buildah_time/boxwright_gzip_time: $(ratio "$t_buildah" "$t_bw_gzip")"
echo "pigz_time/boxwright_gzip_time:    $(ratio "$t_pigz" "$t_bw_gzip")"
echo "zstd_time/boxwright_zstd_time:    $(ratio "$t_zstd" "$t_bw_zstd")"

size_ok=yes
[ "$s_bw_gzip" -le "$s_umoci" ] || size_ok=no
echo "gzip layer no larger than umoci's: $size_ok ($s_bw_gzip vs $s_umoci bytes)"
r_umoci=$(ratio "$t_umoci" "$t_bw_gzip")
# The goal counts only with a layer no larger than umoci's.
[ "$size_ok" = yes ] || r_umoci="$r_umoci (larger layer)"
result "image build, gzip layer" "$t_bw_gzip s" "umoci insert" "$t_umoci s" "$r_umoci" ">= 1.5"
# zstd's goal is not to regress (its path is the same as before the libdeflate engine).
result "image build, zstd layer" "$t_bw_zstd s" "tar | zstd -3 -T0" "$t_zstd s" \
  "$(ratio "$t_zstd" "$t_bw_zstd")" "-"
result "image build, peak memory" "$m_bw_gzip MB" "goal" "100 MB" "$(ratio 100 "$m_bw_gzip")" ">= 1"

# --- every gzip level (optional) -------------------------------------------------------------

if [ "${BENCH_LEVELS:-0}" = 1 ]; then
  echo
  printf '%-8s %9s %14s %12s\n' "level" "best (s)" "layer bytes" "vs umoci"
  for level in 1 2 3 4 5 6 7 8 9; do
    run_level() {
      "$bin" --project "$tmp" -q image build bench --format oci --level "$level" \
        -o "$out/bw-level" >/dev/null
    }
    t=$(best_time run_level)
    s=$(layer_size "$out/bw-level")
    printf '%-8s %9s %14s %12s\n' "$level" "$t" "$s" "$(ratio "$t_umoci" "$t")x $(ratio "$s" "$s_umoci")"
    rm -rf "$out/bw-level"
  done
fi
