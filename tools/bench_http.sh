#!/usr/bin/env bash
# The /debug/pprof server's costs, side by side with the anchor in the same run: cpprof's
# cpprof::http::server (bench/http/serve.cpp, default options) and Go's net/http/pprof
# (bench/http/serve_go.go, built with the machine's `go`).
#
#   tools/bench_http.sh          # builds both, runs, prints a markdown table
#
# 1. Requests per second on a small endpoint, /debug/pprof/cmdline, with wrk (Debian: wrk) from
#    loopback: for each round and each connection count, each server runs one wrk run of
#    DURATION seconds (order alternating by round); the server is pinned to CPU 1 and wrk to
#    CPU 0 (taskset), so each side has one core. Reported: medians over rounds of requests/s and
#    mean latency, the median of the per-round ratios cpprof / Go, and any non-2xx answer.
# 2. The CPU an idle server adds: a fresh server, nothing connected, for IDLE seconds; its CPU is
#    the sum of its threads' run time (/proc/PID/task/*/schedstat, nanoseconds) at the end minus
#    at the start, plus utime+stime from /proc/PID/stat as a cross-check (10 ms ticks).
#
# Knobs (environment): ROUNDS=5 DURATION=10 CONNECTIONS="1 16" IDLE=60 OUT=build/bench_http
#                      CXX=g++ SERVER_CPU=1 CLIENT_CPU=0
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/build/bench_http}
rounds=${ROUNDS:-5}
duration=${DURATION:-10}
connections=${CONNECTIONS:-"1 16"}
idle=${IDLE:-60}
server_cpu=${SERVER_CPU:-1}
client_cpu=${CLIENT_CPU:-0}
mkdir -p "$out"
out=$(cd "$out" && pwd)  # absolute: go wants an absolute GOCACHE

for tool in wrk go taskset; do
    command -v "$tool" >/dev/null || { echo "bench_http: $tool is not installed (tools/install-deps.sh)" >&2; exit 1; }
done

echo "building..." >&2
"${CXX:-g++}" -std=c++17 -O2 -DNDEBUG -I "$root/include" -pthread \
    "$root/bench/http/serve.cpp" -o "$out/serve_cpprof"
GOCACHE=${GOCACHE:-$out/gocache} GO111MODULE=off go build -o "$out/serve_go" "$root/bench/http/serve_go.go"

pid=""
port=""
cleanup() {
    if [[ -n "$pid" ]]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true  # Go's server dies of the SIGTERM: status 143
    fi
    pid=""
}
trap cleanup EXIT

start_server() {  # $1 = cpprof|go; sets pid and port
    rm -f "$out/port"
    taskset -c "$server_cpu" "$out/serve_$1" 0 >"$out/port" &
    pid=$!
    for _ in $(seq 100); do
        port=$(head -n1 "$out/port" 2>/dev/null || true)
        [[ -n "$port" ]] && return 0
        sleep 0.05
    done
    echo "bench_http: the $1 server did not start" >&2
    exit 1
}

# Run time of every thread of $pid, in nanoseconds.
thread_ns() {
    local total=0 t
    for t in /proc/"$pid"/task/*/schedstat; do
        total=$((total + $(cut -d' ' -f1 "$t")))
    done
    echo "$total"
}
# utime + stime of $pid (all threads, living and exited), in clock ticks.
process_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }

raw="$out/raw.txt"
: >"$raw"
for ((r = 1; r <= rounds; r++)); do
    order="cpprof go"
    ((r % 2 == 0)) && order="go cpprof"
    for c in $connections; do
        for side in $order; do
            start_server "$side"
            url="http://127.0.0.1:$port/debug/pprof/cmdline"
            curl -fsS -o /dev/null "$url"  # warm: first request served
            result=$(taskset -c "$client_cpu" wrk -t1 -c"$c" -d"${duration}s" --latency "$url")
            cleanup
            rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$result")
            lat=$(awk '$1 == "Latency" {print $2; exit}' <<<"$result")
            bad=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$result")
            errors=$(awk '/Socket errors:/ {print}' <<<"$result")
            echo "rps $r $c $side $rps $lat ${bad:-0} ${errors:+"$errors"}" | tee -a "$raw" >&2
        done
    done
done

ticks=$(getconf CLK_TCK)
for side in cpprof go; do
    start_server "$side"
    sleep 1
    ns0=$(thread_ns)
    t0=$(process_ticks)
    sleep "$idle"
    ns1=$(thread_ns)
    t1=$(process_ticks)
    threads=$(ls /proc/"$pid"/task | wc -l)
    cleanup
    echo "idle $side $idle $((ns1 - ns0)) $((t1 - t0)) $ticks $threads" | tee -a "$raw" >&2
done

python3 - "$raw" <<'PY'
import statistics, sys
from collections import defaultdict
rps = defaultdict(dict); lat = defaultdict(lambda: defaultdict(list)); bad = defaultdict(int)
idle = {}
def ms(s):
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if s.endswith(unit):
            return float(s[:-len(unit)]) * f
    return float(s)
for line in open(sys.argv[1]):
    w = line.split()
    if w[0] == "rps":
        r, c, side = int(w[1]), int(w[2]), w[3]
        rps[(c, side)][r] = float(w[4])
        lat[c][side].append(ms(w[5]))
        bad[(c, side)] += int(w[6])
    elif w[0] == "idle":
        side, secs, ns, t, hz, threads = w[1], float(w[2]), int(w[3]), int(w[4]), int(w[5]), w[6]
        idle[side] = (ns / 1e9 / secs * 100, t / hz / secs * 100, secs, threads)
conns = sorted({c for c, _ in rps})
print("| /debug/pprof/cmdline, wrk -t1 | cpprof req/s | Go req/s | cpprof / Go (median of rounds) | mean latency cpprof / Go | non-2xx |")
print("|---|---|---|---|---|---|")
for c in conns:
    a, b = rps[(c, "cpprof")], rps[(c, "go")]
    ratios = [a[r] / b[r] for r in a if r in b]
    print(f"| {c} connection{'s' if c > 1 else ''} | {statistics.median(a.values()):,.0f} | "
          f"{statistics.median(b.values()):,.0f} | {statistics.median(ratios):.2f}x "
          f"(range {min(ratios):.2f}-{max(ratios):.2f}) | "
          f"{statistics.median(lat[c]['cpprof']):.3f} / {statistics.median(lat[c]['go']):.3f} ms | "
          f"{bad[(c, 'cpprof')]} / {bad[(c, 'go')]} |")
print()
print("| idle server | CPU, % of one core (thread run time) | cross-check (utime+stime) | threads |")
print("|---|---|---|---|")
for side in ("cpprof", "go"):
    if side in idle:
        pct, tick_pct, secs, threads = idle[side]
        print(f"| {side} ({secs:.0f} s) | {pct:.5f} % | {tick_pct:.3f} % | {threads} |")
PY
