#!/usr/bin/env bash
# Benchmark of `boxwright release package` against `tar | gzip -6` and `tar | pigz -6`.
#
# Builds boxwright in release mode, copies about 200 MB of real files from /usr/lib and
# /usr/share into a throw-away project, then times three runs of each way of producing a
# hashed .tar.gz and keeps the best. Needs pigz (Debian package `pigz`, installed here when
# missing and apt-get is at hand). Goal: at least as fast as `tar | pigz -6`, output no larger.
#
# Usage: bench/release.sh   BENCH_MB=N changes the amount of data (default 200);
#                           BOXWRIGHT_BIN=PATH uses that binary instead of building one.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
target_mb=${BENCH_MB:-200}
runs=3

install_missing pigz
require_tools pigz

build_boxwright

tmp=$(mktemp -d "${TMPDIR:-/tmp}/boxwright-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
out=$tmp/release
data=$tmp/.out/bench/data
mkdir -p "$out" "$data/lib" "$data/share"

cat >"$tmp/metadata.json" <<'EOF'
{
  "bench": {
    "version_env_var": "BENCH_VERSION",
    "release_files": ["data/"],
    "env": { "BENCH_VERSION": "1.0.0" }
  }
}
EOF

# --- test data: whole directories, alternating between /usr/lib and /usr/share ---------------

fill_tree "$data" "$target_mb"
used_mb() { du -sm "$data" | cut -f1; }
# Devices, FIFOs and sockets have no place in a release archive; make sure everything copied
# is readable by us even where the source's modes were unusual.
find "$data" \( -type b -o -type c -o -type p -o -type s \) -delete
chmod -R u+rwX "$data"

used=$(used_mb)
files=$(find "$data" | wc -l)
if [ "$used" -lt "$target_mb" ]; then
  echo "warning: only ${used} MB of data found" >&2
fi
echo "data: ${used} MB, ${files} entries in $data" >&2

# --- timing ----------------------------------------------------------------------------------

export SOURCE_DATE_EPOCH=0
src=$tmp/.out/bench

run_boxwright() { "$bin" --project "$tmp" -q release package bench-1.0.0.0 -o "$out" >/dev/null; }
run_gzip() { tar -C "$src" -cf - data | gzip -6 | sha256sum >/dev/null; }
run_pigz() { tar -C "$src" -cf - data | pigz -6 | sha256sum >/dev/null; }


echo "== warming the page cache" >&2
tar -C "$src" -cf - data >/dev/null

echo "== timing (best of $runs)" >&2
t_boxwright=$(best_time run_boxwright)
t_gzip=$(best_time run_gzip)
t_pigz=$(best_time run_pigz)

# --- sizes and a sanity check ----------------------------------------------------------------

archive=$out/bench-1.0.0.0.tar.gz
gzip -t "$archive"
(cd "$out" && sha256sum --quiet -c bench-1.0.0.0.tar.gz.sha256)
size_boxwright=$(stat -c %s "$archive")
size_gzip=$(tar -C "$src" -cf - data | gzip -6 | wc -c)
size_pigz=$(tar -C "$src" -cf - data | pigz -6 | wc -c)
size_tar=$(tar -C "$src" -cf - data | wc -c)


echo
echo "input: ${used} MB on disk, ${files} entries, uncompressed tar ${size_tar} bytes, $(nproc) cores"
printf '%-28s %10s %14s\n' "" "best (s)" "output bytes"
printf '%-28s %10s %14s\n' "boxwright release package" "$t_boxwright" "$size_boxwright"
printf '%-28s %10s %14s\n' "tar | gzip -6 | sha256sum" "$t_gzip" "$size_gzip"
printf '%-28s %10s %14s\n' "tar | pigz -6 | sha256sum" "$t_pigz" "$size_pigz"
echo "gzip_time/boxwright_time: $(ratio "$t_gzip" "$t_boxwright")"
echo "pigz_time/boxwright_time: $(ratio "$t_pigz" "$t_boxwright")"
r_pigz=$(ratio "$t_pigz" "$t_boxwright")
# The goal counts only with an archive no larger than pigz's.
[ "$size_boxwright" -le "$size_pigz" ] || r_pigz="$r_pigz (larger output)"
result "release package (.tar.gz)" "$t_boxwright s" "tar | pigz -6" "$t_pigz s" "$r_pigz" ">= 1"
result "release package (.tar.gz)" "$t_boxwright s" "tar | gzip -6" "$t_gzip s" \
  "$(ratio "$t_gzip" "$t_boxwright")" "-"
