#!/usr/bin/env bash
# Heap profiling overhead, side by side: one allocation-heavy workload (bench/heap/workload.cpp:
# small new/delete, std::map inserts, string building; ~6 M operator new calls, ~0.4 s here)
# run plain, with cpprof's global operator new tracking, with cpprof's heap profiler (default
# 512 KiB Poisson sampling, and every allocation), and under the anchors: tcmalloc alone,
# tcmalloc's own 512 KiB sampling, gperftools' HEAPPROFILE (default and libgcc unwinder), and
# heaptrack.
#
#   tools/bench_heap.sh            # builds, runs, prints a markdown table
#
# Knobs (environment):
#   ROUNDS=15             rounds; every configuration runs once per round, in an order rotated
#                         by one each round (A B C ..., B C ... A, ...)
#   SLOW="every heapprofile heapprofile-libgcc"   configurations run only in the first
#   SLOW_ROUNDS=5         SLOW_ROUNDS rounds (each takes 15-60 s per run here; paired with the
#                         plain run of the same round like the others)
#   CONFIGS="..."         subset of the configuration names below (plain always runs)
#   REQUESTS=150000       workload size (~0.4 s plain on a 2-vCPU EPYC)
#   OUT=build/bench_heap  binaries, raw results, logs, the table; profiles go to OUT/tmp and
#                         are deleted after each run (their size is recorded)
#   TABULATE=DIR          runs nothing: tabulates DIR/raw.txt of an earlier run
#   CXX=g++  TCMALLOC=/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4
#
# Two timings per run, both recorded for every configuration:
#   - "workload": the program times run_workload() itself (CLOCK_MONOTONIC around the loop),
#     so process start-up, the profiler's start and writing the profile are excluded;
#   - "process": the whole process (tree), fork to wait4, from this script; with CPU time
#     (user + sys) and peak RSS of the largest process of the tree from wait4's rusage.
# The table's headline ratio uses the workload timing for cpprof and tcmalloc, whose costs are
# all inside the loop, and the process timing for heaptrack (its interpreter keeps working in
# another process after the loop) and HEAPPROFILE (dumps at exit). Ratios are medians of
# per-round ratios against the plain run of the same round (paired, so slow drifts of a shared
# machine cancel); the bracket is the interquartile range of those ratios.
#
# cpprof variants are separate binaries (the operator new replacement is link-time); a variant
# whose build fails (e.g. the heap profiler API is not there yet) is skipped with a message.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ROUNDS=${ROUNDS:-15}
SLOW=${SLOW:-"every heapprofile heapprofile-libgcc"}
SLOW_ROUNDS=${SLOW_ROUNDS:-5}
REQUESTS=${REQUESTS:-150000}
OUT=${OUT:-build/bench_heap}
CXX=${CXX:-g++}
TCMALLOC=${TCMALLOC:-/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4}
mkdir -p "$OUT"
load_start=$(cut -d" " -f1-3 /proc/loadavg)

if [[ -z ${TABULATE:-} ]]; then
  echo "building $OUT/heap_{plain,tracked,sampled,every} (-O2)" >&2
  "$CXX" -std=c++17 -O2 -c bench/heap/workload.cpp -o "$OUT/workload.o"
  built=""
  variants=(plain tracked sampled every)
  for i in 0 1 2 3; do
    v=${variants[$i]}
    rm -f "$OUT/heap_$v"
    if ! "$CXX" -std=c++17 -O2 -Iinclude -pthread -DHEAPBENCH_VARIANT=$i bench/heap/driver.cpp \
         "$OUT/workload.o" -ldl -o "$OUT/heap_$v" 2> "$OUT/build_$v.log"; then
      echo "skipping '$v': its build failed (see $OUT/build_$v.log)" >&2
    elif ! "$OUT/heap_$v" 100 /dev/null >> "$OUT/build_$v.log" 2>&1; then
      echo "skipping '$v': a 100-request trial run failed (see $OUT/build_$v.log)" >&2
    else
      built+=" $v"
    fi
  done
  [[ -x $OUT/heap_plain ]] || { cat "$OUT/build_plain.log" >&2; exit 1; }
  have_tcmalloc=0; [[ -e $TCMALLOC ]] && have_tcmalloc=1
  have_heaptrack=0; command -v heaptrack > /dev/null && have_heaptrack=1
  [[ $have_tcmalloc == 1 ]] || echo "skipping the tcmalloc anchors: no $TCMALLOC" >&2
  [[ $have_heaptrack == 1 ]] || echo "skipping heaptrack: not installed" >&2

  python3 - "$OUT" "$REQUESTS" "$ROUNDS" "$SLOW" "$SLOW_ROUNDS" "${CONFIGS:-}" "$built" \
      "$have_tcmalloc" "$have_heaptrack" "$TCMALLOC" <<'EOF'
