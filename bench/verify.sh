#!/usr/bin/env bash
# Benchmark of `boxwright verify --json` against scanelf (pax-utils) over /usr/bin and /usr/lib.
#
# Builds boxwright in release mode, then times the best of three runs of:
#   - boxwright verify --json /usr/bin /usr/lib (it walks both trees itself);
#   - scanelf -R with a format that prints the facts closest to boxwright's report: type,
#     class, machine, GNU_STACK/GNU_RELRO flags, bind mode, interpreter, NEEDED, SONAME,
#     TEXTREL, .symtab presence and the __stack_chk_fail symbol;
#   - scanelf -R -q -B, which reads the same files and prints only warnings.
# boxwright reports more than either (static/static-pie/dynamic, PIE, RELRO level, NX,
# FORTIFY, eBPF programs). Prints the times, the scanelf/boxwright ratios and how many ELF
# files each one reported. Needs scanelf (Debian package `pax-utils`).
#
# Usage: bench/verify.sh [DIR...]      (default: /usr/bin /usr/lib)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
runs=3
if [ $# -gt 0 ]; then dirs=("$@"); else dirs=(/usr/bin /usr/lib); fi

require_tools scanelf:pax-utils

build_boxwright

tmp=$(mktemp -d "${TMPDIR:-/tmp}/boxwright-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

format='%o|%M|%a|%e|%b|%i|%n|%S|%t|%k|%s|%F'

# Exit status 1 would mean a policy violation; no policy is given, so only 2 is an error.
run_boxwright() {
  local status=0
  "$bin" --json verify "${dirs[@]}" >"$tmp/boxwright.json" || status=$?
  [ "$status" -le 1 ]
}
run_scanelf() { scanelf -R -B -k .symtab -s __stack_chk_fail -F "$format" "${dirs[@]}" >"$tmp/scanelf.txt" 2>/dev/null; }
run_scanelf_quiet() { scanelf -R -q -B "${dirs[@]}" >/dev/null 2>&1; }


echo "== warming the page cache" >&2
run_scanelf_quiet
run_boxwright

echo "== timing (best of $runs)" >&2
t_boxwright=$(best_time run_boxwright)
t_scanelf=$(best_time run_scanelf)
t_quiet=$(best_time run_scanelf_quiet)

# --- what each reported ----------------------------------------------------------------------

files_boxwright=$(grep -c '"kind": ' "$tmp/boxwright.json" || true)
elf_boxwright=$(grep -c '"kind": "elf"' "$tmp/boxwright.json" || true)
# One line per ELF file, ending in its path (%F); count paths, since a garbled interpreter
# string can contain a newline.
elf_scanelf=$(scanelf -R -B -F '%F' "${dirs[@]}" 2>/dev/null | wc -l)


echo
echo "trees: ${dirs[*]}; $files_boxwright regular files; $(nproc) cores"
printf '%-44s %10s %10s\n' "" "best (s)" "ELF files"
printf '%-44s %10s %10s\n' "boxwright verify --json" "$t_boxwright" "$elf_boxwright"
printf '%-44s %10s %10s\n' "scanelf -R -F (comparable facts)" "$t_scanelf" "$elf_scanelf"
printf '%-44s %10s %10s\n' "scanelf -R -q -B" "$t_quiet" "-"
echo "scanelf_time/boxwright_time: $(ratio "$t_scanelf" "$t_boxwright")"
echo "scanelf_quiet_time/boxwright_time: $(ratio "$t_quiet" "$t_boxwright")"
result "verify --json /usr/bin /usr/lib" "$t_boxwright s" "scanelf -R -F" "$t_scanelf s" \
  "$(ratio "$t_scanelf" "$t_boxwright")" "-"
