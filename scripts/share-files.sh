#!/usr/bin/env bash
# Writes the shell completions and man pages of a built boxwright into DEST/share/, where
# the release archive ships them (release/metadata.json's release_files):
#   share/bash-completion/completions/boxwright, share/zsh/site-functions/_boxwright,
#   share/fish/vendor_completions.d/boxwright.fish, share/man/man1/*.1
# Usage: scripts/share-files.sh BINARY DEST [RUNNER...]; RUNNER runs a binary of another
# architecture (qemu-aarch64-static). Each file is written to a temporary name and renamed.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BINARY DEST [RUNNER...]" >&2; exit 2; }
binary=$1 dest=$2
shift 2
write() { # PATH, then the command that prints the file
	local path=$dest/$1
	shift
	mkdir -p "$(dirname "$path")"
	"$@" >"$path.tmp"
	mv "$path.tmp" "$path"
}

write share/bash-completion/completions/boxwright "$@" "$binary" completions bash
write share/zsh/site-functions/_boxwright "$@" "$binary" completions zsh
write share/fish/vendor_completions.d/boxwright.fish "$@" "$binary" completions fish
man_dir=$dest/share/man/man1
mkdir -p "$man_dir"
"$@" "$binary" -q man -o "$man_dir" >/dev/null
