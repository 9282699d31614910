#!/usr/bin/env bash
# Fails when including a light header costs more than its budget: by default
# <cpprof/macros.hpp>, whose budget is 50 ms over an empty translation unit (issue 6,
# STYLE.md section 3). Run by ctest as `macros_include_cost` (label check, run serially).
#
#   tools/check_include_cost.sh                 # g++, cpprof/macros.hpp, 50 ms
#   CXX=clang++ BUDGET_MS=50 tools/check_include_cost.sh
#
# Method: `$CXX -std=c++17 -O0 -c` of an empty TU and of a TU that includes only the header,
# alternated RUNS times (default 11) so that load from other processes falls on both alike;
# the cost is median(header TU) - median(empty TU). When that is over the budget the
# measurement is repeated once with twice the runs, and only a second failure fails, so a
# burst of load does not make the check flaky while a real regression (a heavy standard header
# pulled in: <string> alone adds ~100 ms) still fails both times.
#
# Environment: CXX (default g++), RUNS (default 11), BUDGET_MS (default 50), HEADER (default
# cpprof/macros.hpp), CPPROF_ROOT (default: this checkout), CXXFLAGS_EXTRA (appended).
set -euo pipefail

root=${CPPROF_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
CXX=${CXX:-g++}
RUNS=${RUNS:-11}
BUDGET_MS=${BUDGET_MS:-50}
HEADER=${HEADER:-cpprof/macros.hpp}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

: > "$tmp/empty.cpp"
printf '#include <%s>\n' "$HEADER" > "$tmp/header.cpp"

compile_ms() {  # compile_ms SOURCE: milliseconds one compilation takes
  local t0 t1
  t0=$(date +%s%N)
  # shellcheck disable=SC2086
  "$CXX" -std=c++17 -O0 -I"$root/include" ${CXXFLAGS_EXTRA:-} -c "$1" -o "$tmp/out.o"
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# The header must compile on its own before it is timed.
"$CXX" -std=c++17 -O0 -I"$root/include" ${CXXFLAGS_EXTRA:-} -c "$tmp/header.cpp" -o "$tmp/out.o"

measure() {  # measure N: prints "empty_ms header_ms delta_ms"
  local n=$1 e h
  : > "$tmp/e" && : > "$tmp/h"
  compile_ms "$tmp/empty.cpp" > /dev/null  # warm the page cache for both
  compile_ms "$tmp/header.cpp" > /dev/null
  for ((i = 0; i < n; i++)); do
    compile_ms "$tmp/empty.cpp" >> "$tmp/e"
    compile_ms "$tmp/header.cpp" >> "$tmp/h"
  done
  e=$(median < "$tmp/e")
  h=$(median < "$tmp/h")
  echo "$e $h $((h - e))"
}

for attempt in 1 2; do
  n=$((attempt == 1 ? RUNS : 2 * RUNS))
  read -r e h d < <(measure "$n")
  echo "include cost of <$HEADER> with $("$CXX" --version | head -1): empty TU ${e} ms," \
       "TU with the header ${h} ms (medians of $n alternated compiles): ${d} ms added," \
       "budget ${BUDGET_MS} ms"
  if [ "$d" -le "$BUDGET_MS" ]; then
    echo "OK"
    exit 0
  fi
  [ "$attempt" -eq 1 ] && echo "over the budget: measuring again with $((2 * RUNS)) runs"
done
echo "FAILED: including <$HEADER> costs ${d} ms, over its ${BUDGET_MS} ms budget;" \
     "see which standard headers it pulls in with: $CXX -std=c++17 -H -I include -c <TU>" >&2
exit 1
