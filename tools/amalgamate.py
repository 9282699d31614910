#!/usr/bin/env python3
"""Generate single_include/cpprof/cpprof.hpp from include/cpprof/cpprof.hpp.

The single header is a pure concatenation (no formatter, no timestamp), so the same sources
always give the same bytes and CI can compare it with what is committed:

  * starting at include/cpprof/cpprof.hpp, every project header it includes (`#include
    <cpprof/...>` or `#include "..."` that resolves to a file under include/cpprof/) is inlined
    where it is first included, once, recursively: dependencies come before their users;
  * `#pragma once` and `// IWYU pragma: ...` comments are removed;
  * standard and system includes are kept; a repeat of one already seen outside any `#if` is
    dropped;
  * headers under include/cpprof/integration/ stay out: the umbrella must not include them;
    they are copied verbatim to single_include/cpprof/integration/ instead (they may include
    only <cpprof/cpprof.hpp>, other integration headers and non-cpprof headers), so
    single_include/ alone serves both `#include <cpprof/cpprof.hpp>` and
    `#include <cpprof/integration/benchmark.hpp>`; --check compares those copies too;
  * the whole file gets one include guard, CPPROF_SINGLE_INCLUDE_CPPROF_HPP, and a banner.

A header inlined first inside an `#if` (e.g. a platform header) and later included outside
any `#if` would silently lose its unconditional copy; that is reported as an error.

Usage:
  python3 tools/amalgamate.py                 write single_include/cpprof/cpprof.hpp
  python3 tools/amalgamate.py --check         exit 1 if the committed file is out of date
  python3 tools/amalgamate.py --stdout        print the result instead of writing it
  python3 tools/amalgamate.py --line-directives   add #line markers (for debugging only;
                                                  never commit such a file)
"""

import argparse
import difflib
import os
import re
import sys

SCRIPT = "tools/amalgamate.py"
GUARD = "CPPROF_SINGLE_INCLUDE_CPPROF_HPP"

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"](.*)$')
PRAGMA_ONCE_RE = re.compile(r"^\s*#\s*pragma\s+once\b")
IWYU_LINE_RE = re.compile(r"^\s*//\s*IWYU\s+pragma:.*$")
IWYU_TRAILING_RE = re.compile(r"\s*//\s*IWYU\s+pragma:.*$")
COND_OPEN_RE = re.compile(r"^\s*#\s*if(n?def)?\b")
COND_CLOSE_RE = re.compile(r"^\s*#\s*endif\b")


