#!/usr/bin/env bash
# The main job on the bundled example project, in one command: installs what is missing
# (scripts/setup.sh), builds boxwright (release profile), then, in a temporary copy of
# examples/, runs seed 001's pipeline end to end:
#
#   build --all                      sandboxed static builds, verified, run in an empty root
#   image build distro --format rootfs   the flat rootfs tarball for `wsl --import`
#   image build hello --format oci   a daemonless OCI image
#   key generate --format minisign   a throw-away key pair (in a temporary directory)
#   release manifest / publish       signed with the key in DISTRO_MANIFEST_SIGNING_KEY,
#                                    published to a temporary directory
#   release verify                   from that directory: signature, sizes, digests
#
# Exits non-zero at the first failure. The temporary directories are removed at the end;
# set DEMO_DIR=/some/empty/dir to keep everything there instead (docs/guides/distro-release.md
# explains each step).
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$PWD

bash scripts/setup.sh

echo "== building boxwright (release profile)"
cargo build --release --locked -q -p boxwright
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
boxwright="$target_dir/release/boxwright"
"$boxwright" --version

if [ -n "${DEMO_DIR:-}" ]; then
  mkdir -p "$DEMO_DIR"
  work=$(cd "$DEMO_DIR" && pwd)
  if [ -n "$(ls -A "$work")" ]; then
    echo "DEMO_DIR=$work is not empty" >&2
    exit 2
  fi
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/boxwright-demo.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
project="$work/project"
keys="$work/keys"
published="$work/published"
verified="$work/verified"
mkdir -p "$project" "$keys"

echo "== copying examples/ to $project (without caches, outputs and seed000)"
tar -C "$checkout/examples" --exclude=./seed000 --exclude=.tmp --exclude=.out \
  --exclude=.cache --exclude=target -cf - . | tar -C "$project" -xf -

# Timestamps (manifest `created`, file times in the tarballs) from the checkout's last commit,
# as CI takes them from the tagged commit: the same checkout gives the same bytes.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$checkout" log -1 --format=%ct 2>/dev/null || echo 0)}
export SOURCE_DATE_EPOCH

bw() { "$boxwright" --project "$project" "$@"; }
version=$(bw metadata get distro version)
tag="distro-$version.0"

echo "== boxwright release check $tag"
bw release check "$tag"
echo "== boxwright build --all -j 2"
bw build --all -j 2
echo "== boxwright image build distro --format rootfs"
bw image build distro --format rootfs -o "$project/.out/distro-rootfs.tar.gz"
echo "== boxwright image build hello --format oci"
bw image build hello --format oci -o "$project/.out/hello-oci"

echo "== boxwright key generate --format minisign (throw-away key in $keys)"
bw key generate --format minisign -o "$keys/distro"
DISTRO_MANIFEST_SIGNING_KEY=$(cat "$keys/distro.key")
export DISTRO_MANIFEST_SIGNING_KEY

echo "== boxwright release manifest $tag"
bw release manifest "$tag"
echo "== boxwright release publish $tag --to $published"
bw release publish "$tag" --to "$published"
unset DISTRO_MANIFEST_SIGNING_KEY

echo "== boxwright release verify $published/distro"
bw release verify "$published/distro" --key "$keys/distro.pub" -o "$verified"
echo
echo "published:"
(cd "$published" && find . -type f | sort | sed 's|^\./|  |')
echo "verified: $tag, 404-distro.tar.gz written to $verified"
