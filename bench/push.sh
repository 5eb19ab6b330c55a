#!/usr/bin/env bash
# Benchmark of `boxwright image push` against `skopeo copy` from the same OCI layout to a
# local registry (Debian's docker-registry, plain http on 127.0.0.1):
#
#   - fresh push: every blob really uploaded into an empty registry;
#   - no-op re-push: the same image again, to the repository that already holds all of it.
#
# Builds boxwright in release mode, copies about 300 MB of real files from /usr/lib and
# /usr/share into a throw-away project whose one target uses that tree as its image's rootfs
# overlay, and builds one gzip OCI layout from it with `boxwright image build`. Then, for each
# of three runs and each tool, starts the registry on a new free port with empty storage (not
# timed), times a fresh push to a new repository and a re-push to it, and stops the registry.
# Keeps the best time of each. The new port and a throw-away HOME keep skopeo's blob-info cache
# (which, as root, lives in /var/lib/containers/cache) from offering blobs to mount. The
# registry's storage size after each fresh push proves the bytes were really uploaded. A last,
# untimed pass with the registry's access log on counts the requests each no-op re-push makes.
#
# Usage: bench/push.sh            (BENCH_MB=N changes the amount of data, default 300)
# Needs: docker-registry skopeo curl python3 (Debian packages of the same names).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
target_mb=${BENCH_MB:-300}
runs=3

require_tools docker-registry skopeo curl python3

build_boxwright

