#!/usr/bin/env bash
# Fuzzes the package readers, the repository indexer and the metadata loader (fuzz/, cargo-fuzz
# and libFuzzer) for SECONDS each (default 30), one target after the other, with an RSS limit
# of 200 MB and a 10 s limit per input. Prints runs, seconds and peak RSS per target; exits 1
# when any target crashed, went over the RSS limit or timed out, naming the input libFuzzer
# saved in fuzz/artifacts/<target>/. Works on stable Rust: cargo-fuzz's sanitizer flags are
# let through with RUSTC_BOOTSTRAP=1.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   FUZZ_SANITIZER=address|none (default: address when the toolchain ships its runtime)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(package_inspect package_index metadata_templates)
# libFuzzer reads -max_total_time=0 as "no limit": SECONDS must be a positive number.
case $seconds in '' | *[!0-9]* | 0)
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (SECONDS > 0)" >&2
  exit 2
  ;;
esac

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

host=$(rustc -vV | sed -n 's/^host: //p')
sanitizer=${FUZZ_SANITIZER:-}
if [ -z "$sanitizer" ]; then
  if [ -e "$(rustc --print sysroot)/lib/rustlib/$host/lib/librustc-stable_rt.asan.a" ]; then
    sanitizer=address
  else
    sanitizer=none
  fi
fi

if ! cargo metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null; then
  echo "error: fuzz/Cargo.lock is out of date" >&2
  echo "hint: run \`cargo update --workspace --manifest-path fuzz/Cargo.toml\` and commit it" >&2
  exit 2
fi

echo "== building the fuzz targets (sanitizer: $sanitizer)"
start=$SECONDS
# 16 codegen units instead of cargo-fuzz's 1: a build several times faster for a little
# fuzzing speed. fuzz/target, whatever CARGO_TARGET_DIR says.
RUSTC_BOOTSTRAP=1 cargo fuzz build --fuzz-dir fuzz --target "$host" --target-dir "$PWD/fuzz/target" \
  --sanitizer "$sanitizer" --codegen-units 16
echo "== built in $((SECONDS - start)) s"
bin_dir=fuzz/target/$host/release

# The targets' scratch files (packages, repository trees) go to a tmpfs when there is one.
scratch_parent=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && scratch_parent=/dev/shm
scratch=$(mktemp -d "$scratch_parent/boxwright-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
logs=fuzz/target/logs
mkdir -p "$logs"

# Per target: its seeds and regression inputs (both run before any fuzzing), its dictionary,
# and the longest input libFuzzer makes. Packages may be long enough for a compressed member
# to inflate past the RSS limit (deflate's ratio is about 1000:1); 16 KiB of JSON is plenty
# for templates that multiply.
seeds_of() { case $1 in package_*) echo packages ;; *) echo metadata ;; esac; }
max_len_of() { case $1 in package_*) echo 262144 ;; *) echo 16384 ;; esac; }

stat_of() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

failed=()
for target in "${targets[@]}"; do
  binary=$bin_dir/$target
  if [ ! -x "$binary" ]; then
    echo "error: no fuzz target \`$target\` (fuzz/fuzz_targets/)" >&2
    exit 2
  fi
  seeds=$(seeds_of "$target")
  corpus=fuzz/corpus/$target
  artifacts=fuzz/artifacts/$target
  log=$logs/$target.log
  mkdir -p "$corpus" "$artifacts"
  echo "== fuzzing $target for $seconds s (log: $log)"
  begin=$(date +%s)
  status=0
  # Leak checks stay on; ASan's quarantine of freed memory is kept small so that peak RSS
  # measures what the code holds, not what the sanitizer keeps back.
  TMPDIR=$scratch ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=16} \
    "$binary" "$corpus" "fuzz/seeds/$seeds" "fuzz/regressions/$seeds" \
    -dict="fuzz/dict/$seeds.dict" -max_len="$(max_len_of "$target")" \
    -rss_limit_mb=200 -timeout=10 -max_total_time="$seconds" \
    -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1 || status=$?
  elapsed=$(($(date +%s) - begin))
  runs=$(stat_of number_of_executed_units "$log")
  rss=$(stat_of peak_rss_mb "$log")
  echo "$target: ${runs:-?} runs in $elapsed s, peak RSS ${rss:-?} MB, exit status $status"
  if [ "$status" -ne 0 ]; then
    if ! grep -m 5 -E '^==[0-9]+== ?ERROR|^ERROR:|panicked at|timeout after' "$log"; then
      tail -n 5 "$log"
    fi
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    echo "$target FAILED: input ${artifact:-not saved (see $log)}"
    for known in "fuzz/seeds/$seeds"/* "fuzz/regressions/$seeds"/*; do
      if [ -n "$artifact" ] && cmp -s "$artifact" "$known"; then echo "  (the committed $known)"; fi
    done
    echo "  reproduce: $binary ${artifact:-<input>} -rss_limit_mb=200 -timeout=10"
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "== fuzzing found problems in: ${failed[*]}"
  exit 1
fi
echo "== fuzzing: no crash, timeout or RSS over 200 MB in ${#targets[@]} targets"
