#!/usr/bin/env bash
# Flame graph rendering, side by side: cpprof (read_folded + write_flamegraph, file to file) vs
# Brendan Gregg's flamegraph.pl on the same folded input, in one run; wall time and peak RSS.
#
#   tools/bench_flamegraph.sh          # builds, generates the inputs, runs, prints markdown tables
#
# Knobs (environment):
#   ROUNDS=5          rounds; in each, every input is rendered by flamegraph.pl once and by cpprof
#                     CPPROF_RUNS times (order alternating between rounds)
#   CPPROF_RUNS=3     cpprof runs per input and round (its round figure is their median)
#   INPUTS="tree anchor anchor-50k"   which inputs (bench/gen_folded.py, see "inputs" below)
#   CPU=1             the CPU to pin every run to (taskset); CPU= (empty) does not pin
#   FLAMEGRAPH_PL=    a flamegraph.pl to use; default build/FlameGraph/flamegraph.pl, cloned at
#                     the pinned commit below when missing and the network allows (never part of
#                     this repository). NO_PERL=1 runs cpprof alone.
#   OUT=build/bench_flamegraph   binary, inputs, SVGs, raw results, table
#   TABULATE=1        runs nothing: re-tabulates OUT/raw.txt
#   CXX=g++
#
# One process per run, each through /usr/bin/time (%e wall, %M peak RSS of the process), so a
# run's memory is its own. cpprof's driver (bench/flamegraph/render.cpp) also reports its split:
# read_folded vs write_flamegraph. Ratios are medians of per-round ratios (paired by round).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ROUNDS=${ROUNDS:-5}
CPPROF_RUNS=${CPPROF_RUNS:-3}
INPUTS=${INPUTS:-"tree anchor anchor-50k"}
CPU=${CPU-1}
OUT=${OUT:-build/bench_flamegraph}
CXX=${CXX:-g++}
FLAMEGRAPH_COMMIT=cd9ee4c4449775a2f867acf31c84b7fe4b132ad5
mkdir -p "$OUT"

# inputs: name|gen_folded.py arguments|what
inputs_all=(
  "tree|--shape tree|call-graph stacks (shared prefixes), 200 000 stacks, 1 M samples"
  "tree-100m|--shape tree --samples 100000000|call-graph stacks, 200 000 stacks, 100 M samples"
  "uniform|--shape uniform|uniform independent frames, 200 000 stacks, 1 M samples"
  "anchor|--shape uniform --samples 100000000|uniform independent frames, 200 000 stacks, 100 M samples (the anchors' 200 000 row)"
  "anchor-50k|--shape uniform --stacks 50000 --samples 25000000|uniform independent frames, 50 000 stacks, 25 M samples (the anchors' 50 000 row)"
)
describe() {
  for i in "${inputs_all[@]}"; do
    IFS='|' read -r n a w <<<"$i"
    if [[ $n == "$1" ]]; then echo "$w"; return; fi
  done
}

pin=()
if [[ -n $CPU ]]; then pin=(taskset -c "$CPU"); fi

raw="$OUT/raw.txt"
if [[ -z ${TABULATE:-} ]]; then
  echo "building $OUT/render (-O2 -DNDEBUG)" >&2
  "$CXX" -std=c++17 -O2 -DNDEBUG -Iinclude bench/flamegraph/render.cpp -o "$OUT/render"

  perl_script=""
  if [[ -z ${NO_PERL:-} ]]; then
    perl_script=${FLAMEGRAPH_PL:-build/FlameGraph/flamegraph.pl}
    if [[ ! -f $perl_script && -z ${FLAMEGRAPH_PL:-} ]]; then
      echo "fetching flamegraph.pl at $FLAMEGRAPH_COMMIT into build/FlameGraph" >&2
      rm -rf build/FlameGraph
      if ! timeout 120 git clone -q https://github.com/brendangregg/FlameGraph build/FlameGraph ||
         ! git -C build/FlameGraph checkout -q "$FLAMEGRAPH_COMMIT"; then
        echo "could not fetch flamegraph.pl: cpprof alone, compare with shared/reference/anchors.md" >&2
        rm -rf build/FlameGraph
      fi
    fi
    if [[ ! -f $perl_script ]]; then perl_script=""; fi
  fi
  echo "flamegraph.pl: ${perl_script:-none}" > "$OUT/perl.txt"

  for name in $INPUTS; do
    args=""
    for i in "${inputs_all[@]}"; do
      IFS='|' read -r n a w <<<"$i"
      if [[ $n == "$name" ]]; then args=$a; fi
    done
    if [[ -z $args ]]; then echo "unknown input '$name'" >&2; exit 2; fi
    if [[ ! -s $OUT/$name.folded || ! -s $OUT/$name.gen.txt || $(head -1 "$OUT/$name.args" 2>/dev/null) != "$args" ]]; then
      # shellcheck disable=SC2086
      python3 bench/gen_folded.py $args -o "$OUT/$name.folded" 2> "$OUT/$name.gen.txt"
      echo "$args" > "$OUT/$name.args"
    fi
    cat "$OUT/$name.gen.txt" >&2
  done

  : > "$raw"
  for ((round = 1; round <= ROUNDS; round++)); do
    for name in $INPUTS; do
      in="$OUT/$name.folded"
      tools=(cpprof)
      if [[ -n $perl_script ]]; then
        if ((round % 2)); then tools=(perl cpprof); else tools=(cpprof perl); fi
      fi
      for tool in "${tools[@]}"; do
        if [[ $tool == perl ]]; then
          svg="$OUT/$name.perl.svg"
          "${pin[@]}" /usr/bin/time -f "wall_s=%e cpu_s=%U+%S rss_kib=%M" -o "$OUT/time.txt" \
            perl "$perl_script" "$in" > "$svg" 2> "$OUT/perl.err" || { cat "$OUT/perl.err" >&2; exit 1; }
          boxes=$(grep -c '^<title>' "$svg" || true)
          echo "round=$round input=$name tool=perl run=1 $(cat "$OUT/time.txt") svg_bytes=$(stat -c %s "$svg") boxes=$boxes" >> "$raw"
        else
          for ((run = 1; run <= CPPROF_RUNS; run++)); do
            svg="$OUT/$name.cpprof.svg"
            line=$("${pin[@]}" /usr/bin/time -f "wall_s=%e cpu_s=%U+%S rss_kib=%M" -o "$OUT/time.txt" \
              "$OUT/render" "$in" "$svg")
            echo "round=$round input=$name tool=cpprof run=$run $(cat "$OUT/time.txt" | sed 's/rss_kib=/proc_rss_kib=/') $line" >> "$raw"
          done
        fi
      done
      echo "round $round/$ROUNDS: $name done (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    done
  done
