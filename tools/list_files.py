#!/usr/bin/env python3
"""Print, one per line and sorted, the files under DIR that match a glob pattern.

Meson has no glob, and several engineers add tests/test_*.cpp, bench/bench_*.cpp and headers
concurrently, so meson.build asks this script instead of keeping fixed lists:

  run_command(python3, 'tools/list_files.py', 'tests', 'test_*.cpp', check: true)

DIR is relative to the repository root (this script's parent folder), whatever the current
directory is (Meson does not specify the one run_command uses). Paths are printed relative to
the repository root, or to --relative-to. A pattern with '**' searches recursively. A missing
DIR prints nothing. Meson does not re-run this when a file is added: run
`meson setup --reconfigure BUILDDIR` after adding one.
"""

import argparse
import fnmatch
import os
import pathlib
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("pattern")
    parser.add_argument("--exclude", action="append", default=[],
                        help="glob (relative to DIR) of paths to leave out; repeatable")
    parser.add_argument("--relative-to", default="",
                        help="print paths relative to this folder (relative to the root)")
    args = parser.parse_args(argv)

    root = pathlib.Path(__file__).resolve().parent.parent
    base = root / args.dir
    if not base.is_dir():
        return 0
    rel_base = root / args.relative_to
    found = []
    for path in base.glob(args.pattern):
        if not path.is_file():
            continue
        inner = path.relative_to(base).as_posix()
        if any(fnmatch.fnmatch(inner, ex) for ex in args.exclude):
            continue
        found.append(os.path.relpath(path, rel_base).replace(os.sep, "/"))
    for name in sorted(found):
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