import os, sys, time, shutil, subprocess
out, requests, rounds, slow, slow_rounds, only, built, have_tc, have_ht, tcmalloc = sys.argv[1:]
rounds, slow_rounds, slow = int(rounds), int(slow_rounds), slow.split()
built = built.split()
tmp = os.path.join(out, 'tmp')
raw = os.path.join(out, 'raw.txt')
log = open(os.path.join(out, 'runs.log'), 'w')
open(raw, 'w').close()
bin_ = lambda v: os.path.abspath(os.path.join(out, 'heap_' + v))
tc = {'LD_PRELOAD': tcmalloc}
# name, binary, extra environment, command prefix, passes a profile path
configs = [
    ('plain', 'plain', {}, [], False),
    ('tracked', 'tracked', {}, [], False),
    ('sampled', 'sampled', {}, [], True),
    ('every', 'every', {}, [], True),
]
if have_tc == '1':
    configs += [
        ('tcmalloc', 'plain', tc, [], False),
        ('tcmalloc-sample', 'plain', {**tc, 'TCMALLOC_SAMPLE_PARAMETER': '524288'}, [], False),
        ('heapprofile', 'plain', {**tc, 'HEAPPROFILE': '{tmp}/hp'}, [], False),
        ('heapprofile-libgcc', 'plain',
         {**tc, 'HEAPPROFILE': '{tmp}/hp', 'TCMALLOC_STACKTRACE_METHOD': 'libgcc'}, [], False),
    ]
if have_ht == '1':
    configs.append(('heaptrack', 'plain', {}, ['heaptrack', '-o', '{tmp}/heaptrack'], False))
configs = [c for c in configs if c[1] in built]
if only:
    configs = [c for c in configs if c[0] == 'plain' or c[0] in only.split()]

def run(rnd, name, binary, env, prefix, wants_profile):
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    res = os.path.join(tmp, 'result.txt')
    # The configuration's variables (LD_PRELOAD, HEAPPROFILE, ...) are set by env(1) for the
    # measured command only, not for /usr/bin/time around it.
    setenv = ['env'] + [f"{k}={v.replace('{tmp}', tmp)}" for k, v in env.items()] if env else []
    cmd = setenv + [a.replace('{tmp}', tmp) for a in prefix] + [bin_(binary), requests, res]
    if wants_profile: cmd.append(os.path.join(tmp, 'heap.pb.gz'))
    log.write(f"round={rnd} config={name}: {' '.join(cmd)}\n")
    log.flush()
    # Through /usr/bin/time, only for %M: a process's peak RSS counts the memory of the process
    # it was forked from (kept across exec), so the program must be forked by a small process,
    # not by this Python. Wall time and CPU (user + sys of time and everything it waited for)
    # are taken here, at full resolution.
    rss = os.path.join(out, 'rss.txt')
    cmd = ['/usr/bin/time', '-f', '%M', '-o', rss] + cmd
    t0 = time.monotonic_ns()
    p = subprocess.Popen(cmd, stdout=log, stderr=log)
    _, status, ru = os.wait4(p.pid, 0)
    t1 = time.monotonic_ns()
    p.returncode = os.waitstatus_to_exitcode(status)
    tree_maxrss = int(open(rss).read().split()[-1])
    if p.returncode != 0 or not os.path.exists(res):
        sys.exit(f"\nround {rnd}, {name}: exit code {p.returncode} (see {out}/runs.log)")
    line = open(res).read().strip()
    artifacts = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(tmp)
                    for f in fs if f != 'result.txt')
    nfiles = sum(len([f for f in fs if f != 'result.txt']) for _, _, fs in os.walk(tmp))
    cpu = int((ru.ru_utime + ru.ru_stime) * 1e9)
    with open(raw, 'a') as f:
        f.write(f"round={rnd} config={name} proc_wall_ns={t1 - t0} proc_cpu_ns={cpu} "
                f"tree_maxrss_kb={tree_maxrss} artifact_bytes={artifacts} artifact_files={nfiles} {line}\n")

plan = []
for r in range(rounds):
    cs = [c for c in configs if c[0] not in slow or r < slow_rounds]
    k = r % len(cs)
    plan += [(r, c) for c in cs[k:] + cs[:k]]
for i, (r, c) in enumerate(plan):
    print(f"\r{i + 1}/{len(plan)} runs (round {r + 1}/{rounds}: {c[0]})          ", end='',
          file=sys.stderr, flush=True)
    run(r, *c)
print(file=sys.stderr)
shutil.rmtree(tmp, ignore_errors=True)
EOF
  raw="$OUT/raw.txt"
  info="Load average at the start: $load_start, at the end: $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS alternating rounds (${SLOW// /, }: first $SLOW_ROUNDS), medians"
else
  raw="$TABULATE/raw.txt"
  info="Tabulated from $raw"
fi

{
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) vCPU, kernel $(uname -r), $("$CXX" --version | head -1)"
  echo "$info"
  echo
  python3 - "$raw" <<'EOF'
import sys, statistics as st
from collections import defaultdict, OrderedDict
runs = OrderedDict()   # config -> round -> record
for line in open(sys.argv[1]):
    rec = dict(kv.split('=', 1) for kv in line.split())
    runs.setdefault(rec['config'], {})[int(rec['round'])] = rec