fi

echo
echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) vCPU, kernel $(uname -r), $("$CXX" --version | head -1), $(perl -e 'printf "perl %vd", $^V')"
echo "$(cat "$OUT/perl.txt" 2>/dev/null || echo 'flamegraph.pl: ?') (commit $FLAMEGRAPH_COMMIT when fetched by this script)"
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); pinned to CPU ${CPU:-none}"
echo
descriptions=""
for name in $(awk '{ print $2 }' "$raw" | sed 's/input=//' | awk '!seen[$0]++'); do
  descriptions+="$name|$(describe "$name")|$(cat "$OUT/$name.gen.txt" 2>/dev/null | sed -E 's/.*: ([0-9]+ lines, [0-9]+ samples, [0-9]+ bytes).*(, [0-9]+ distinct prefixes).*/\1\2/')"$'\n'
done
DESCRIPTIONS="$descriptions" python3 - "$raw" <<'PY'
import os, statistics, sys
from collections import defaultdict

rows = []
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split())
    rows.append(kv)
desc = {}
for d in os.environ.get("DESCRIPTIONS", "").splitlines():
    if d:
        n, what, stats = d.split("|")
        desc[n] = (what, stats)

def med(xs):
    return statistics.median(xs) if xs else float("nan")

def iqr(xs):
    if len(xs) < 4:
        return "%.3g..%.3g" % (min(xs), max(xs))
    q = statistics.quantiles(xs, n=4)
    return "%.3g..%.3g" % (q[0], q[2])

inputs = list(dict.fromkeys(r["input"] for r in rows))
print("| input | tool | runs | wall s (median) | range / IQR | CPU s | peak RSS MiB | SVG bytes | boxes | cpprof read_folded ms | cpprof write_flamegraph ms | flamegraph.pl / cpprof, wall (per-round median, IQR) | ... CPU | ... peak RSS |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for name in inputs:
    mine = [r for r in rows if r["input"] == name]
    cp = [r for r in mine if r["tool"] == "cpprof"]
    pl = [r for r in mine if r["tool"] == "perl"]
    # per-round: cpprof's median of its runs
    cp_round = defaultdict(list)
    for r in cp:
        cp_round[r["round"]].append(float(r["total_ms"]) / 1e3)
    pl_round = {r["round"]: float(r["wall_s"]) for r in pl}
    ratios = [pl_round[k] / med(v) for k, v in cp_round.items() if k in pl_round]
    def cpu(r):
        return sum(float(x) for x in r["cpu_s"].split("+")) if "cpu_s" in r else float("nan")
    cp_cpu_round = defaultdict(list)
    for r in cp:
        cp_cpu_round[r["round"]].append(cpu(r))
    pl_cpu_round = {r["round"]: cpu(r) for r in pl}
    cpu_ratios = [pl_cpu_round[k] / med(v) for k, v in cp_cpu_round.items() if k in pl_cpu_round]
    cp_rss = med([float(r["proc_rss_kib"]) for r in cp]) / 1024
    pl_rss = med([float(r["rss_kib"]) for r in pl]) / 1024 if pl else None
    walls = [float(r["total_ms"]) / 1e3 for r in cp]
    proc_walls = [float(r["wall_s"]) for r in cp]
    print("| %s | cpprof | %d | %.3f (process %.2f) | %s | %.2f | %.0f (after read_folded %.0f) | %s | %s | %.0f | %.0f | %s | %s | %s |" % (
        name, len(cp), med(walls), med(proc_walls), iqr(walls), med([cpu(r) for r in cp]), cp_rss,
        med([float(r["rss_read_kib"]) for r in cp]) / 1024,
        cp[0]["svg_bytes"], cp[0]["boxes"],
        med([float(r["read_ms"]) for r in cp]), med([float(r["render_ms"]) for r in cp]),
        ("**%.1f×** (%s)" % (med(ratios), iqr(ratios))) if ratios else "-",
        ("%.1f×" % med(cpu_ratios)) if cpu_ratios else "-",
        ("**%.1f×**" % (pl_rss / cp_rss)) if pl else "-"))
    if pl:
        pw = [float(r["wall_s"]) for r in pl]
        print("| %s | flamegraph.pl | %d | %.2f | %s | %.2f | %.0f | %s | %s | - | - | | | |" % (
            name, len(pl), med(pw), iqr(pw), med([cpu(r) for r in pl]), pl_rss, pl[0]["svg_bytes"], pl[0]["boxes"]))
print()
for name in inputs:
    if name in desc:
        print("- `%s`: %s; %s" % (name, desc[name][0], desc[name][1]))
PY
