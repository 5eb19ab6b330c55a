#!/usr/bin/env bash
# boxwright releases itself with its own commands: the project in release/ builds boxwright
# from `git archive HEAD` of this checkout as a static musl PIE for x86_64 and aarch64 (in
# the sandbox, crates vendored from Cargo.lock first), verifies each, packs
# `boxwright-<version>.<revision>-<arch>.tar.gz` and writes the release manifest, signed when BOXWRIGHT_MANIFEST_SIGNING_KEY holds a minisign
# secret key. Usage: bash scripts/release-self.sh [REVISION] (default 0). Needs the network
# once (cargo vendor) and several minutes: it is not part of scripts/test-all.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

# The aarch64 build compiles C (ring) with Debian's cross gcc against musl for aarch64.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v aarch64-linux-gnu-gcc >/dev/null || [ ! -f /usr/lib/aarch64-linux-musl/libc.a ]; then
  echo "== installing the aarch64 cross toolchain (gcc-aarch64-linux-gnu, musl-dev:arm64)"
  as_root dpkg --add-architecture arm64
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-aarch64-linux-gnu \
    musl-dev:arm64 qemu-user-static >/dev/null
fi

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

# One static musl build per architecture (aarch64 with Debian's cross gcc and the Rust
# aarch64-unknown-linux-musl target; its smoke test runs under qemu-user), each packed as
# `<tag>.tar.gz` and kept as the release's `<tag>-<arch>.tar.gz` artifact.
mkdir -p release/.out/release
for arch in x86_64 aarch64; do
  out="$PWD/release/.out/$arch"
  echo "== boxwright build boxwright --arch $arch"
  bw build boxwright --arch "$arch" -o "$out"
  echo "== boxwright verify --policy static,pie,arch=$arch"
  bw verify --policy "static,pie,arch=$arch" "$out/boxwright/bin/boxwright"
  echo "== boxwright release package $tag ($arch)"
  BUILD_OUTPUT_DEST="$out" bw release package "$tag" -o "$out"
  cp "$out/$tag.tar.gz" "release/.out/release/boxwright-$arch.tar.gz"
done
echo "== boxwright release manifest $tag"
bw release manifest "$tag"
