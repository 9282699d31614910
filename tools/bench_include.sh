#!/usr/bin/env bash
# Compile-time cost of including cpprof: `g++ -std=c++17 -O0 -c` of a translation unit that
# includes one cpprof header and nothing else, against an empty translation unit; best of N.
#
#   tools/bench_include.sh            # markdown table on stdout
#
# Environment: CXX (default g++), RUNS (default 5), CXXFLAGS_EXTRA (appended), CPPROF_ROOT
# (default: this checkout; point it at another checkout to measure its headers).
# Headers that do not exist yet in this tree are reported as skipped.
set -euo pipefail

root=${CPPROF_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
CXX=${CXX:-g++}
RUNS=${RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Seconds (3 decimals) of the fastest of RUNS compilations of $1 with include path $2.
best_of() {
  local src=$1 inc=$2 best="" t0 t1 dt
  for ((i = 0; i < RUNS; i++)); do
    t0=$(date +%s%N)
    # shellcheck disable=SC2086
    "$CXX" -std=c++17 -O0 ${inc:+-I"$inc"} ${CXXFLAGS_EXTRA:-} -c "$src" -o "$tmp/out.o"
    t1=$(date +%s%N)
    dt=$(((t1 - t0) / 1000000))
    if [[ -z $best || $dt -lt $best ]]; then best=$dt; fi
  done
  printf '%d.%03d' $((best / 1000)) $((best % 1000))
}

: > "$tmp/empty.cpp"
empty=$(best_of "$tmp/empty.cpp" "")

echo "Compiler: $("$CXX" --version | head -1); -std=c++17 -O0 -c; best of $RUNS"
echo
echo "| header | TU time | added over an empty TU | target |"
echo "|---|---|---|---|"
echo "| (empty TU) | ${empty} s | - | - |"

# header (as included) | include directory | target
while IFS='|' read -r header incdir target; do
  if [[ ! -f "$root/$incdir/$header" ]]; then
    echo "| \`$incdir/$header\` | skipped: not in this tree | - | $target |"
    continue
  fi
  printf '#include <%s>\n' "$header" > "$tmp/tu.cpp"
  if ! "$CXX" -std=c++17 -O0 -I"$root/$incdir" -c "$tmp/tu.cpp" -o "$tmp/out.o" 2> "$tmp/err"; then
    echo "| \`$incdir/$header\` | does not compile alone: $(head -1 "$tmp/err" | cut -c1-80) | - | $target |"
    continue
  fi
  t=$(best_of "$tmp/tu.cpp" "$root/$incdir")
  added=$(awk -v a="$t" -v b="$empty" 'BEGIN { printf "%.3f", a - b }')
  echo "| \`$incdir/$header\` | ${t} s | ${added} s | $target |"
done <<'EOF'
cpprof/cpu/profiler_guard.hpp|include|-
cpprof/macros.hpp|include|≤ 0.05 s TU (anchors.md)
cpprof/cpprof.hpp|include|≤ 0.3 s TU (anchors.md)
cpprof/cpprof.hpp|single_include|≤ 0.5 s added (issue); ≤ 0.3 s TU (anchors.md)
EOF
