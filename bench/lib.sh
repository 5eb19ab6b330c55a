# Shared by the benchmarks under bench/: sourced, not run.

# Prints the best wall-clock time of $runs runs of "$@", in seconds; each run's time goes to
# stderr.
best_time() {
  local best="" start end t
  for ((r = 1; r <= runs; r++)); do
    start=$(date +%s.%N)
    "$@"
    end=$(date +%s.%N)
    t=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
    echo "  $1 run $r: ${t} s" >&2
    if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then
      best=$t
    fi
  done
  echo "$best"
}

# Exits 2 naming the Debian packages to install unless every command is on PATH; each argument
# is COMMAND or COMMAND:PACKAGE (when the package has another name): require_tools pigz
# scanelf:pax-utils.
require_tools() {
  local spec tool package missing=()
  for spec in "$@"; do
    tool=${spec%%:*}
    package=${spec#*:}
    command -v "$tool" >/dev/null || [ -x "$tool" ] || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "error: missing ${missing[*]}; install with: apt-get install ${missing[*]}" >&2
    exit 2
  fi
}

# Installs the Debian packages of the same names as the commands given that are missing, when
# apt-get is at hand (as root); require_tools then says what is still missing.
install_missing() {
  local tool missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
      true
  fi
}

# Sets $bin to a release boxwright: $BOXWRIGHT_BIN when set (bench/all.sh builds once and
# sets it), else builds it (honouring CARGO_TARGET_DIR); needs $root (the checkout).
build_boxwright() {
  if [ -n "${BOXWRIGHT_BIN:-}" ]; then
    bin=$BOXWRIGHT_BIN
    echo "== using $bin" >&2
    return
  fi
  echo "== building boxwright (release)" >&2
  (cd "$root" && cargo build --release -p boxwright)
  bin=${CARGO_TARGET_DIR:-$root/target}/release/boxwright
}

# Records one comparison for bench/all.sh and prints it as a machine-readable line:
#   result OPERATION BOXWRIGHT PEER PEER_VALUE RATIO GOAL
# BOXWRIGHT and PEER_VALUE are figures with their unit ("4.12 s"); RATIO is peer/boxwright
# (higher is better for boxwright) or "-"; GOAL is a minimum ratio (">= 1.5") or "-".
# The line goes to stdout as `RESULT<TAB>...` and, when $BENCH_RESULTS is set, to that file.
result() {
  local operation=$1 ours=$2 peer=$3 theirs=$4 ratio=$5 goal=$6 met="-"
  if [ "$goal" != "-" ] && [ "$ratio" != "-" ]; then
    if awk -v r="$ratio" -v g="${goal#>= }" 'BEGIN { exit !(r >= g) }'; then met=yes; else met=no; fi
  fi
  local line
  line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s' "$operation" "$ours" "$peer" "$theirs" "$ratio" "$goal" "$met")
  printf 'RESULT\t%s\n' "$line"
  if [ -n "${BENCH_RESULTS:-}" ]; then printf '%s\n' "$line" >>"$BENCH_RESULTS"; fi
}

# a / b with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# Copies whole directories of real files, alternating between /usr/lib and /usr/share, into
# DEST/lib and DEST/share until DEST holds about MB megabytes: fill_tree DEST MB.
fill_tree() {
  local dest_root=$1 target_mb=$2 used size dest src i
  local candidates=() lib=(/usr/lib/*) share=(/usr/share/*)
  for ((i = 0; i < ${#lib[@]} || i < ${#share[@]}; i++)); do
    if [ "$i" -lt "${#lib[@]}" ]; then candidates+=("${lib[$i]}"); fi
    if [ "$i" -lt "${#share[@]}" ]; then candidates+=("${share[$i]}"); fi
  done
  echo "== copying about ${target_mb} MB from /usr/lib and /usr/share" >&2
  mkdir -p "$dest_root"
  for src in "${candidates[@]}"; do
    used=$(du -sm "$dest_root" | cut -f1)
    if [ "$used" -ge "$target_mb" ]; then break; fi
    # Real directories only (symlinks inside are copied as symlinks: nothing is
    # dereferenced), and none that would overshoot the target by much.
    [ -d "$src" ] && [ ! -L "$src" ] || continue
    # Only this machine's architecture: `image build` refuses an image whose binaries are
    # for another one (cross toolchains install /usr/lib/aarch64-linux-*, gcc-cross...).
    case $(basename "$src") in
      "$(uname -m)-linux-gnu") ;;
      *-linux-* | gcc-cross | *aarch64* | *arm*) continue ;;
    esac
    size=$(du -sm "$src" 2>/dev/null | cut -f1) || continue
    [ "$size" -gt 0 ] && [ "$size" -le $((target_mb - used + 20)) ] || continue
    dest=$dest_root/$(basename "$(dirname "$src")")
    mkdir -p "$dest"
    # Unreadable files are skipped (their errors ignored).
    cp -a "$src" "$dest/" 2>/dev/null || true
  done
}

# Makes DIR a throw-away project whose one target, `bench` (version 1.0.0), has an image made
# of nothing but the overlay directory DIR/.out/bench/tree, filled with about MB megabytes of
# real files (no devices, FIFOs or sockets; everything readable): image_bench_project DIR MB.
# Prints the amount of data to stderr.
image_bench_project() {
  local dir=$1 target_mb=$2 tree used
  tree=$dir/.out/bench/tree
  mkdir -p "$tree" "$dir/bench"
  # The overlay is given relative to the target directory.
  cat >"$dir/metadata.json" <<'EOF'
{
  "bench": {
    "version_env_var": "BENCH_VERSION",
    "env": { "BENCH_VERSION": "1.0.0" },
    "image": { "rootfs": "../.out/bench/tree" }
  }
}
EOF
  fill_tree "$tree/usr" "$target_mb"
  find "$tree" \( -type b -o -type c -o -type p -o -type s \) -delete
  # `image build` refuses binaries for another architecture than the image's: drop the ELF
  # files whose class or machine differ from /bin/sh's (cross toolchains, 32-bit helpers).
  python3 - "$tree" <<'PY'
import os, sys
def ident(path):
    with open(path, "rb") as f:
        head = f.read(20)
    return (head[4], head[18:20]) if head[:4] == b"\x7fELF" and len(head) == 20 else None
host = ident(os.path.realpath("/bin/sh"))
for top, _, files in os.walk(sys.argv[1]):
    for name in files:
        path = os.path.join(top, name)
        if not os.path.islink(path) and ident(path) not in (None, host):
            os.remove(path)
PY
  chmod -R u+rwX "$tree"
  used=$(du -sm "$tree" | cut -f1)
  if [ "$used" -lt "$target_mb" ]; then
    echo "warning: only ${used} MB of data found" >&2
  fi
  echo "data: ${used} MB, $(find "$tree" | wc -l) entries in $tree" >&2
}
