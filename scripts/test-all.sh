#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine with Rust stable: installs what the tests
# need (scripts/setup.sh), then checks formatting, lints, runs every test, and fuzzes each fuzz
# target briefly (scripts/fuzz.sh; FUZZ_SECONDS, default 20, 0 skips it). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# Incremental artifacts only help rebuilds; a one-shot run would just store them (GBs).
export CARGO_INCREMENTAL=0
echo "== disk free before the run"
df -h . | tail -1

bash scripts/setup.sh
bash scripts/build-verifiers.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
echo "== disk free after the tests"
df -h . | tail -1
echo "== fuzzing"
if [ "${FUZZ_SECONDS:-20}" -gt 0 ]; then
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
fi
