#!/usr/bin/env python3
"""Deterministic folded-stacks generator for the flame graph benchmarks (python3, stdlib only).

Writes "frame;frame;...;frame COUNT" lines, root first, the input of flamegraph.pl, inferno and
cpprof::read_folded. Same arguments, same bytes, on every machine and Python 3 version: the only
randomness is random.Random(seed).random(), whose sequence Python guarantees across versions.

    python3 bench/gen_folded.py -o build/bench_flamegraph/tree.folded             # defaults
    python3 bench/gen_folded.py --shape uniform --samples 100000000 -o anchor.folded

What it generates (every number is an option):

  names     --names 2000 distinct C++-style function names, e.g.
            "db::Cache::lookup_0421(std::string const&)" or
            "util::Table<std::string>::visit_1337()", 21-63 characters, 36.9 on average (seed 1),
            so a line of 25 frames is ~930 bytes: the anchors' ~950 (191 MB for 200 000 stacks).
            About a fifth contain "<...>" (a template class, or a std::vector<int>& argument),
            which both renderers must escape.
  depth     every stack's depth is uniform in [--min-depth 10, --max-depth 40].
  stacks    --stacks 200000 distinct stacks (no two lines have the same frames).
  shape     --shape tree (default): a call graph, as real programs have. Every name has a fixed
            list of 2-8 callees; a stack starts at one of 4 entry points and walks down the
            graph, taking callee k of the list with probability ~2^-(k+1) (the first callee half
            the time). Stacks therefore share prefixes: 200 000 stacks (5.0 M frames) merge
            into a tree of 3.1 M distinct prefixes, and the top of the flame graph is a few
            wide boxes, as in a profile of a real program; a walk that repeats a stack already
            drawn is drawn again.
            --shape uniform: the anchors' literal description and nothing more: every frame of
            every stack is one of the names drawn uniformly and independently. Stacks share
            almost nothing past the first frame (2 000 roots; 4.8 M distinct prefixes): the
            worst case for merging. What is wide enough to draw is then the heaviest stacks
            of the heavy-tailed counts below, whole.
  samples   --samples 1000000 in all (at least one per stack), split between stacks with a
            heavy tail: stack i gets weight (1-u)^(-1/1.2) (a Pareto draw), counts are
            1 + its share of the rest, rounded down, and what rounding leaves goes one each to
            the heaviest stacks, so the total is exact. The anchors' file has 100 000 000
            (--samples 100000000); the counts change only the digits at the line ends.
  order     --order sorted (default): lines sorted by their bytes, like stackcollapse-perf.pl's
            output; --order generated: in the order they were drawn (random).

It prints to stderr what it wrote: lines, samples, bytes, mean depth, distinct prefixes (the
merged tree's size, root excluded) and the SHA-256 of the output.
"""

import argparse
import hashlib
import math
import random
import sys

NAMESPACES = ["app", "net", "db", "util", "std", "os", "proto", "json", "rpc", "io"]
CLASSES = ["Server", "Connection", "Parser", "Buffer", "Cache", "Session", "Codec", "Pool",
           "Router", "Table", "Scheduler", "Handler"]
VERBS = ["handle", "parse", "read", "write", "lookup", "insert", "encode", "decode", "flush",
         "update", "compute", "visit", "dispatch", "serialize"]
ARGS = ["()", "()", "(int)", "(std::string const&)", "(char const*, int)",
        "(Request&, Response&)", "(void*)", "(std::vector<int>&)"]
TEMPLATES = ["<int>", "<std::string>", "<char>"]
ENTRY_POINTS = 4


def make_names(rng, count):
    names = []
    for i in range(count):
        ns = NAMESPACES[int(rng.random() * len(NAMESPACES))]
        cls = CLASSES[int(rng.random() * len(CLASSES))]
        if rng.random() < 0.1:
            cls += TEMPLATES[int(rng.random() * len(TEMPLATES))]
        verb = VERBS[int(rng.random() * len(VERBS))]
        args = ARGS[int(rng.random() * len(ARGS))]
        names.append("%s::%s::%s_%04d%s" % (ns, cls, verb, i, args))
    return names


