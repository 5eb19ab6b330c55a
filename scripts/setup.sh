#!/usr/bin/env bash
# Installs what boxwright's example project and test suite use on a Debian machine with Rust
# stable (rustup): Debian packages, the Rust musl targets, and a JSON Schema validator.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages the recipes and tests use (coreutils, tar and gzip are always there).
packages=()
command -v git >/dev/null || packages+=(git)
command -v python3 >/dev/null || packages+=(python3 python3-pip)
command -v bwrap >/dev/null || packages+=(bubblewrap)
command -v gcc >/dev/null || packages+=(gcc)
command -v make >/dev/null || packages+=(make)
# libFuzzer (C++, built by libfuzzer-sys) for scripts/fuzz.sh.
command -v g++ >/dev/null || packages+=(g++)
command -v musl-gcc >/dev/null || packages+=(musl-tools)
command -v clang >/dev/null || packages+=(clang)
command -v pkg-config >/dev/null || packages+=(pkg-config)
command -v perl >/dev/null || packages+=(perl)
command -v curl >/dev/null || packages+=(curl)
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || packages+=(debian-archive-keyring)
# Linux UAPI headers for the musl toolchain (x86_64; the aarch64 ones come with the cross gcc).
[ -f /usr/include/linux/version.h ] || packages+=(linux-libc-dev)
command -v readelf >/dev/null || packages+=(binutils)
command -v scanelf >/dev/null || packages+=(pax-utils)
command -v checksec >/dev/null || packages+=(checksec)
command -v qemu-aarch64-static >/dev/null || packages+=(qemu-user-static)
command -v aarch64-linux-gnu-gcc >/dev/null || packages+=(gcc-aarch64-linux-gnu)
command -v skopeo >/dev/null || packages+=(skopeo)
command -v umoci >/dev/null || packages+=(umoci)
command -v podman >/dev/null || packages+=(podman)
command -v runc >/dev/null || packages+=(runc)
command -v zstd >/dev/null || packages+=(zstd)
command -v docker-registry >/dev/null || packages+=(docker-registry)
command -v htpasswd >/dev/null || packages+=(apache2-utils)
command -v minisign >/dev/null || packages+=(minisign)
# Package checks: dpkg-deb and apt-get read the .deb packages and apt repositories `package`
# and `repo index` write; lintian checks the .deb (about 150 Debian packages, 40 s here);
# openssl verifies apk signatures; GnuPG makes a key of its own and gpgv checks apt's signatures.
command -v dpkg-deb >/dev/null || packages+=(dpkg)
command -v apt-get >/dev/null || packages+=(apt)
command -v lintian >/dev/null || packages+=(lintian)
command -v openssl >/dev/null || packages+=(openssl)
command -v gpg >/dev/null || packages+=(gnupg)
command -v gpgv >/dev/null || packages+=(gpgv)
# groff renders the man pages `boxwright man` writes; script (bsdutils) gives the progress and
# password-prompt tests a terminal; the guides' shell blocks use python3 and curl.
command -v groff >/dev/null || packages+=(groff-base)
command -v script >/dev/null || packages+=(bsdutils)
command -v python3 >/dev/null || packages+=(python3)
# GNU time measures the peak memory of commands in the hostile-input tests.
[ -x /usr/bin/time ] || packages+=(time)
# Images from packages are tested against Debian's own indexes, as apt reads them: the
# resolver's parity test and the index tests need apt's lists of bookworm.
if [ ${#packages[@]} -gt 0 ] || ! ls /var/lib/apt/lists/*_dists_bookworm_InRelease >/dev/null 2>&1; then
  echo "== apt-get update"
  as_root apt-get update -qq
fi
if [ ${#packages[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${packages[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi
# An independent JSON Schema validator for the schema test.
if ! python3 -c 'import jsonschema' 2>/dev/null; then
  echo "== installing the jsonschema Python module"
  python3 -m pip install -q jsonschema 2>/dev/null || python3 -m pip install -q --break-system-packages jsonschema
fi

# Python tools for the independent checks, in a virtualenv at the checkout root (.venv-tools),
# where the tests look for them: check-jsonschema validates the CI files `ci generate` writes
# (GitHub workflow and GitLab CI schemas bundled, no network at test time); securesystemslib
# (with cryptography) verifies DSSE envelopes; PyNaCl (libsodium) opens cosign's encrypted
# private keys; spdx-tools (`pyspdxtools`) and cyclonedx-python-lib's JSON validator check
# SBOMs; moto's S3 server (with boto3) stands in for S3 in the `release publish --to s3://` tests.
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "== installing python3-venv"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi
[ -x .venv-tools/bin/python ] || python3 -m venv .venv-tools
if ! [ -x .venv-tools/bin/check-jsonschema ] || ! [ -x .venv-tools/bin/pyspdxtools ] ||
  ! [ -x .venv-tools/bin/moto_server ] ||
  ! .venv-tools/bin/python -c 'import securesystemslib, cryptography, nacl, cyclonedx.validation.json, jsonschema, moto, boto3' 2>/dev/null; then
  echo "== installing the Python checkers into .venv-tools"
  .venv-tools/bin/python -m pip install -q check-jsonschema 'securesystemslib[crypto]' pynacl \
    spdx-tools 'cyclonedx-python-lib[json-validation]' 'moto[server]'
fi

rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy
# Static musl targets for the example project's Rust recipe (x86_64 and the aarch64 cross build).
rustup target list --installed | grep -q '^x86_64-unknown-linux-musl$' || rustup target add x86_64-unknown-linux-musl
rustup target list --installed | grep -q '^aarch64-unknown-linux-musl$' || rustup target add aarch64-unknown-linux-musl
