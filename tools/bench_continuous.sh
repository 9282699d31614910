#!/usr/bin/env bash
# CPU and memory of cpprof::continuous_profiler over a long run (bench/continuous/driver.cpp):
# a steady CPU-bound workload with the continuous profiler on, its threads' CPU, the signal
# handler's share on the workload threads, and RSS / malloc'd bytes over time.
#
#   tools/bench_continuous.sh                     # 10 min, 10 Hz, window 10 s every 15 s
#   MINUTES=0.5 tools/bench_continuous.sh         # a short run (CI, smoke)
#
# Knobs (environment): MINUTES=10 HZ=10 WINDOW_MS=10000 EVERY_MS=15000 THREADS=1 KEEP=5
#   PROFILER=cpprof (or none: the same program without the profiler, the memory baseline)
#   OUT=build/bench_continuous (binary, files written by the profiler, the log)  CXX=g++
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT=${OUT:-build/bench_continuous}
CXX=${CXX:-g++}
mkdir -p "$OUT"
# -O2 without frame pointers, like the code cpprof is meant to profile.
"$CXX" -std=c++17 -O2 -g -Wall -Wextra -Werror -Iinclude \
  bench/continuous/driver.cpp bench/overhead/workload.cpp -o "$OUT/driver" -pthread
rm -rf "$OUT/profiles"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs," \
     "kernel $(uname -r), $("$CXX" --version | head -1); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$OUT/driver" --minutes "${MINUTES:-10}" --hz "${HZ:-10}" --window-ms "${WINDOW_MS:-10000}" \
  --every-ms "${EVERY_MS:-15000}" --threads "${THREADS:-1}" --keep "${KEEP:-5}" \
  --profiler "${PROFILER:-cpprof}" --dir "$OUT/profiles" | tee "$OUT/log-${PROFILER:-cpprof}.txt"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); files left: $(ls "$OUT/profiles" 2>/dev/null | wc -l)"
