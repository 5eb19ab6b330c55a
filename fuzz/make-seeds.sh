#!/usr/bin/env bash
# Makes the committed seed corpus in fuzz/seeds/ from the project's own writers and files:
#   seeds/packages/  tiny .apk and .deb packages written by `boxwright package` (a main
#                    package with a doc subpackage, an install script, a symlink; a noarch
#                    apk; the main deb with uncompressed and with xz members)
#   seeds/metadata/  the metadata.json files of examples/ and release/, plus small files for
#                    env chains, late {VERSION}/{ARCH} templates and package objects
# The packages hold a fresh throwaway key's signature, so they differ at each run; commit
# them only when the formats change. Usage: fuzz/make-seeds.sh (from anywhere; builds the
# boxwright binary with cargo unless BOXWRIGHT names one).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${BOXWRIGHT:-}" ]; then
  cargo build --locked -q -p boxwright
  BOXWRIGHT=${CARGO_TARGET_DIR:-$PWD/target}/debug/boxwright
fi
seeds=$PWD/fuzz/seeds
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1700000000

# A project whose target `tiny` is "built": its output tree is made by hand.
mkdir -p "$work/project/.out/tiny/bin" "$work/project/.out/tiny/share/doc/tiny"
cat >"$work/project/metadata.json" <<'JSON'
{
  "tiny": {
    "version_env_var": "TINY_VERSION",
    "env": { "TINY_VERSION": "1.0.0" },
    "package": {
      "description": "A tiny package\nFor the fuzzers' seed corpus.",
      "license": "MIT",
      "url": "https://example.invalid/tiny",
      "maintainer": "Fuzz <fuzz@example.invalid>",
      "depends": ["musl"],
      "scripts": { "post-install": "echo tiny installed" },
      "subpackages": { "doc": ["share/doc/**"] }
    }
  }
}
JSON
printf '#!/bin/sh\necho tiny\n' >"$work/project/.out/tiny/bin/tiny"
chmod 755 "$work/project/.out/tiny/bin/tiny"
ln -s tiny "$work/project/.out/tiny/bin/small"
printf 'Read me.\n' >"$work/project/.out/tiny/share/doc/tiny/README"

bw() { "$BOXWRIGHT" --project "$work/project" "$@" >/dev/null; }
bw key generate --format rsa --bits 2048 -o "$work/seed"
bw package tiny --format apk --arch x86_64 --key "$work/seed.rsa" -o "$work/apk"
bw package tiny --format apk --arch noarch --key "$work/seed.rsa" -o "$work/noarch"
bw package tiny --format deb --arch x86_64 -o "$work/deb"

rm -rf "$seeds/packages"
mkdir -p "$seeds/packages"
cp "$work/apk/tiny-1.0.0-r0.apk" "$work/apk/tiny-doc-1.0.0-r0.apk" "$seeds/packages/"
cp "$work/noarch/tiny-1.0.0-r0.apk" "$seeds/packages/tiny-noarch-1.0.0-r0.apk"
cp "$work/deb/tiny_1.0.0-0_amd64.deb" "$work/deb/tiny-doc_1.0.0-0_amd64.deb" "$seeds/packages/"
# The main deb again with its members uncompressed (control.tar, data.tar: the fuzzer then
# mutates tar headers and pax records directly) and with xz members, both formats dpkg reads.
mkdir "$work/members"
(cd "$work/members" && ar x "$work/deb/tiny_1.0.0-0_amd64.deb" && gunzip control.tar.gz data.tar.gz)
(cd "$work/members" && ar rcD "$seeds/packages/tiny-plain_1.0.0-0_amd64.deb" debian-binary control.tar data.tar)
(cd "$work/members" && xz -k control.tar data.tar &&
  ar rcD "$seeds/packages/tiny-xz_1.0.0-0_amd64.deb" debian-binary control.tar.xz data.tar.xz)

rm -rf "$seeds/metadata"
mkdir -p "$seeds/metadata"
cp examples/metadata.json "$seeds/metadata/examples.json"
cp examples/seed000/metadata.json "$seeds/metadata/seed000.json"
cp release/metadata.json "$seeds/metadata/release.json"
cp "$work/project/metadata.json" "$seeds/metadata/package.json"
cat >"$seeds/metadata/env-chain.json" <<'JSON'
{
  "chain": {
    "version_env_var": "V",
    "env": { "V": "{MAJOR}.{MINOR}", "MAJOR": "1", "MINOR": "{PATCH}0", "PATCH": "2",
             "HOME_DIR": "{HOME}/x", "BRACES": "{{literal}} ${MAJOR} {not a name}" },
    "release_files": ["bin/chain-{V}"],
    "downloads": [ { "url": "https://example.invalid/chain-{V}-{MAJOR}{MINOR}.tar.gz" } ]
  }
}
JSON
cat >"$seeds/metadata/upstream.json" <<'JSON'
{
  "base": { "version_env_var": "BASE_VERSION", "env": { "BASE_VERSION": "3.5.4" } },
  "mirror": {
    "upstream": { "github": "example/mirror", "tag_regex": "^v(?P<version>[0-9.]+)$", "max_versions": 2 },
    "build_depends": ["base"],
    "env": { "FLAVOUR": "linux" },
    "release_files": ["bin/mirror-{FLAVOUR}"],
    "downloads": [ { "url": "https://example.invalid/mirror-{VERSION}-{ARCH}.tar.gz" },
                   { "url": "https://example.invalid/tools-{FLAVOUR}-{UNAME_ARCH}.tar.gz" } ],
    "image": { "platforms": ["linux/amd64", "linux/arm64"],
               "layers": [ { "archive": "mirror-{VERSION}-{ARCH}.tar.gz", "to": "/opt" } ] }
  }
}
JSON
ls -l "$seeds"/*
