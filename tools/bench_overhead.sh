#!/usr/bin/env bash
# CPU profiler overhead, side by side: no profiler vs cpprof vs gperftools' CPU profiler on the
# same CPU-bound workload (bench/overhead/workload.cpp), 1, 2 and 4 threads.
#
#   tools/bench_overhead.sh            # builds, runs, prints a markdown table
#
# Knobs (environment):
#   ROUNDS=7              runs of every configuration; configurations alternate within a round
#                         (A B C ... A B C ...), rotated by one each round
#   REQUESTS=550000       requests per thread for 1 and 2 threads (~1.4 s of CPU per thread
#                         here); 4 threads run REQUESTS/2 each (oversubscribed 2 cores)
#   THREADS="1 2 4"       thread counts
#   CONFIGS="..."         subset of the configuration names below (default: all)
#   PROBE=1               also time the signal sources alone (signal_source_probe.cpp, empty
#                         handler, 1000 Hz, ROUNDS alternating rounds); PROBE=0 skips it
#   OUT=build/bench_overhead   where the binary, the raw results and the table go
#   TABULATE="DIR1 DIR2"  runs nothing: pools the raw results of earlier runs (their OUT
#                         directories) into one table, e.g. two 7-round runs into 14 rounds
#   CXX=g++
#
# Every run prints one line of key=value (see bench/overhead/driver.cpp); the table reports
# medians over the rounds, and overheads as the median of the per-round ratios against the
# no-profiler run of the same round (paired, so slow drifts of a shared machine cancel).
# gperftools is used as Debian ships it (libprofiler.so.0, libgoogle-perftools4), loaded with
# dlopen, with its default process-wide setitimer(ITIMER_PROF) timer.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ROUNDS=${ROUNDS:-7}
REQUESTS=${REQUESTS:-550000}
THREADS=${THREADS:-"1 2 4"}
OUT=${OUT:-build/bench_overhead}
CXX=${CXX:-g++}
mkdir -p "$OUT"

# name|driver arguments
all_configs=(
  "none|--profiler none"
  "cpprof-10|--profiler cpprof --hz 10"
  "cpprof-100|--profiler cpprof --hz 100"
  "cpprof-1000|--profiler cpprof --hz 1000"
  "cpprof-1000-fp|--profiler cpprof --hz 1000 --unwinder frame_pointer"
  "cpprof-100-posix|--profiler cpprof --hz 100 --timer posix_timer"
  "cpprof-1000-posix|--profiler cpprof --hz 1000 --timer posix_timer"
  "gperftools-10|--profiler gperftools --hz 10"
  "gperftools-100|--profiler gperftools --hz 100"
  "gperftools-1000|--profiler gperftools --hz 1000"
)
configs=()
for c in "${all_configs[@]}"; do
  name=${c%%|*}
  if [[ -z "${CONFIGS:-}" || " $CONFIGS " == *" $name "* || $name == none ]]; then configs+=("$c"); fi
done

if [[ -n ${TABULATE:-} ]]; then
  # Pool earlier runs: rounds of the k-th directory are renumbered k*1000 + round, so the
  # pairing with the no-profiler run stays within one original round.
  raw="$OUT/raw.txt"
  probe="$OUT/probe.txt"
  : > "$raw"
  : > "$probe"
  k=0
  for d in $TABULATE; do
    sed -E "s/^round=([0-9]+)/round=$((k * 1000))+\1/" "$d/raw.txt" |
      awk '{ split($1, a, "="); split(a[2], b, "+"); $1 = "round=" (b[1] + b[2]); print }' >> "$raw"
    if [[ -s $d/probe.txt ]]; then
      sed -E "s/^round=([0-9]+)/round=$((k * 1000))+\1/" "$d/probe.txt" |
        awk '{ split($1, a, "="); split(a[2], b, "+"); $1 = "round=" (b[1] + b[2]); print }' >> "$probe"
    fi
    k=$((k + 1))
  done
  ROUNDS="$(awk '{ print $1 }' "$raw" | sort -u | wc -l) pooled"