tmp=$(mktemp -d "${TMPDIR:-/tmp}/boxwright-push-bench.XXXXXX")
registry_pid=""
cleanup() {
  if [ -n "$registry_pid" ]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- test data and the one layout both tools push --------------------------------------------

image_bench_project "$tmp" "$target_mb"
used=$(du -sm "$tmp/.out/bench/tree" | cut -f1)
echo "== building the OCI layout (gzip)" >&2
export SOURCE_DATE_EPOCH=0
layout=$tmp/layout
"$bin" --project "$tmp" -q image build bench --format oci -o "$layout" >/dev/null
# `image build` names the image after the target's version; read the name back to be sure.
ref_name=$(python3 -c '
import json, sys
names = [m.get("annotations", {}).get("org.opencontainers.image.ref.name")
         for m in json.load(open(sys.argv[1]))["manifests"]]
print(names[0] if len(names) == 1 and names[0] else "")
' "$layout/index.json")
if [ -z "$ref_name" ]; then
  echo "error: $layout/index.json does not name exactly one image" >&2
  exit 1
fi
# The largest blob of the layout: its (only) layer.
layer_bytes=$(find "$layout/blobs" -type f -printf '%s\n' | sort -n | tail -1)
layout_bytes=$(find "$layout/blobs" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
layer_mb=$(awk -v b="$layer_bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
echo "layer: ${layer_mb} MB (${layer_bytes} bytes), image ${ref_name}" >&2

# --- the registry ----------------------------------------------------------------------------

registry_dir=$tmp/registry
registry_log=$tmp/registry.log
used_ports=" "
# Starts docker-registry with empty storage on a free port not used before (so no client cache
# knows it) and waits until it answers; sets $port. With "access", logs every request.
start_registry() {
  local access_disabled=true i
  if [ "${1:-}" = access ]; then access_disabled=false; fi
  while :; do
    port=$(python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
    case $used_ports in *" $port "*) ;; *) break ;; esac
  done
  used_ports="$used_ports$port "
  rm -rf "$registry_dir"
  mkdir -p "$registry_dir/storage"
  cat >"$registry_dir/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: $access_disabled
storage:
  filesystem:
    rootdirectory: $registry_dir/storage
http:
  addr: 127.0.0.1:$port
EOF
  docker-registry serve "$registry_dir/config.yml" >"$registry_log" 2>&1 &
  registry_pid=$!
  for ((i = 0; i < 100; i++)); do
    if curl -sf "http://127.0.0.1:$port/v2/" >/dev/null; then return 0; fi
    if ! kill -0 "$registry_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "error: docker-registry did not start on 127.0.0.1:$port:" >&2
  cat "$registry_log" >&2
  exit 1
}
stop_registry() {
  kill "$registry_pid"
  wait "$registry_pid" 2>/dev/null || true
  registry_pid=""
}
# Bytes under the registry's storage.
stored_bytes() { du -sb "$registry_dir/storage" | cut -f1; }

# --- the contenders --------------------------------------------------------------------------

push_boxwright() { "$bin" -q image push "$layout" "127.0.0.1:$port/$1" >/dev/null; }
push_skopeo() {
  # A throw-away HOME per run: no blob-info cache or configuration carried between runs.
  HOME=$tmp/skopeo-home XDG_DATA_HOME=$tmp/skopeo-home/data \
    XDG_CONFIG_HOME=$tmp/skopeo-home/config \
    skopeo copy -q --dest-tls-verify=false "oci:$layout:$ref_name" "docker://127.0.0.1:$port/$1"
}

# The registry is reset between runs, so best_time's own loop does not fit: prints the
# wall-clock time of one run of "$@" in seconds, and logs it to stderr.
time_once() {
  local start end t
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  t=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
  echo "  $* (run $r): ${t} s" >&2
  echo "$t"
}
# The smaller of two times; an empty first one counts as none yet.
min_time() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'; }

# Checks that a fresh push left at least the whole layout in the registry's storage.
check_stored() {
  local stored
  stored=$(stored_bytes)
  echo "  registry storage after $1 fresh push: ${stored} bytes (layout blobs: ${layout_bytes})" >&2
  if [ "$stored" -lt "$layout_bytes" ]; then
    echo "error: the registry holds less than the layout after $1's fresh push" >&2
    exit 1
  fi
  if [ -z "$stored_fresh" ]; then stored_fresh=$stored; fi
}

echo "== warming the page cache" >&2
cat "$layout"/blobs/sha256/* >/dev/null

echo "== timing (best of $runs)" >&2
t_bw_fresh="" t_sk_fresh="" t_bw_again="" t_sk_again="" stored_fresh=""
for ((r = 1; r <= runs; r++)); do
  rm -rf "$tmp/skopeo-home"
  start_registry
  t=$(time_once push_boxwright "bw-fresh-$r:v1")
  t_bw_fresh=$(min_time "$t_bw_fresh" "$t")
  check_stored boxwright
  t=$(time_once push_boxwright "bw-fresh-$r:v1")
  t_bw_again=$(min_time "$t_bw_again" "$t")
  stop_registry

  start_registry
  t=$(time_once push_skopeo "sk-fresh-$r:v1")
  t_sk_fresh=$(min_time "$t_sk_fresh" "$t")
  check_stored skopeo
  t=$(time_once push_skopeo "sk-fresh-$r:v1")
  t_sk_again=$(min_time "$t_sk_again" "$t")
  stop_registry
done

# --- requests per no-op re-push (untimed, access log on) -------------------------------------

# Prints how many requests "$@" makes, in all and by method, from the registry's access log.
requests_of() {
  local before
  before=$(wc -l <"$registry_log")
  "$@" >/dev/null
  sleep 0.2 # the registry logs a request after answering it
  tail -n +$((before + 1)) "$registry_log" | grep -o '"[A-Z]* /v2/[^ ]* HTTP' |
    awk '{ n[substr($1, 2)]++; all++ }
      END { printf "%d:", all; for (m in n) printf " %s %d", m, n[m] }'
}
echo "== counting the requests of a no-op re-push (access log on)" >&2
rm -rf "$tmp/skopeo-home"
start_registry access
push_boxwright bw-diag:v1
q_bw_again=$(requests_of push_boxwright bw-diag:v1)
push_skopeo sk-diag:v1
q_sk_again=$(requests_of push_skopeo sk-diag:v1)
stop_registry

echo
echo "layer: ${layer_mb} MB (${layer_bytes} bytes, gzip) from ${used} MB of files; $(nproc) cores"
echo "registry storage after a fresh push: ${stored_fresh} bytes"
printf '%-36s %9s  %s\n' "" "best (s)" "requests"
printf '%-36s %9s  %s\n' "boxwright image push, fresh" "$t_bw_fresh" "-"
printf '%-36s %9s  %s\n' "skopeo copy, fresh" "$t_sk_fresh" "-"
printf '%-36s %9s  %s\n' "boxwright image push, no-op re-push" "$t_bw_again" "$q_bw_again"
printf '%-36s %9s  %s\n' "skopeo copy, no-op re-push" "$t_sk_again" "$q_sk_again"
echo "skopeo_time/boxwright_time, fresh: $(ratio "$t_sk_fresh" "$t_bw_fresh")" \
  "(goal: >= 1, fresh push at least as fast as skopeo)"
echo "skopeo_time/boxwright_time, no-op: $(ratio "$t_sk_again" "$t_bw_again")" \
  "(goal: >= 1, no-op re-push no slower than skopeo's)"
result "image push, fresh" "$t_bw_fresh s" "skopeo copy" "$t_sk_fresh s" \
  "$(ratio "$t_sk_fresh" "$t_bw_fresh")" ">= 1"
result "image push, no-op re-push" "$t_bw_again s" "skopeo copy" "$t_sk_again s" \
  "$(ratio "$t_sk_again" "$t_bw_again")" ">= 1"
