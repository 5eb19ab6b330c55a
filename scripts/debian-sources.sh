#!/usr/bin/env bash
# Downloads the Debian orig tarballs the seed000 example project pins (examples/seed000) into DIR,
# with `apt-get source --download-only` and a private sources list, package lists and cache under
# DIR/.apt/ (the machine's /etc/apt is not touched). Safe to run again: when every expected file is
# already in DIR with the pinned SHA-256, nothing is downloaded.
#
#   scripts/debian-sources.sh DIR
#
# To build offline, copy (or link) the files into the project's .tmp/ directory: boxwright uses a
# cached file whose digest matches without going to the network.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
mkdir -p "$1"
DIR=$(cd "$1" && pwd)

# apt-get source argument | orig file it must produce | SHA-256 of that file.
# zlib is pinned to bookworm main's version: the security pool's .dsc is not there.
FILES=(
  "musl|musl_1.2.3.orig.tar.gz|7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4"
  "zlib=1:1.2.13.dfsg-1|zlib_1.2.13.dfsg.orig.tar.bz2|71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1"
  "pcre2|pcre2_10.42.orig.tar.gz|c33b418e3b936ee3153de2c61cc638e7e4fe3156022a5c77d0711bcbb9d64f1f"
  "openssl|openssl_3.0.22.orig.tar.gz|67ebca7e50d17383028045486653492195b83db95f8558709701bb47b5c1ef81"
  "nginx|nginx_1.22.1.orig.tar.gz|9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31"
  "dnsmasq|dnsmasq_2.90.orig.tar.xz|8e50309bd837bfec9649a812e066c09b6988b73d749b7d293c06c57d46a109e4"
)

have() { # FILE SHA256: is DIR/FILE there with that digest?
  [ -f "$DIR/$1" ] && [ "$(sha256sum "$DIR/$1" | cut -d' ' -f1)" = "$2" ]
}

missing=()
for entry in "${FILES[@]}"; do
  IFS='|' read -r spec file sum <<<"$entry"
  have "$file" "$sum" || missing+=("$entry")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "all ${#FILES[@]} orig tarballs are in $DIR"
  exit 0
fi

command -v apt-get >/dev/null || { echo "error: apt-get is needed (a Debian machine)" >&2; exit 1; }
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$KEYRING" ] || { echo "error: $KEYRING is missing: apt-get install debian-archive-keyring" >&2; exit 1; }

APT="$DIR/.apt"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
cat >"$APT/sources.list" <<EOF
deb-src [signed-by=$KEYRING] http://deb.debian.org/debian bookworm main
deb-src [signed-by=$KEYRING] http://deb.debian.org/debian bookworm-updates main
deb-src [signed-by=$KEYRING] http://deb.debian.org/debian-security bookworm-security main
EOF
: >"$APT/status"
opts=(
  -o "Dir::Etc::SourceList=$APT/sources.list"
  -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$APT/lists"
  -o "Dir::State::status=$APT/status"
  -o "Dir::Cache=$APT/cache"
  -o APT::Sandbox::User=root
)

echo "== apt-get update (private lists in $APT)"
apt-get "${opts[@]}" -qq update

cd "$DIR"
for entry in "${missing[@]}"; do
  IFS='|' read -r spec file sum <<<"$entry"
  echo "== apt-get source --download-only $spec"
  # apt may exit non-zero when one file of the source package (often the .dsc from the
  # security suite) is not found although the orig tarball came: the digest check decides.
  apt-get "${opts[@]}" -q source --download-only "$spec" || echo "   (apt-get exited $?; checking $file)"
done

failed=0
for entry in "${FILES[@]}"; do
  IFS='|' read -r spec file sum <<<"$entry"
  if have "$file" "$sum"; then
    echo "ok      $file"
  elif [ -f "$DIR/$file" ]; then
    echo "error: $DIR/$file has SHA-256 $(sha256sum "$DIR/$file" | cut -d' ' -f1), expected $sum" >&2
    failed=1
  else
    echo "error: apt-get source $spec did not produce $file (is that version still in bookworm?)" >&2
    failed=1
  fi
done
exit "$failed"
