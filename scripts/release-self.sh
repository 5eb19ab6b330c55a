#!/usr/bin/env bash
# boxwright releases itself with its own commands: the project in release/ builds boxwright
# from `git archive HEAD` of this checkout as a static musl PIE (in the sandbox, crates
# vendored from Cargo.lock first), verifies it, packs `boxwright-<version>.<revision>.tar.gz`
# and writes the release manifest, signed when BOXWRIGHT_MANIFEST_SIGNING_KEY holds a minisign
# secret key. Usage: bash scripts/release-self.sh [REVISION] (default 0). Needs the network
# once (cargo vendor) and several minutes: it is not part of scripts/test-all.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== building the host boxwright (release profile)"
cargo build --release --locked -q -p boxwright
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bw() { "$target_dir/release/boxwright" --project release "$@"; }

version=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "boxwright"))')
declared=$(bw metadata get boxwright version)
if [ "$version" != "$declared" ]; then
  echo "release/metadata.json says BOXWRIGHT_VERSION $declared, Cargo.toml says $version" >&2
  exit 2
fi
tag="boxwright-$version.${1:-0}"
bw release check "$tag" >/dev/null

git diff --quiet HEAD -- || echo "note: uncommitted changes are not released (the source is git archive HEAD)" >&2
mkdir -p release/src
git archive --format=tar.gz --prefix="boxwright-$version/" -o "release/src/boxwright-$version.tar.gz" HEAD
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
export SOURCE_DATE_EPOCH

echo "== boxwright build boxwright"
bw build boxwright
echo "== boxwright verify --policy static,pie"
bw verify --policy static,pie release/.out/boxwright/bin/boxwright
echo "== boxwright release package $tag"
bw release package "$tag"
echo "== boxwright release manifest $tag"
bw release manifest "$tag"