class AmalgamationError(Exception):
    pass


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Amalgamator:
    def __init__(self, root, line_directives=False):
        self.root = root = os.path.abspath(root)
        self.include_dir = os.path.join(root, "include")
        self.project_dir = os.path.join(self.include_dir, "cpprof")
        self.integration_dir = os.path.join(self.project_dir, "integration")
        self.line_directives = line_directives
        self.out = []
        # project header (relative to include/) -> was it first inlined under an #if?
        self.inlined = {}
        self.first_seen_at = {}
        self.system_unconditional = set()
        self.stack = []

    def rel(self, path):
        return os.path.relpath(path, self.include_dir).replace(os.sep, "/")

    def resolve(self, kind, name, including_file):
        """Return the absolute path of a project header, or None for a system header."""
        candidates = []
        if kind == '"':
            candidates.append(os.path.join(os.path.dirname(including_file), name))
        candidates.append(os.path.join(self.include_dir, name))
        for candidate in candidates:
            candidate = os.path.normpath(candidate)
            inside = candidate.startswith(self.project_dir + os.sep)
            if inside and os.path.isfile(candidate):
                return candidate
        if name.startswith("cpprof/"):
            raise AmalgamationError(
                "%s includes <%s>, which does not exist under include/"
                % (self.rel(including_file), name))
        return None

    def emit_line_directive(self, lineno, path):
        if self.line_directives:
            self.out.append('#line %d "include/%s"' % (lineno, self.rel(path)))

    def process(self, path, outer_depth, where):
        rel = self.rel(path)
        if path in self.stack:
            cycle = " -> ".join(self.rel(p) for p in self.stack + [path])
            raise AmalgamationError("include cycle: " + cycle)
        if path.startswith(self.integration_dir + os.sep):
            raise AmalgamationError(
                "%s includes %s: integration headers stay out of the single header "
                "(users include them next to it)" % (where, rel))
        self.stack.append(path)
        self.inlined[path] = outer_depth > 0
        self.first_seen_at[path] = where
        self.out.append("// ----- begin %s -----" % rel)
        with open(path, "r", encoding="utf-8") as f:
            lines = f.read().splitlines()
        resync = True  # the next emitted line needs a #line marker (--line-directives)
        depth = 0  # preprocessor conditional depth inside this file
        for lineno, line in enumerate(lines, 1):
            if PRAGMA_ONCE_RE.match(line) or IWYU_LINE_RE.match(line):
                resync = True
                continue
            line = IWYU_TRAILING_RE.sub("", line)
            if COND_OPEN_RE.match(line):
                depth += 1
            elif COND_CLOSE_RE.match(line):
                depth -= 1
            m = INCLUDE_RE.match(line)
            if m:
                kind, name = m.group(1), m.group(2).strip()
                here = "%s:%d" % (rel, lineno)
                target = self.resolve(kind, name, path)
                total_depth = outer_depth + depth
                if target is not None:
                    if target in self.inlined:
                        if self.inlined[target] and total_depth == 0:
                            raise AmalgamationError(
                                "%s includes %s unconditionally, but it was first included "
                                "inside an #if at %s, so the single header would only have "
                                "the conditional copy; include it unconditionally first"
                                % (here, self.rel(target), self.first_seen_at[target]))
                        resync = True
                        continue
                    self.process(target, total_depth, here)
                    resync = True
                    continue
                key = (kind, name)
                if key in self.system_unconditional:
                    resync = True
                    continue
                if total_depth == 0:
                    self.system_unconditional.add(key)
            if resync:
                self.emit_line_directive(lineno, path)
                resync = False
            self.out.append(line.rstrip())
        if depth != 0:
            raise AmalgamationError("%s: unbalanced #if/#endif" % rel)
        self.out.append("// ----- end %s -----" % rel)
        self.stack.pop()

    def run(self):
        umbrella = os.path.join(self.project_dir, "cpprof.hpp")
        if not os.path.isfile(umbrella):
            raise AmalgamationError("include/cpprof/cpprof.hpp not found")
        with open(os.path.join(self.root, "VERSION"), "r", encoding="utf-8") as f:
            version = f.read().strip()
        banner = [
            "// cpprof %s - header-only C++17 profiling library for Linux." % version,
            "//",
            "// SINGLE-HEADER AMALGAMATION, GENERATED by %s from include/cpprof/." % SCRIPT,
            "// Do not edit: change the headers under include/cpprof/ and run",
            "//     python3 %s" % SCRIPT,
            "// Integration headers (include/cpprof/integration/) are not part of this file; copies",
            "// of them sit next to it in single_include/cpprof/integration/.",
            "",
            "#ifndef " + GUARD,
            "#define " + GUARD,
            "",
        ]
        self.out = list(banner)
        self.process(umbrella, 0, "(root)")
        self.out += ["", "#endif  // " + GUARD]
        # collapse runs of blank lines left behind by removed pragmas
        text, blank = [], 0
        for line in self.out:
            blank = blank + 1 if line == "" else 0
            if blank <= 1 or self.line_directives:
                text.append(line)
        return "\n".join(text) + "\n"


def integration_copies(root):
    """{relative path under single_include/: text} for every include/cpprof/integration/*.hpp."""
    src = os.path.join(root, "include", "cpprof", "integration")
    out = {}
    if not os.path.isdir(src):
        return out
    for name in sorted(os.listdir(src)):
        if not name.endswith(".hpp"):
            continue
        with open(os.path.join(src, name), "r", encoding="utf-8") as f:
            text = f.read()
        for lineno, line in enumerate(text.splitlines(), 1):
            m = INCLUDE_RE.match(line)
            if not m or not m.group(2).strip().startswith("cpprof/"):
                continue
            inc = m.group(2).strip()
            if inc != "cpprof/cpprof.hpp" and not inc.startswith("cpprof/integration/"):
                raise AmalgamationError(
                    "integration/%s:%d includes <%s>: integration headers may include only "
                    "<cpprof/cpprof.hpp> and other integration headers, so that their copy next "
                    "to the single header works" % (name, lineno, inc))
        out["cpprof/integration/" + name] = text
    return out