med = lambda xs: st.median(xs) if xs else float('nan')
def iqr(xs):
    xs = sorted(xs)
    if len(xs) < 4: return xs[0], xs[-1]
    q = st.quantiles(xs, n=4)
    return q[0], q[2]
process_timed = lambda cfg: cfg == 'heaptrack' or cfg.startswith('heapprofile')
desc = {
    'plain': 'plain (glibc malloc, no cpprof)',
    'tracked': 'cpprof global operator new tracking, no profiler',
    'sampled': 'cpprof heap profiler, 512 KiB Poisson sampling (default)',
    'every': 'cpprof heap profiler, sampling_interval(1): every allocation',
    'tcmalloc': 'tcmalloc alone (LD_PRELOAD)',
    'tcmalloc-sample': 'tcmalloc, TCMALLOC_SAMPLE_PARAMETER=524288',
    'heapprofile': 'gperftools HEAPPROFILE (tcmalloc), default unwinder',
    'heapprofile-libgcc': 'gperftools HEAPPROFILE, TCMALLOC_STACKTRACE_METHOD=libgcc',
    'heaptrack': 'heaptrack 1.4 (every allocation, separate interpreter)',
}
base = runs['plain']
tcb = runs.get('tcmalloc', {})
def ratios(rs, b, key):
    return [int(r[key]) / int(b[k][key]) for k, r in rs.items() if k in b]
def fmt_ratio(xs):
    if not xs: return '-'
    lo, hi = iqr(xs)
    return f"{med(xs):.3f}× ({lo:.2f}–{hi:.2f})" if med(xs) < 10 else f"{med(xs):.1f}× ({lo:.1f}–{hi:.1f})"
mib = lambda kb: kb / 1024
print("| configuration | rounds | timed | ratio vs plain (IQR) | vs tcmalloc alone | workload s | "
      "workload ratio | process s | process ratio | process CPU ratio | peak RSS, program | "
      "peak RSS, largest process | output |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for cfg, rs in runs.items():
    key = 'proc_wall_ns' if process_timed(cfg) else 'wall_ns'
    head = ratios(rs, base, key) if cfg != 'plain' else []
    vs_tc = ratios(rs, tcb, key) if cfg.startswith(('tcmalloc-', 'heapprofile')) and tcb else []
    wl = [int(r['wall_ns']) / 1e9 for r in rs.values()]
    pw = [int(r['proc_wall_ns']) / 1e9 for r in rs.values()]
    art = med([int(r['artifact_bytes']) for r in rs.values()])
    files = med([int(r['artifact_files']) for r in rs.values()])
    out = '-' if not art else (f"{art / 1048576:.1f} MiB" if art >= 1048576 else f"{art / 1024:.0f} KiB") + \
        (f" ({files:.0f} files)" if files > 1 else '')
    print(f"| {desc.get(cfg, cfg)} | {len(rs)} | {'process' if process_timed(cfg) else 'workload'} "
          f"| {fmt_ratio(head) if cfg != 'plain' else '1'} | {fmt_ratio(vs_tc) if vs_tc else '-'} "
          f"| {med(wl):.3f} | {fmt_ratio(ratios(rs, base, 'wall_ns')) if cfg != 'plain' else '-'} "
          f"| {med(pw):.3f} | {fmt_ratio(ratios(rs, base, 'proc_wall_ns')) if cfg != 'plain' else '-'} "
          f"| {fmt_ratio(ratios(rs, base, 'proc_cpu_ns')) if cfg != 'plain' else '-'} "
          f"| {mib(med([int(r['maxrss_kb']) for r in rs.values()])):.1f} MiB "
          f"| {mib(med([int(r['tree_maxrss_kb']) for r in rs.values()])):.1f} MiB | {out} |")
print()
cp = [c for c in ('tracked', 'sampled', 'every') if c in runs]
if cp:
    print("| cpprof | operator new calls in the loop | bytes | profile records | value totals | start ms | stop ms | write ms |")
    print("|---|---|---|---|---|---|---|---|")
    for cfg in cp:
        rs = list(runs[cfg].values())
        m = lambda k, s=1: med([int(r[k]) / s for r in rs if k in r])
        tot = ', '.join(f"{k[5:]} {m(k):.0f}" for k in rs[0] if k.startswith('heap_'))
        g = lambda k, s=1, f='{:.1f}': f.format(m(k, s)) if k in rs[0] else '-'
        print(f"| {cfg} | {g('allocations', 1, '{:.0f}')} | {g('alloc_bytes', 1, '{:.0f}')} "
              f"| {g('profile_samples', 1, '{:.0f}')} | {tot or '-'} | {g('start_ns', 1e6)} "
              f"| {g('stop_ns', 1e6)} | {g('write_ns', 1e6)} |")
    print()
sums = {r['checksum'] for rs in runs.values() for r in rs.values()}
if len(sums) != 1:
    print(f"WARNING: the runs computed different checksums: {sorted(sums)}")
EOF
} | tee "$OUT/table.md"
