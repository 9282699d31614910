#!/usr/bin/env bash
# pprof encode/decode throughput: cpprof vs the C++ code protoc generates from pprof's
# profile.proto, side by side in one run (bench/pprof_vs_protobuf/bench_pprof_codec.cpp).
#
#   tools/bench_pprof_codec.sh       # builds with protoc + g++ -O2, runs pinned, prints a table
#
# Knobs (environment):
#   REPETITIONS=15   Google Benchmark repetitions of every benchmark, randomly interleaved
#                    (--benchmark_enable_random_interleaving), so the benchmarks share the
#                    machine's slow and quiet moments
#   MIN_TIME=0.5     seconds per repetition
#   CPU=1            the CPU to pin to (taskset); CPU= (empty) does not pin
#   PROTO=/usr/share/gocode/src/github.com/google/pprof/proto/profile.proto
#   OUT=build/bench_pprof_codec   generated code, binary, JSON, table
#   TABULATE=1       runs nothing: re-tabulates OUT/codec.json
#   CXX=g++
#
# Needs libprotobuf-dev, protobuf-compiler, golang-github-google-pprof-dev (profile.proto) and
# libbenchmark-dev: tools/install-deps.sh installs them. The CMake/Meson target
# cpprof_bench_pprof_codec is the same program.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
REPETITIONS=${REPETITIONS:-15}
MIN_TIME=${MIN_TIME:-0.5}
CPU=${CPU-1}
PROTO=${PROTO:-/usr/share/gocode/src/github.com/google/pprof/proto/profile.proto}
OUT=${OUT:-build/bench_pprof_codec}
CXX=${CXX:-g++}
mkdir -p "$OUT"

pin=()
if [[ -n $CPU ]]; then pin=(taskset -c "$CPU"); fi

if [[ -z ${TABULATE:-} ]]; then
  for need in protoc; do
    command -v "$need" >/dev/null || { echo "$need not found: run tools/install-deps.sh" >&2; exit 1; }
  done
  [[ -f $PROTO ]] || { echo "$PROTO not found: run tools/install-deps.sh" >&2; exit 1; }
  echo "protoc $(protoc --version | cut -d' ' -f2): $PROTO -> $OUT" >&2
  protoc --cpp_out="$OUT" -I "$(dirname "$PROTO")" "$PROTO"
  echo "building $OUT/codec (-O2 -DNDEBUG)" >&2
  "$CXX" -std=c++17 -O2 -DNDEBUG -Iinclude -I"$OUT" bench/main.cpp \
    bench/pprof_vs_protobuf/bench_pprof_codec.cpp "$OUT/profile.pb.cc" \
    -lprotobuf -lbenchmark -pthread -o "$OUT/codec"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" > "$OUT/load.txt"
  "${pin[@]}" "$OUT/codec" --benchmark_repetitions="$REPETITIONS" --benchmark_min_time="$MIN_TIME" \
    --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \
    --benchmark_out="$OUT/codec.json" --benchmark_out_format=json >&2
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/load.txt"
fi

echo
echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) vCPU, kernel $(uname -r), $("$CXX" --version | head -1), protobuf $(protoc --version | cut -d' ' -f2) (Debian libprotobuf), pinned to CPU ${CPU:-none}"
echo "Load average: $(tr '\n' ';' < "$OUT/load.txt")"
echo
python3 - "$OUT/codec.json" <<'PY'
import json, sys

data = json.load(open(sys.argv[1]))
agg = {}
for b in data["benchmarks"]:
    name = b["run_name"].split("/")[1]
    agg.setdefault(name, {})[b["aggregate_name"]] = b
first = next(iter(agg.values()))["median"]
reps = data["benchmarks"][0].get("repetitions", "?")
print("Profile: %d samples, %d locations, %d functions, %d strings; %.2f MB of pprof (uncompressed); "
      "%s repetitions, medians; MB/s = 10^6 bytes of that message per second of CPU time"
      % (first["samples"], first["locations"], first["functions"], first["strings"],
         first["pprof_bytes"] / 1e6, reps))
print()
rows = [
    ("encode_cpprof", "encode", "cpprof::encode_pprof (raw, no gzip)", None),
    ("encode_protobuf_fill_serialize", "encode", "protobuf: fill Profile from the cpprof::profile + SerializeToString", "encode_cpprof"),
    ("encode_protobuf_serialize", "encode", "protobuf: SerializeToString alone (message already filled)", "encode_cpprof"),
    ("decode_cpprof", "decode", "cpprof::parse_pprof (-> cpprof::profile, checked)", None),
    ("decode_protobuf_parse_convert", "decode", "protobuf: ParseFromString + convert to cpprof::profile", "decode_cpprof"),
    ("decode_protobuf_parse", "decode", "protobuf: ParseFromString alone (heap message)", "decode_cpprof"),
    ("decode_protobuf_parse_arena", "decode", "protobuf: ParseFromString alone (Arena message)", "decode_cpprof"),
]
print("| | what | CPU ms (median) | MB/s | cv | wall ms (median) | cpprof is ... faster (>1) / slower (<1) |")
print("|---|---|---|---|---|---|---|")
for key, kind, what, base in rows:
    if key not in agg:
        continue
    m = agg[key]["median"]
    cv = agg[key].get("cv", {}).get("cpu_time")
    ms = m["cpu_time"]
    mbs = m["bytes_per_second"] / 1e6
    if base and base in agg:
        ratio = "%.2f×" % (ms / agg[base]["median"]["cpu_time"])
    else:
        ratio = "(cpprof)"
    print("| %s | %s | %.1f | %.1f | %s | %.1f | %s |" % (kind, what, ms, mbs,
          ("%.1f %%" % (100 * cv)) if cv is not None else "-", m["real_time"], ratio))
PY