else
  echo "building $OUT/overhead_driver (-O2, no -fno-omit-frame-pointer)" >&2
  "$CXX" -std=c++17 -O2 -Iinclude -pthread bench/overhead/workload.cpp bench/overhead/driver.cpp \
    -ldl -o "$OUT/overhead_driver"
  "$CXX" -std=c++17 -O2 bench/overhead/signal_source_probe.cpp -o "$OUT/signal_source_probe"

  raw="$OUT/raw.txt"
  : > "$raw"
  n=${#configs[@]}
  total=$((ROUNDS * n * $(wc -w <<< "$THREADS")))
  done_runs=0
  for ((r = 0; r < ROUNDS; r++)); do
    for t in $THREADS; do
      req=$REQUESTS
      if ((t > 2)); then req=$((REQUESTS * 2 / t)); fi
      for ((i = 0; i < n; i++)); do
        c=${configs[$(((i + r) % n))]}
        name=${c%%|*}
        args=${c#*|}
        # shellcheck disable=SC2086
        line=$("$OUT/overhead_driver" $args --threads "$t" --requests "$req" 2>>"$OUT/stderr.txt")
        echo "round=$r config=$name $line" >> "$raw"
        done_runs=$((done_runs + 1))
        printf '\r%d/%d runs' "$done_runs" "$total" >&2
      done
    done
  done
  echo >&2

  probe="$OUT/probe.txt"
  : > "$probe"
  if [[ ${PROBE:-1} != 0 ]]; then
    sources=(none fasync sigtrap posix)
    for ((r = 0; r < ROUNDS; r++)); do
      for ((i = 0; i < ${#sources[@]}; i++)); do
        m=${sources[$(((i + r) % ${#sources[@]}))]}
        echo "round=$r $("$OUT/signal_source_probe" "$m" 1000 1000000000)" >> "$probe"
        printf '\rprobe %d/%d' $((r * ${#sources[@]} + i + 1)) $((ROUNDS * ${#sources[@]})) >&2
      done
    done
    echo >&2
  fi

fi

{
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) vCPU, kernel $(uname -r), $("$CXX" --version | head -1)"
  if [[ -n ${TABULATE:-} ]]; then
    echo "Pooled from: $TABULATE; $ROUNDS alternating rounds, medians"
  else
    echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS alternating rounds, medians"
  fi
  echo
  python3 - "$raw" "$probe" <<'EOF'
import sys, statistics as st
from collections import defaultdict
raw, probe = sys.argv[1], sys.argv[2]
runs = defaultdict(dict)          # (threads, config) -> round -> record
order = []
for line in open(raw):
    rec = dict(kv.split('=', 1) for kv in line.split())
    key = (int(rec['threads']), rec['config'])
    if key not in runs: order.append(key)
    runs[key][int(rec['round'])] = rec
def med(xs): return st.median(xs) if xs else float('nan')
def per_sample(ns, rate):
    # Under ~500 samples per CPU-second the run-to-run noise (a few % of the CPU time) is
    # larger than the profiler's cost: the quotient would be noise, so it is not shown.
    return f"{ns/1e3:.1f} µs" if rate >= 500 and ns == ns else "(noise)"
def ratio(x, rate):
    return f"{x:.2f}" if rate >= 500 and x == x else "-"
def quart(xs):
    xs = sorted(xs)
    if len(xs) < 4: return xs[0], xs[-1]
    q = st.quantiles(xs, n=4)
    return q[0], q[2]
label = {
  'none': ('none', '-', '-'),
  'cpprof-10': ('cpprof', '10', 'libgcc, perf_event'),
  'cpprof-100': ('cpprof', '100', 'libgcc, perf_event'),
  'cpprof-1000': ('cpprof', '1000', 'libgcc, perf_event'),
  'cpprof-1000-fp': ('cpprof', '1000', 'frame_pointer, perf_event'),
  'cpprof-100-posix': ('cpprof', '100', 'libgcc, posix_timer'),
  'cpprof-1000-posix': ('cpprof', '1000', 'libgcc, posix_timer'),
  'gperftools-10': ('gperftools 2.10', '10', 'libunwind, setitimer'),
  'gperftools-100': ('gperftools 2.10', '100', 'libunwind, setitimer'),
  'gperftools-1000': ('gperftools 2.10', '1000', 'libunwind, setitimer'),
}
costs = []
for threads in sorted({k[0] for k in order}):
    base = runs.get((threads, 'none'), {})
    req = next(iter(base.values()))['requests'] if base else '?'
    print(f"#### {threads} thread{'s' if threads > 1 else ''} ({req} requests each)\n")
    print("| profiler | Hz | unwinder, timer | wall s | CPU s | wall overhead | CPU overhead (IQR) "
          "| samples | % of asked | dropped | frames/sample | CPU per sample |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (t, cfg) in order:
        if t != threads: continue
        rs = runs[(t, cfg)]
        vals = lambda key, scale=1: [int(r[key]) / scale for r in rs.values()]
        wall, cpu = vals('wall_ns', 1e9), vals('cpu_ns', 1e9)
        samples = vals('samples')
        dropped = sum(vals('dropped'))
        depth = [float(r['mean_depth']) for r in rs.values()]
        hz = int(rs[next(iter(rs))]['hz'])
        asked = [int(r['workers_cpu_ns']) / 1e9 * hz for r in rs.values()]
        rw, rc, per, loc, iwi = [], [], [], [], []
        for k, r in rs.items():
            b = base.get(k)
            if not b: continue
            rw.append(int(r['wall_ns']) / int(b['wall_ns']) - 1)
            rc.append(int(r['cpu_ns']) / int(b['cpu_ns']) - 1)
            n = int(r['samples'])
            if n > 0:
                per.append((int(r['cpu_ns']) - int(b['cpu_ns'])) / n)
                loc.append((int(r.get('timer_irqs', 0)) - int(b.get('timer_irqs', 0))) / n)
                iwi.append((int(r.get('irq_work_irqs', 0)) - int(b.get('irq_work_irqs', 0))) / n)
        name, hzs, how = label.get(cfg, (cfg, str(hz), ''))
        if cfg == 'none':
            print(f"| none | - | - | {med(wall):.3f} | {med(cpu):.3f} | - | - | - | - | - | - | - |")
            continue
        q1, q3 = quart(rc)
        pct = 100 * med(samples) / med(asked) if hz else float('nan')
        print(f"| {name} | {hzs} | {how} | {med(wall):.3f} | {med(cpu):.3f} | {100*med(rw):+.1f} % "
              f"| {100*med(rc):+.2f} % ({100*q1:+.1f}..{100*q3:+.1f}) | {med(samples):.0f} | {pct:.0f} % "
              f"| {dropped:.0f} | {med(depth):.1f} | {per_sample(med(per), med(samples) / med(cpu))} |")
        coll = [int(r['collector_cpu_ns']) / int(r['wall_ns']) * 1e3 for r in rs.values()]
        costs.append((threads, name, hzs, how, med(samples) / med(cpu), med(per), med(loc), med(iwi),
                      med(coll) if name == 'cpprof' else None, med(vals('stop_ns', 1e6))))
    print()
print("#### Where the time goes (medians; interrupts are system-wide deltas against the no-profiler run of the same round)\n")
print("| threads | profiler | Hz | unwinder, timer | CPU per sample | extra timer IRQs per sample | IRQ-work IRQs per sample | collector CPU, ms per s | stop ms |")
print("|---|---|---|---|---|---|---|---|---|")
for (t, name, hzs, how, n, per, loc, iwi, coll, stop) in costs:
    c = f"{coll:.2f}" if coll is not None else "-"
    print(f"| {t} | {name} | {hzs} | {how} | {per_sample(per, n)} | {ratio(loc, n)} | {ratio(iwi, n)} | {c} | {stop:.1f} |")
print()
prec = defaultdict(dict)
for line in open(probe):
    rec = dict(kv.split('=', 1) for kv in line.split())
    prec[rec['mode']][int(rec['round'])] = rec
if prec:
    print("#### The signal source alone (signal_source_probe: empty handler, 1 thread spinning, 1000 Hz asked)\n")
    print("| source | signals per CPU-second | CPU per signal (IQR) | timer IRQs per signal | IRQ-work IRQs per signal |")
    print("|---|---|---|---|---|")
    names = {'fasync': "perf_event cpu-clock, O_ASYNC/F_SETSIG (cpprof's perf_event source)",
             'sigtrap': 'perf_event cpu-clock, attr.sigtrap (synchronous SIGTRAP)',
             'posix': "POSIX timer on the thread CPU clock (cpprof's posix_timer source)"}
    base = prec.get('none', {})
    for mode in ('fasync', 'sigtrap', 'posix'):
        rs = prec.get(mode, {})
        per, loc, iwi, rate = [], [], [], []
        for k, r in rs.items():
            b = base.get(k)
            n = int(r['signals'])
            if not b or n == 0: continue
            per.append((int(r['cpu_ns']) - int(b['cpu_ns'])) / n)
            loc.append((int(r['timer_irqs']) - int(b['timer_irqs'])) / n)
            iwi.append((int(r['irq_work_irqs']) - int(b['irq_work_irqs'])) / n)
            rate.append(n / (int(r['cpu_ns']) / 1e9))
        if not per: continue
        q1, q3 = quart(per)
        print(f"| {names[mode]} | {med(rate):.0f} | {med(per)/1e3:.1f} µs ({q1/1e3:.1f}..{q3/1e3:.1f}) "
              f"| {med(loc):.2f} | {med(iwi):.2f} |")
    print()
sums = {}
for (t, cfg), rs in runs.items():
    for r in rs.values():
        sums.setdefault((t, r['checksum']), 0)
if len({t for t, _ in sums}) != len(sums):
    print("WARNING: runs with the same thread count computed different checksums")
EOF
} | tee "$OUT/table.md"
