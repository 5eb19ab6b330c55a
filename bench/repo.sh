#!/usr/bin/env bash
# Benchmark of the package repository: `boxwright repo index` over 1,000 apk and 1,000 deb
# packages, then GET throughput of the APKINDEX and of one package from `boxwright serve`,
# side by side with `python3 -m http.server` on the same tree (a floor), measured with wrk;
# and the peak memory (VmHWM) of both servers under that load.
#
# The packages are real: one target with 999 subpackages, written by `boxwright package`
# (apk signed with an RSA key, deb), indexed by `boxwright repo index` (APKINDEX.tar.gz;
# apt Packages, Release, InRelease signed with an OpenPGP key).
#
# Usage: bench/repo.sh   (BENCH_PACKAGES=N packages per format, default 1000;
#                         BENCH_SECONDS=S per wrk run, default 10; BENCH_CONNECTIONS=C, 32;
#                         BOXWRIGHT_BIN=path to use a built binary instead of building)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
packages=${BENCH_PACKAGES:-1000}
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-32}
runs=1

if ! command -v wrk >/dev/null; then
  echo "== installing wrk (Debian package)" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
require_tools wrk python3 curl

if [ -n "${BOXWRIGHT_BIN:-}" ]; then
  bin=$BOXWRIGHT_BIN
else
  build_boxwright
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/boxwright-bench-repo.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- packages -------------------------------------------------------------------------
echo "== writing $packages apk and $packages deb packages" >&2
project=$tmp/project
mkdir -p "$project/.out/bench/bin" "$tmp/keys"
printf '#!/bin/sh\necho bench\n' >"$project/.out/bench/bin/bench"
chmod 755 "$project/.out/bench/bin/bench"
python3 - "$project" "$packages" <<'PY'
import json, os, sys
project, n = sys.argv[1], int(sys.argv[2])
subs = {}
for i in range(1, n):
    name = f"s{i:04d}"
    subs[name] = [f"share/bench/{name}/**"]
    d = os.path.join(project, ".out/bench/share/bench", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "data.txt"), "w") as f:
        f.write(f"package {i}\n" * 100)
meta = {"bench": {"version_env_var": "V", "env": {"V": "1.0.0"},
                  "package": {"name": "bench", "description": "benchmark package",
                              "license": "MIT", "maintainer": "Bench <bench@example.invalid>",
                              "subpackages": subs}}}
with open(os.path.join(project, "metadata.json"), "w") as f:
    json.dump(meta, f)
PY
"$bin" key generate --format rsa --bits 2048 -o "$tmp/keys/repo" >/dev/null
"$bin" key generate --format openpgp -o "$tmp/keys/apt" >/dev/null
repo=$tmp/repo
"$bin" -q --project "$project" package bench --format apk --arch x86_64 \
  --key "$tmp/keys/repo.rsa" -o "$repo/3.20/main/x86_64" >/dev/null
"$bin" -q --project "$project" package bench --format deb --arch x86_64 \
  -o "$repo/apt/pool/stable/main" >/dev/null
apks=$(find "$repo/3.20" -name '*.apk' | wc -l)
debs=$(find "$repo/apt" -name '*.deb' | wc -l)
echo "   $apks .apk, $debs .deb" >&2

# --- index ------------------------------------------------------------------------------
echo "== repo index" >&2
start=$(date +%s.%N)
"$bin" -q repo index "$repo" --apk-key "$tmp/keys/repo.rsa" --apt-key "$tmp/keys/apt.key" >/dev/null
end=$(date +%s.%N)
index_time=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
apkindex=3.20/main/x86_64/APKINDEX.tar.gz
package=3.20/main/x86_64/bench-s0001-1.0.0-r0.apk
[ -f "$repo/$apkindex" ] && [ -f "$repo/apt/dists/stable/InRelease" ]

# --- serving ----------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "error: $1 never answered" >&2; exit 2; }
# Requests per second of wrk against URL.
rps() {
  wrk -t2 -c"$connections" -d"${seconds}s" "$1" | awk '/^Requests\/sec:/ { print $2 }'
}
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

printf 'dir: %s\nkeys: { apk: %s, apt: %s }\n' "$repo" "$tmp/keys/repo.rsa" "$tmp/keys/apt.key" >"$tmp/repo.yaml"
port=$(free_port)
"$bin" serve --config "$tmp/repo.yaml" --addr "127.0.0.1:$port" >/dev/null 2>"$tmp/serve.log" &
serve_pid=$!
pids+=("$serve_pid")
wait_for "http://127.0.0.1:$port/$apkindex"
echo "== boxwright serve: wrk -c$connections -d${seconds}s" >&2
serve_index=$(rps "http://127.0.0.1:$port/$apkindex")
serve_package=$(rps "http://127.0.0.1:$port/$package")
serve_hwm=$(hwm_kb "$serve_pid")

pyport=$(free_port)
(cd "$repo" && exec python3 -m http.server --bind 127.0.0.1 "$pyport" >/dev/null 2>&1) &
py_pid=$!
pids+=("$py_pid")
wait_for "http://127.0.0.1:$pyport/$apkindex"
echo "== python3 -m http.server: wrk -c$connections -d${seconds}s" >&2
py_index=$(rps "http://127.0.0.1:$pyport/$apkindex")
py_package=$(rps "http://127.0.0.1:$pyport/$package")
py_hwm=$(hwm_kb "$py_pid")

index_size=$(stat -c %s "$repo/$apkindex")
package_size=$(stat -c %s "$repo/$package")
echo
echo "packages indexed:         $apks apk + $debs deb"
echo "repo index (both):        ${index_time} s"
echo "APKINDEX.tar.gz:          $index_size bytes; package: $package_size bytes"
printf '%-26s %14s %14s %8s\n' "GET requests/s" "boxwright" "python3" "ratio"
printf '%-26s %14s %14s %8s\n' "APKINDEX.tar.gz" "$serve_index" "$py_index" "$(ratio "$serve_index" "$py_index")"
printf '%-26s %14s %14s %8s\n' "one .apk" "$serve_package" "$py_package" "$(ratio "$serve_package" "$py_package")"
printf '%-26s %14s %14s %8s\n' "peak RSS (VmHWM, KiB)" "$serve_hwm" "$py_hwm" "$(ratio "$serve_hwm" "$py_hwm")"

# For bench/all.sh: requests per second (higher is better, so the ratio is ours / theirs).
result "repo index, $apks apk + $debs deb" "${index_time} s" - - - -
result "serve GET APKINDEX.tar.gz" "$serve_index req/s" "python3 -m http.server" "$py_index req/s" "$(ratio "$serve_index" "$py_index")" ">= 1"
result "serve GET one .apk" "$serve_package req/s" "python3 -m http.server" "$py_package req/s" "$(ratio "$serve_package" "$py_package")" ">= 1"
result "serve peak memory under load" "$((serve_hwm / 1024)) MB" "python3 -m http.server" "$((py_hwm / 1024)) MB" "$(ratio "$py_hwm" "$serve_hwm")" -
