#!/usr/bin/env bash
# Benchmark of `boxwright image build --format oci` against other ways of turning a directory
# tree into a compressed, hashed image layer:
#
#   - boxwright, gzip (default level 6, and level 3) and zstd;
#   - umoci insert into a fresh layout (gzip);
#   - buildah from scratch + copy + commit into an OCI layout (vfs storage, gzip);
#   - the bare pipelines `tar | pigz -6 | sha256sum` and `tar | zstd -3 -T0 | sha256sum`.
#
# Builds boxwright in release mode, copies about 300 MB of real files from /usr/lib and
# /usr/share into a throw-away project whose one target uses that tree as its image's rootfs
# overlay, then keeps the best wall-clock time of three runs of each. Also prints the
# compressed layer sizes and boxwright's peak memory (GNU time).
#
# Usage: bench/image.sh            (BENCH_MB=N changes the amount of data, default 300)
# Needs: umoci buildah pigz zstd time (Debian packages of the same names).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
target_mb=${BENCH_MB:-300}
runs=3

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
run_boxwright_gzip3() {
  "$bin" --project "$tmp" -q image build bench --format oci --level 3 -o "$out/bw-gzip3" >/dev/null
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

echo "== timing (best of $runs)" >&2
t_bw_gzip=$(best_time run_boxwright_gzip)
t_bw_gzip3=$(best_time run_boxwright_gzip3)
t_bw_zstd=$(best_time run_boxwright_zstd)
t_umoci=$(best_time run_umoci)
t_buildah=$(best_time run_buildah)
t_pigz=$(best_time run_pigz)
t_zstd=$(best_time run_zstd)

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
s_bw_gzip3=$(layer_size "$out/bw-gzip3")
s_umoci=$(layer_size "$out/umoci")
s_buildah=$(layer_size "$out/buildah")
s_pigz=$(tar -C "$tree" -cf - . | pigz -6 | wc -c)
s_zstd=$(tar -C "$tree" -cf - . | zstd -q -3 -T0 | wc -c)
s_tar=$(tar -C "$tree" -cf - . | wc -c)


echo
echo "input: ${used} MB on disk, ${entries} entries, uncompressed tar ${s_tar} bytes, $(nproc) cores"
printf '%-46s %9s %14s %9s\n' "" "best (s)" "layer bytes" "peak MB"
printf '%-46s %9s %14s %9s\n' "boxwright image build --format oci (gzip)" "$t_bw_gzip" "$s_bw_gzip" "$m_bw_gzip"
printf '%-46s %9s %14s %9s\n' "boxwright image build --level 3 (gzip)" "$t_bw_gzip3" "$s_bw_gzip3" "-"
printf '%-46s %9s %14s %9s\n' "boxwright image build --compression zstd" "$t_bw_zstd" "$s_bw_zstd" "$m_bw_zstd"
printf '%-46s %9s %14s %9s\n' "umoci init + new + insert (gzip)" "$t_umoci" "$s_umoci" "-"
printf '%-46s %9s %14s %9s\n' "buildah from + copy + commit (vfs, gzip)" "$t_buildah" "$s_buildah" "-"
printf '%-46s %9s %14s %9s\n' "tar | pigz -6 | sha256sum" "$t_pigz" "$s_pigz" "-"
printf '%-46s %9s %14s %9s\n' "tar | zstd -3 -T0 | sha256sum" "$t_zstd" "$s_zstd" "-"
echo "umoci_time/boxwright_gzip_time:   $(ratio "$t_umoci" "$t_bw_gzip")"
echo "umoci_time/boxwright_level3_time: $(ratio "$t_umoci" "$t_bw_gzip3")"
echo "buildah_time/boxwright_gzip_time: $(ratio "$t_buildah" "$t_bw_gzip")"
echo "pigz_time/boxwright_gzip_time:    $(ratio "$t_pigz" "$t_bw_gzip")"
echo "zstd_time/boxwright_zstd_time:    $(ratio "$t_zstd" "$t_bw_zstd")"
