#!/usr/bin/env bash
# Builds the test-only independent verifiers once into target/verifiers/:
#   target/verifiers/cosign-verify   (tests/verifiers/cosign-verify: the sigstore crate)
# They are separate cargo projects, not members of boxwright's workspace, with their own lock
# files: the sigstore crate pulls in ~400 crates and takes minutes to build cold, so it is
# built here once per machine and skipped while its sources are older than the binary.
# Usage: scripts/build-verifiers.sh [--force]   (CARGO_BUILD_JOBS limits the parallel jobs)
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/verifiers
mkdir -p "$out"

build() {
  local name=$1 dir=tests/verifiers/$1
  local binary=$out/$name
  if [ "${2:-}" != --force ] && [ -x "$binary" ] &&
    [ -z "$(find "$dir" -path "$dir/target" -prune -o -type f -newer "$binary" -print -quit)" ]; then
    echo "== $name is up to date ($binary)"
    return
  fi
  echo "== building $name (several minutes when cold)"
  local start=$SECONDS
  CARGO_TARGET_DIR="$PWD/$out/build" cargo build --locked --manifest-path "$dir/Cargo.toml"
  cp "$out/build/debug/$name" "$binary.tmp"
  mv "$binary.tmp" "$binary"
  echo "== $name built in $((SECONDS - start)) s: $binary"
}

build cosign-verify "${1:-}"
