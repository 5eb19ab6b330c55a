#!/usr/bin/env bash
# Benchmark of `boxwright plan` against seed 002's shell (curl + jq, one request after the
# other) on the same input: a fake GitHub releases API (a static JSON file served by Python's
# http.server on 127.0.0.1) listing 10 versions, and a local registry (Debian's
# docker-registry) that holds 5 of them. Both answer "which of the newest 10 versions are
# missing, for 2 architectures": boxwright asks the registry with parallel HEAD requests;
# the shell does what seed 002's infos job does, one `curl -I` per version.
#
# Prints the best of five wall times, the ratio, and the requests each made (from the access
# logs). Needs docker-registry, curl, jq, python3 (Debian packages of the same names).
#
# Usage: bench/plan.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
runs=5

require_tools docker-registry curl jq python3
build_boxwright

tmp=$(mktemp -d "${TMPDIR:-/tmp}/boxwright-bench.XXXXXX")
cleanup() {
  [ -n "${registry_pid:-}" ] && kill "$registry_pid" 2>/dev/null
  [ -n "${api_pid:-}" ] && kill "$api_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The fake API: /repos/acme/app/releases (the query string is ignored by http.server).
versions=(1.10.0 1.9.3 1.9.2 1.9.1 1.9.0 1.8.1 1.8.0 1.7.0 1.6.2 1.6.0)
mkdir -p "$tmp/api/repos/acme/app"
printf '%s\n' "${versions[@]}" | jq -R '{tag_name: ("v" + .), draft: false, prerelease: false}' |
  jq -s . >"$tmp/api/repos/acme/app/releases"
api_port=$(free_port)
(cd "$tmp/api" && exec python3 -m http.server --bind 127.0.0.1 "$api_port" >"$tmp/api.log" 2>&1) &
api_pid=$!

# The registry, with 5 of the versions present (one small image pushed under each tag).
port=$(free_port)
mkdir -p "$tmp/registry"
cat >"$tmp/registry/config.yml" <<EOC
version: 0.1
log:
  level: error
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $tmp/registry/storage
http:
  addr: 127.0.0.1:$port
EOC
docker-registry serve "$tmp/registry/config.yml" >"$tmp/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && curl -sf "http://127.0.0.1:$api_port/repos/acme/app/releases" >/dev/null && break
  sleep 0.1
done

project=$tmp/project
mkdir -p "$project/app/rootfs/etc"
echo hello >"$project/app/rootfs/etc/hello"
cat >"$project/metadata.json" <<EOJ
{
  "app": {
    "upstream": { "github": "acme/app", "api_url": "http://127.0.0.1:$api_port" },
    "image": { "platforms": ["linux/amd64", "linux/arm64"] }
  },
  "seed": { "version_env_var": "V", "env": { "V": "1" }, "image": { "rootfs": "rootfs", "platforms": ["linux/amd64"] } }
}
EOJ
mkdir -p "$project/seed/rootfs"
echo seed >"$project/seed/rootfs/seed"
"$bin" -q --project "$project" image build seed --format oci -o "$tmp/seed-layout" >/dev/null
for v in 1.9.3 1.9.1 1.8.1 1.7.0 1.6.0; do
  "$bin" -q image push "$tmp/seed-layout" "127.0.0.1:$port/bench/app:$v" >/dev/null
done

plan_boxwright() { "$bin" -q --project "$project" --json plan app --registry "127.0.0.1:$port/bench" >"$tmp/plan.json"; }
# Seed 002's infos job: the releases list, then one HEAD per version, then the matrix.
plan_shell() {
  local v code missing=()
  for v in $(curl -sf "http://127.0.0.1:$api_port/repos/acme/app/releases?per_page=10" |
    jq -r '.[] | select(.draft | not) | select(.prerelease | not) | .tag_name | ltrimstr("v")' |
    sort -V -r | head -n 10); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -I \
      -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json' \
      "http://127.0.0.1:$port/v2/bench/app/manifests/$v")
    [ "$code" = 200 ] || missing+=("$v")
  done
  printf '%s\n' "${missing[@]}" | jq -R '{version: ., arch: ("amd64", "arm64")}' | jq -s . >"$tmp/plan-shell.json"
}

requests() { grep -c '"HEAD \|"GET ' "$tmp/registry.log" || true; }
before=$(requests)
plan_boxwright
boxwright_requests=$(($(requests) - before))
before=$(requests)
plan_shell
shell_requests=$(($(requests) - before))

echo "== plan (boxwright)" >&2
t_boxwright=$(best_time plan_boxwright)
echo "== plan (curl + jq, sequential)" >&2
t_shell=$(best_time plan_shell)

builds=$(jq '.matrix | length' "$tmp/plan.json")
shell_builds=$(jq 'length' "$tmp/plan-shell.json")
echo
echo "| plan, 10 versions x 2 architectures, 5 in the registry | seconds | registry requests | builds planned |"
echo "|---|---|---|---|"
echo "| boxwright plan | $t_boxwright | $boxwright_requests | $builds |"
echo "| curl + jq (seed 002) | $t_shell | $shell_requests | $shell_builds |"
echo "ratio (shell / boxwright): $(ratio "$t_shell" "$t_boxwright")"
result "plan, 10 versions x 2 arches" "$t_boxwright s" "curl + jq (seed 002)" "$t_shell s" \
  "$(ratio "$t_shell" "$t_boxwright")" "-"
