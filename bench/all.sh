#!/usr/bin/env bash
# Runs every benchmark under bench/ and prints one table of what each compares:
# operation | boxwright | peer | ratio | goal | met.
#
# Builds boxwright in release mode once (each bench then uses it through BOXWRIGHT_BIN);
# every bench prints `RESULT<TAB>...` lines and appends them to $BENCH_RESULTS (see `result`
# in bench/lib.sh), which this script collects. A bench that fails is named in the table and
# the others still run; the script exits 1 if any failed. Ratios are peer time / boxwright
# time (higher is better); a goal is met when the ratio reaches it. The full output of each
# bench goes to $BENCH_LOG_DIR/NAME.log (default: a directory under /tmp, printed at the end).
#
# Usage: bench/all.sh [--quick] [BENCH...]
#        bench/all.sh --table=RESULTS.tsv   (prints the table of an earlier run's results)
#   --quick   100 MB of data instead of 200-300 MB, and no build.sh (it downloads and
#             compiles the seed 000 sources, which takes many minutes on 2 cores).
#   BENCH...  names to run (image push release verify build plan sbom repo); default: all.
# Needs what the benches need (scripts/setup.sh installs most of it; each bench names what
# is missing).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

# Prints the results file $1 as a Markdown table (`|` inside a field escaped).
table() {
  local operation ours peer theirs ratio goal met peer_text
  echo "| operation | boxwright | peer | ratio | goal | met |"
  echo "|---|---|---|---|---|---|"
  while IFS=$'\t' read -r operation ours peer theirs ratio goal met; do
    if [ "$peer" = "-" ] || [ "$theirs" = "-" ]; then peer_text=$peer; else peer_text="$peer: $theirs"; fi
    echo "| ${operation//|/\\|} | $ours | ${peer_text//|/\\|} | $ratio | $goal | $met |"
  done <"$1"
}

quick=false
names=()
for arg in "$@"; do
  case $arg in
    --quick) quick=true ;;
    --table=*)
      table "${arg#--table=}"
      exit 0
      ;;
    -h | --help)
      sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) names+=("$arg") ;;
  esac
done
if [ ${#names[@]} -eq 0 ]; then
  names=(image push release verify plan sbom repo)
  $quick || names+=(build)
fi
if $quick; then export BENCH_MB=100; fi

if [ -z "${BOXWRIGHT_BIN:-}" ]; then
  build_boxwright || exit 2
  export BOXWRIGHT_BIN=$bin
fi
logs=${BENCH_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/boxwright-bench-logs.XXXXXX")}
mkdir -p "$logs"
export BENCH_RESULTS=$logs/results.tsv
: >"$BENCH_RESULTS"

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
failed=()
for name in "${names[@]}"; do
  script=$root/bench/$name.sh
  if [ ! -f "$script" ]; then
    echo "error: no bench/$name.sh" >&2
    exit 2
  fi
  echo "== bench/$name.sh (log: $logs/$name.log)" >&2
  start=$(date +%s)
  if ! bash "$script" >"$logs/$name.log" 2>&1; then
    failed+=("$name")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "bench/$name.sh" "failed" "-" "-" "-" "-" "no" \
      >>"$BENCH_RESULTS"
    tail -5 "$logs/$name.log" >&2
  fi
  echo "   $(($(date +%s) - start)) s" >&2
done

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo
echo "Machine: $(nproc) cores, ${cpu:-unknown CPU}, $(free -g | awk '/^Mem:/ { print $2 }') GiB;" \
  "load average at the start: $load_start, at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC')$($quick && echo '; --quick')"
echo
table "$BENCH_RESULTS"
echo
echo "logs: $logs"
[ ${#failed[@]} -eq 0 ] || { echo "failed: ${failed[*]}" >&2; exit 1; }