def stale_copies(root, copies):
    """Copies under single_include/cpprof/integration/ whose source is gone."""
    d = os.path.join(root, "single_include", "cpprof", "integration")
    if not os.path.isdir(d):
        return []
    return sorted("cpprof/integration/" + n for n in os.listdir(d)
                  if "cpprof/integration/" + n not in copies)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if single_include/ differs from what would be written")
    parser.add_argument("--stdout", action="store_true", help="print instead of writing")
    parser.add_argument("--line-directives", action="store_true",
                        help="emit #line markers pointing at include/ (debugging only)")
    parser.add_argument("--root", default=repo_root(), help="repository root (default: this checkout)")
    parser.add_argument("--output", help="output path (default: single_include/cpprof/cpprof.hpp)")
    args = parser.parse_args(argv)

    output = args.output or os.path.join(args.root, "single_include", "cpprof", "cpprof.hpp")
    try:
        text = Amalgamator(args.root, args.line_directives).run()
        copies = {} if args.output or args.stdout else integration_copies(args.root)
    except (AmalgamationError, OSError) as e:
        print("%s: error: %s" % (SCRIPT, e), file=sys.stderr)
        return 2

    if args.stdout:
        sys.stdout.write(text)
        return 0

    if args.check:
        try:
            with open(output, "r", encoding="utf-8", newline="") as f:
                current = f.read()
        except OSError:
            current = None
        bad_copies = []
        for rel, body in copies.items():
            try:
                with open(os.path.join(args.root, "single_include", rel), "r", encoding="utf-8",
                          newline="") as f:
                    if f.read() != body:
                        bad_copies.append(rel)
            except OSError:
                bad_copies.append(rel)
        bad_copies += stale_copies(args.root, copies)
        if current == text and not bad_copies:
            print("%s: %s is up to date" % (SCRIPT, os.path.relpath(output, args.root)))
            return 0
        if current == text:
            print("%s: error: single_include/%s out of date with include/ (or no longer in "
                  "include/). Regenerate with `python3 %s` and commit the result."
                  % (SCRIPT, ", single_include/".join(bad_copies), SCRIPT), file=sys.stderr)
            return 1
        print("%s: error: %s is out of date with include/cpprof/.\n"
              "Regenerate it with `python3 %s` and commit the result."
              % (SCRIPT, os.path.relpath(output, args.root), SCRIPT), file=sys.stderr)
        if current is None:
            print("(the file does not exist)", file=sys.stderr)
        else:
            diff = list(difflib.unified_diff(current.splitlines(), text.splitlines(),
                                             "committed", "expected", lineterm="", n=1))
            for line in diff[:40]:
                print(line, file=sys.stderr)
            if len(diff) > 40:
                print("... (%d more diff lines)" % (len(diff) - 40), file=sys.stderr)
        return 1

    os.makedirs(os.path.dirname(output), exist_ok=True)
    try:
        with open(output, "r", encoding="utf-8", newline="") as f:
            unchanged = f.read() == text
    except OSError:
        unchanged = False
    if not unchanged:  # leave the timestamp alone when nothing changed (no needless rebuilds)
        with open(output, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    print("%s: wrote %s" % (SCRIPT, os.path.relpath(output, args.root))
          if not unchanged else "%s: %s unchanged" % (SCRIPT, os.path.relpath(output, args.root)))
    for rel, body in copies.items():
        path = os.path.join(args.root, "single_include", rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            with open(path, "r", encoding="utf-8", newline="") as f:
                if f.read() == body:
                    continue
        except OSError:
            pass
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(body)
        print("%s: wrote single_include/%s" % (SCRIPT, rel))
    for rel in stale_copies(args.root, copies):
        os.remove(os.path.join(args.root, "single_include", rel))
        print("%s: removed single_include/%s" % (SCRIPT, rel))
    return 0


if __name__ == "__main__":
    sys.exit(main())
