#!/usr/bin/env python3
"""Self-test of tools/amalgamate.py on small synthetic header trees (stdlib unittest).

Run: python3 tests/tools/test_amalgamate.py   (ctest/meson test: amalgamate_selftest)
"""

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "amalgamate.py")


class AmalgamateTest(unittest.TestCase):
    def tree(self, files):
        root = tempfile.mkdtemp(prefix="cpprof-amalgamate-")
        self.addCleanup(shutil.rmtree, root, True)
        with open(os.path.join(root, "VERSION"), "w") as f:
            f.write("1.2.3\n")
        for rel, text in files.items():
            path = os.path.join(root, "include", "cpprof", rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(textwrap.dedent(text).lstrip("\n"))
        return root

    def run_tool(self, root, *args):
        return subprocess.run([sys.executable, SCRIPT, "--root", root] + list(args),
                              capture_output=True, text=True)

    def test_inlines_once_in_dependency_order_and_strips_pragmas(self):
        root = self.tree({
            "cpprof.hpp": """
                #pragma once
                // IWYU pragma: begin_exports
                #include <cpprof/a.hpp>  // IWYU pragma: export
                #include <cpprof/b.hpp>
                #include <vector>
            """,
            "a.hpp": """
                #pragma once
                #include <vector>
                #include "b.hpp"
                int a();
            """,
            "b.hpp": """
                #pragma once
                // IWYU pragma: private, include <cpprof/cpprof.hpp>
                int b();
            """,
        })
        r = self.run_tool(root, "--stdout")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        self.assertNotIn("#pragma once", out)
        self.assertNotIn("IWYU", out)
        self.assertEqual(out.count("int b();"), 1)
        self.assertLess(out.index("int b();"), out.index("int a();"))
        self.assertEqual(out.count("#include <vector>"), 1)
        self.assertIn("#ifndef CPPROF_SINGLE_INCLUDE_CPPROF_HPP", out)
        self.assertTrue(out.rstrip().endswith("#endif  // CPPROF_SINGLE_INCLUDE_CPPROF_HPP"))
        self.assertIn("cpprof 1.2.3", out)
        self.assertEqual(out, self.run_tool(root, "--stdout").stdout, "output must be deterministic")

    def test_system_include_first_seen_under_if_is_kept_again(self):
        root = self.tree({"cpprof.hpp": """
            #pragma once
            #if defined(__linux__)
            #include <unistd.h>
            #endif
            #include <unistd.h>
        """})
        out = self.run_tool(root, "--stdout").stdout
        self.assertEqual(out.count("#include <unistd.h>"), 2)

    def test_conditional_then_unconditional_project_include_is_an_error(self):
        root = self.tree({
            "cpprof.hpp": """
                #pragma once
                #if CPPROF_PLATFORM_SUPPORTED
                #include <cpprof/detail/linux.hpp>
                #endif
                #include <cpprof/detail/linux.hpp>
            """,
            "detail/linux.hpp": "#pragma once\nint l();\n",
        })
        r = self.run_tool(root, "--stdout")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("first included inside an #if", r.stderr)

    def test_integration_headers_stay_out(self):
        root = self.tree({
            "cpprof.hpp": "#pragma once\n#include <cpprof/integration/doctest.hpp>\n",
            "integration/doctest.hpp": "#pragma once\n",
        })
        r = self.run_tool(root, "--stdout")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("integration headers stay out", r.stderr)

    def test_integration_headers_are_copied_next_to_the_single_header(self):
        root = self.tree({
            "cpprof.hpp": "#pragma once\nint x();\n",
            "integration/bench.hpp": "#pragma once\n#include <cpprof/cpprof.hpp>\n#include <cpprof/integration/t.hpp>\n",
            "integration/t.hpp": "#pragma once\n#include <cpprof/cpprof.hpp>\n",
        })
        self.assertEqual(self.run_tool(root).returncode, 0)
        copy = os.path.join(root, "single_include", "cpprof", "integration", "bench.hpp")
        with open(copy) as f:
            self.assertIn("#include <cpprof/integration/t.hpp>", f.read())
        self.assertEqual(self.run_tool(root, "--check").returncode, 0)
        with open(copy, "a") as f:
            f.write("// edited\n")
        r = self.run_tool(root, "--check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("single_include/cpprof/integration/bench.hpp", r.stderr)
        self.assertEqual(self.run_tool(root).returncode, 0)
        os.remove(os.path.join(root, "include", "cpprof", "integration", "t.hpp"))
        with open(os.path.join(root, "include", "cpprof", "integration", "bench.hpp"), "w") as f:
            f.write("#pragma once\n")
        self.assertEqual(self.run_tool(root, "--check").returncode, 1)  # stale t.hpp copy
        self.assertEqual(self.run_tool(root).returncode, 0)
        self.assertFalse(os.path.exists(os.path.join(root, "single_include", "cpprof", "integration", "t.hpp")))

    def test_integration_header_including_a_core_header_is_an_error(self):
        root = self.tree({
            "cpprof.hpp": "#pragma once\n#include <cpprof/a.hpp>\n",
            "a.hpp": "#pragma once\n",
            "integration/x.hpp": "#pragma once\n#include <cpprof/a.hpp>\n",
        })
        r = self.run_tool(root)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("may include only", r.stderr)

    def test_missing_project_header_is_an_error(self):
        root = self.tree({"cpprof.hpp": "#pragma once\n#include <cpprof/nope.hpp>\n"})
        r = self.run_tool(root, "--stdout")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cpprof/nope.hpp", r.stderr)

    def test_check_reports_stale_output_and_names_the_script(self):
        root = self.tree({"cpprof.hpp": "#pragma once\nint x();\n"})
        self.assertNotEqual(self.run_tool(root, "--check").returncode, 0)  # nothing written yet
        self.assertEqual(self.run_tool(root).returncode, 0)
        self.assertEqual(self.run_tool(root, "--check").returncode, 0)
        with open(os.path.join(root, "include", "cpprof", "cpprof.hpp"), "a") as f:
            f.write("int y();\n")
        r = self.run_tool(root, "--check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("tools/amalgamate.py", r.stderr)
        self.assertIn("out of date", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