def geometric_index(rng, n):
    """k in [0, n) with probability ~2^-(k+1) (the remainder goes to the last)."""
    u = rng.random()
    k = int(-math.log2(1.0 - u)) if u > 0 else 0
    return k if k < n else n - 1


def tree_stacks(rng, args, num_names):
    callees = []
    for _ in range(num_names):
        k = 2 + int(rng.random() * 7)
        callees.append([int(rng.random() * num_names) for _ in range(k)])
    entries = [int(rng.random() * num_names) for _ in range(ENTRY_POINTS)]
    seen = set()
    stacks = []
    span = args.max_depth - args.min_depth + 1
    while len(stacks) < args.stacks:
        depth = args.min_depth + int(rng.random() * span)
        fn = entries[geometric_index(rng, ENTRY_POINTS)]
        stack = [fn]
        for _ in range(depth - 1):
            options = callees[fn]
            fn = options[geometric_index(rng, len(options))]
            stack.append(fn)
        key = tuple(stack)
        if key in seen:
            continue
        seen.add(key)
        stacks.append(key)
    return stacks


def uniform_stacks(rng, args, num_names):
    seen = set()
    stacks = []
    span = args.max_depth - args.min_depth + 1
    while len(stacks) < args.stacks:
        depth = args.min_depth + int(rng.random() * span)
        key = tuple(int(rng.random() * num_names) for _ in range(depth))
        if key in seen:
            continue
        seen.add(key)
        stacks.append(key)
    return stacks


def split_samples(rng, n, total):
    weights = [(1.0 - rng.random()) ** (-1.0 / 1.2) for _ in range(n)]
    rest = total - n
    scale = rest / sum(weights)
    counts = [1 + int(w * scale) for w in weights]
    left = total - sum(counts)
    # Rounding down leaves fewer than n; one each to the heaviest stacks.
    for i in sorted(range(n), key=lambda i: (-weights[i], i))[:left]:
        counts[i] += 1
    assert sum(counts) == total
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", required=True, help="file to write ('-' for stdout)")
    ap.add_argument("--stacks", type=int, default=200000, help="distinct stacks (default 200000)")
    ap.add_argument("--samples", type=int, default=1000000,
                    help="total samples, >= --stacks (default 1000000; the anchors: 100000000)")
    ap.add_argument("--names", type=int, default=2000, help="distinct function names (default 2000)")
    ap.add_argument("--min-depth", type=int, default=10)
    ap.add_argument("--max-depth", type=int, default=40)
    ap.add_argument("--shape", choices=["tree", "uniform"], default="tree")
    ap.add_argument("--order", choices=["sorted", "generated"], default="sorted")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.stacks < 1 or args.samples < args.stacks:
        ap.error("need --stacks >= 1 and --samples >= --stacks")
    if not 1 <= args.min_depth <= args.max_depth:
        ap.error("need 1 <= --min-depth <= --max-depth")
    if args.names < 2:
        ap.error("need --names >= 2")

    rng = random.Random(args.seed)
    names = make_names(rng, args.names)
    if args.shape == "tree":
        stacks = tree_stacks(rng, args, args.names)
    else:
        stacks = uniform_stacks(rng, args, args.names)
    counts = split_samples(rng, len(stacks), args.samples)

    lines = [";".join(names[f] for f in s) + " %d\n" % c for s, c in zip(stacks, counts)]
    if args.order == "sorted":
        lines.sort()
    data = "".join(lines).encode("utf-8")
    if args.output == "-":
        sys.stdout.buffer.write(data)
    else:
        with open(args.output, "wb") as f:
            f.write(data)

    prefixes = set()
    for s in stacks:
        for d in range(1, len(s) + 1):
            prefixes.add(s[:d])
    depth_sum = sum(len(s) for s in stacks)
    used = len({f for s in stacks for f in s})
    print("gen_folded: %s: %d lines, %d samples, %d bytes, shape %s, seed %d, mean depth %.1f, "
          "%d of %d names used, mean name %.1f chars, %d distinct prefixes, sha256 %s"
          % (args.output, len(lines), sum(counts), len(data), args.shape, args.seed,
             depth_sum / len(stacks), used, len(names), sum(map(len, names)) / len(names),
             len(prefixes), hashlib.sha256(data).hexdigest()), file=sys.stderr)


if __name__ == "__main__":
    main()
